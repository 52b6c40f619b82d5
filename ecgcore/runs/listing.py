"""The runs of a runs folder, read from their small files only (cheap on every rerun of a
page): a run with a missing or corrupt file is listed with its ``problem``, never raised."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from ecgcore.files import (
    CONFIG,
    METRICS,
    METRICS_CSV,
    PREPROCESSING,
    RUN_CONFIG,
    SPLIT,
    STATUS,
    WEIGHTS,
)
from ecgcore.runs.weights_check import weights_problem

#: Columns of :func:`list_runs`.
RUN_COLUMNS = ("name", "model", "latent_dim", "status", "epochs", "best_val", "path", "problem",
               "modified")


def read_json_object(path: Path) -> tuple[dict | None, str]:
    """(content, problem) of a small JSON file."""
    if not path.exists():
        return None, f"missing {path.name}"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    return data, ""


def run_problem(run: str | Path) -> str:
    """Why a run folder cannot be loaded ('' when its checkpoint files look whole)."""
    run = Path(run)
    problems = []
    for name in (CONFIG, PREPROCESSING):
        data, problem = read_json_object(run / name)
        if problem:
            problems.append(problem)
        elif name == CONFIG and not isinstance(data.get("model"), dict):
            problems.append(f"{CONFIG} has no 'model' section")
    problem = weights_problem(run / WEIGHTS)
    if problem:
        problems.append(problem)
    for name in (SPLIT, STATUS):  # optional (older runs lack them), but whole when present
        if (run / name).exists():
            problem = read_json_object(run / name)[1]
            if problem:
                problems.append(problem)
    if (run / METRICS_CSV).exists():
        problem = metrics_csv_problem(run / METRICS_CSV)
        if problem:
            problems.append(problem)
    return "; ".join(problems)


def metrics_csv_problem(path: Path) -> str:
    """'' when ``metrics.csv`` (one row per epoch) reads as a table with whole-number epochs;
    else what is wrong with it (a torn write leaves NUL bytes or a cut-off row)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path.name} cannot be read ({exc})"
    if "\x00" in text:
        return f"{path.name} is corrupt (NUL bytes: a write was cut off)"
    rows = list(csv.reader(text.splitlines()))
    if not rows or "epoch" not in rows[0]:
        return f"{path.name} has no header with an 'epoch' column"
    col = rows[0].index("epoch")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]) or not row[col].strip().isdigit():
            return f"{path.name} is corrupt (line {number} is not a whole row)"
    return ""


def run_stamp(run: str | Path) -> tuple[int, int]:
    """(size, mtime in ns) of a run's weights, (0, 0) when absent: changes on retraining."""
    try:
        st = (Path(run) / WEIGHTS).stat()
    except OSError:
        return (0, 0)
    return (int(st.st_size), int(st.st_mtime_ns))


_RUN_FILES = (RUN_CONFIG, CONFIG, PREPROCESSING, METRICS, STATUS, WEIGHTS)


def _is_run_folder(path: Path) -> bool:
    if not path.is_dir() or path.name.startswith(".") or path.name.endswith((".tmp", ".old")):
        return False
    return any((path / f).exists() for f in _RUN_FILES)


def _best_val(metrics: dict | None) -> float:
    value = (metrics or {}).get("best_val_total")
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def list_runs(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run folder in ``runs_dir``, newest first (columns :data:`RUN_COLUMNS`).

    ``status`` is ``finished`` / ``running`` / … from ``metrics.json`` or ``status.json``;
    ``best_val`` the best validation total loss (NaN where the run has none, e.g. PCA);
    ``problem`` says what is missing or corrupt ('' for a loadable run). A missing or
    empty folder gives an empty table; nothing here raises for a bad run.
    """
    root = Path(runs_dir)
    rows = []
    try:
        folders = sorted(p for p in root.iterdir() if _is_run_folder(p)) if root.is_dir() else []
    except OSError:
        folders = []
    for run in folders:
        config, _ = read_json_object(run / CONFIG)
        metrics, _ = read_json_object(run / METRICS)
        status_file, _ = read_json_object(run / STATUS)
        model = (config or {}).get("model") if isinstance((config or {}).get("model"), dict) else {}
        status = (metrics or {}).get("status") or (status_file or {}).get("status") or "unknown"
        epochs = (metrics or {}).get("epochs")
        stamps = [f.stat().st_mtime for f in (run / n for n in _RUN_FILES) if f.exists()]
        modified = max(stamps, default=0.0)  # training files, not the view's cache
        rows.append({
            "name": run.name, "model": model.get("name") or (metrics or {}).get("model") or "?",
            "latent_dim": model.get("latent_dim"), "status": str(status),
            "epochs": int(epochs) if isinstance(epochs, (int, float)) else None,
            "best_val": _best_val(metrics), "path": str(run.resolve()),
            "problem": run_problem(run), "modified": float(modified),
        })
    table = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    table["latent_dim"] = table["latent_dim"].astype("Int64")
    table["epochs"] = table["epochs"].astype("Int64")
    return table.sort_values(["modified", "name"], ascending=[False, True], ignore_index=True)
