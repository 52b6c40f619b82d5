"""One table that puts every model side by side (seed 001 Table 1 style), as CSV or Markdown.

Each model's results are a dict. Flat keys are taken as they are; the outputs of this
package nest and are flattened:

    {"model": "task_vae", "latent_dim": 10,
     "reconstruction": reconstruction_metrics(...),        # mse, correlation, mae_per_wave
     "downstream": {"auroc": .., "auroc_low": .., "auroc_high": .., "f1_macro": ..},
                    # or a row of DownstreamResult.table (a dict or a pandas Series)
     "clustering": {"dbi": .., "silhouette": .., "chi": ..}}

``comparison_table`` returns numbers (NaN where missing); ``to_markdown`` formats them,
AUROC as "0.842 (0.822–0.861)", missing values as "–".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.signal.regions import REGIONS

COLUMNS: tuple[str, ...] = (
    "model", "latent_dim", "mse", "correlation", "auroc", "auroc_low", "auroc_high", "f1",
    "mae", *(f"mae_{w}" for w in REGIONS), "dbi", "silhouette", "chi",
)
_HEADERS = {
    "model": "Model", "latent_dim": "L", "mse": "MSE (µV²)", "correlation": "Correlation",
    "auroc": "AUROC (95% CI)", "f1": "F1", "mae": "MAE (µV)",
    **{f"mae_{w}": f"MAE {w} (µV)" for w in REGIONS},
    "dbi": "DBI ↓", "silhouette": "Silhouette ↑", "chi": "CHI ↑",
}


def _flatten(result: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in result.items():
        if key == "reconstruction" and isinstance(value, Mapping):
            for k in ("mse", "mae", "correlation"):
                if k in value:
                    row[k] = value[k]
            for w, v in (value.get("mae_per_wave") or {}).items():
                row[f"mae_{w}"] = v
        elif key in ("downstream", "clustering") and isinstance(value, (Mapping, pd.Series)):
            d = dict(value)
            if "f1_macro" in d and "f1" not in d:
                d["f1"] = d.pop("f1_macro")
            if key == "downstream" and "auroc_ci" in d:
                d["auroc_low"], d["auroc_high"] = d.pop("auroc_ci")
            for k in ("auroc", "auroc_low", "auroc_high", "f1", "dbi", "silhouette", "chi",
                      "r2", "r2_low", "r2_high"):
                if k in d:
                    row[k] = d[k]
        elif key == "auroc_ci":
            row["auroc_low"], row["auroc_high"] = value
        elif key == "f1_macro":
            row.setdefault("f1", value)
        elif not isinstance(value, (Mapping, np.ndarray)):
            row[key] = value
    return row


def comparison_table(results: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per result, the standard columns first (NaN where a model lacks a value),
    then any further flat keys in order of appearance."""
    rows = [_flatten(r) for r in results]
    extra = [k for r in rows for k in r if k not in COLUMNS]
    extra = list(dict.fromkeys(extra))
    df = pd.DataFrame(rows, columns=[*COLUMNS, *extra])
    num = [c for c in df.columns if c not in ("model",)]
    for c in num:
        conv = pd.to_numeric(df[c], errors="coerce")
        if conv.notna().sum() == df[c].notna().sum():
            df[c] = conv
    return df


def _fmt(v: Any, digits: int) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def format_table(df: pd.DataFrame, digits: int = 3, drop_empty: bool = True) -> pd.DataFrame:
    """Strings for display: AUROC with its CI in one cell, MSE/MAE/CHI with fewer digits,
    "–" for missing; columns that are empty for every model are dropped."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        if col in ("auroc_low", "auroc_high"):
            continue
        if drop_empty and df[col].isna().all():
            continue
        if col == "auroc":
            cells = []
            for _, r in df.iterrows():
                a = _fmt(r["auroc"], digits)
                lo, hi = r.get("auroc_low"), r.get("auroc_high")
                if a != "–" and lo is not None and np.isfinite(lo) and np.isfinite(hi):
                    a = f"{a} ({lo:.{digits}f}–{hi:.{digits}f})"
                cells.append(a)
            out[col] = cells
        elif col == "latent_dim":
            out[col] = [_fmt(int(v) if pd.notna(v) and float(v).is_integer() else v, 0)
                        for v in df[col]]
        elif col.startswith(("mse", "mae")) or col == "chi":
            out[col] = [_fmt(v, 1) for v in df[col]]
        else:
            out[col] = [_fmt(v, digits) for v in df[col]]
    return out.rename(columns=_HEADERS)


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table of :func:`comparison_table`'s output."""
    f = format_table(df, digits)
    head = "| " + " | ".join(map(str, f.columns)) + " |"
    align = "|" + "|".join(":---" if c == "Model" else "---:" for c in f.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join([head, align, *body]) + "\n"


def to_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the numeric table (full precision) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path
