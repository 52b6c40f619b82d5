"""LUDB k-fold over records for `ecgwb bench delineation`: every choice inside training folds.

The ``"spatial"`` method has four tuned numbers (:class:`ecgcore.signal.delineate.SpatialParams`).
For each of the k folds they are chosen again on the other folds' records only — each one
the grid value with the smallest mean absolute error of its own fiducial (QRS onset, QRS
offset, P onset, P offset; relative to R, median over the record's beats) against the
global reference of :mod:`ecgcore.io.ludb` — and the held-out fold is delineated with
them. Each fiducial depends on its own number only (the P search also ends before the QRS
onset, a second-order effect), so the grids are searched one number at a time.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.ludb import ludb_expert_beats, ludb_expert_intervals
from ecgcore.signal.delineate import DEFAULT_PARAMS, SpatialParams, ecg_delineate

#: Candidate values of each tuned number.
GRIDS: dict[str, tuple[float, ...]] = {
    "qrs_on": (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08),
    "qrs_off": (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08),
    "p_on": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "p_off": (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6),
}
_FID = {"qrs_on": "qrs_on", "qrs_off": "qrs_off", "p_on": "p_on", "p_off": "p_off"}

#: LUDB conditions as the issue groups them; a record may be in several, "sinus, none of
#: these" only when it is in no other.
CONDITIONS = ("BBB or hemiblock", "hypertrophy", "AV block", "AF / flutter", "paced")


def conditions(row: pd.Series) -> list[str]:
    """The condition classes of one row of LUDB's ``ludb.csv``."""
    text = lambda col: str(row.get(col, "") if pd.notna(row.get(col)) else "").lower()  # noqa: E731
    cond, rhythm = text("Conduction abnormalities"), text("Rhythms")
    out = []
    if "bundle branch" in cond or "hemiblock" in cond:
        out.append("BBB or hemiblock")
    if text("Hypertrophies"):
        out.append("hypertrophy")
    if "av block" in cond or "av-block" in cond:
        out.append("AV block")
    if "fibrillation" in rhythm or "flutter" in rhythm:
        out.append("AF / flutter")
    if text("Cardiac pacing"):
        out.append("paced")
    if not out and "sinus" in rhythm:
        out.append("sinus, none of these")
    return out


def load_ludb(ludb_dir: str | Path) -> list[dict]:
    """Per record: the pipeline's analysis median beat and the experts' reference."""
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import list_ludb_records
    from ecgcore.signal.beats import WINDOW_ANALYSIS
    from ecgcore.signal.pipeline import process_record

    ludb_dir = Path(ludb_dir)
    table = pd.read_csv(ludb_dir / "ludb.csv").set_index("ID")
    out = []
    for path in list_ludb_records(ludb_dir):
        res = process_record(read_wfdb(path))
        before = WINDOW_ANALYSIS.offsets(res.fs)[0]
        anchors = np.asarray(res.anchors)
        rel: dict[str, list[float]] = {k: [] for k in _FID}
        for b in ludb_expert_beats(path):
            j = int(np.argmin(np.abs(anchors - (b.qrs_on + b.qrs_off) / 2)))
            if abs(anchors[j] - b.qrs_on) > 0.2 * res.fs:
                continue  # a beat the pipeline did not keep
            for key in _FID:
                v = getattr(b, key)
                if v is not None:
                    rel[key].append((v - anchors[j]) * 1000.0 / res.fs)
        out.append({
            "record": path.name, "path": path, "median": res.analysis_median, "fs": res.fs,
            "r": before, "rr_ms": float(np.median(res.rr_ms)),
            "ref_rel": {k: (float(np.median(v)) if v else None) for k, v in rel.items()},
            "expert": ludb_expert_intervals(path),
            "conditions": conditions(table.loc[int(path.name)]) if int(path.name) in table.index
            else [],
        })
    return out


def _delineate(d: dict, params: SpatialParams):
    try:
        return ecg_delineate(d["median"], d["fs"], d["r"], rr_ms=d["rr_ms"], params=params)
    except ValueError:
        return None


def _fiducial_errors(data: list[dict], key: str, value: float) -> np.ndarray:
    """Per record: (ours − reference) of one fiducial (ms) with one number changed; NaN if none."""
    params = replace(DEFAULT_PARAMS, **{key: value})
    errs = np.full(len(data), np.nan)
    for i, d in enumerate(data):
        ref = d["ref_rel"][key]
        fid = _delineate(d, params)
        ours = None if fid is None else getattr(fid, _FID[key])
        if ref is not None and ours is not None:
            errs[i] = (ours - d["r"]) * 1000.0 / d["fs"] - ref
    return errs


def cross_validate(data: list[dict], k: int = 5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out intervals of every record and the numbers chosen in each fold.

    Returns (per_record, choices): per_record has the record, its fold, conditions, the
    held-out ``p_ms``…``qt_ms`` and the experts' ``expert_p_ms``…; choices one row per fold.
    """
    n = len(data)
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    # Error of every record under every candidate value (one number changed at a time).
    errors = {key: {v: _fiducial_errors(data, key, v) for v in grid} for key, grid in GRIDS.items()}
    rows, choices = [], []
    for f in range(k):
        train = fold != f
        chosen = {}
        for key, by_value in errors.items():
            scores = {v: float(np.nanmean(np.abs(e[train]))) for v, e in by_value.items()}
            chosen[key] = min(scores, key=scores.get)
        params = SpatialParams(**chosen)
        choices.append({"fold": f, **chosen})
        for i in np.flatnonzero(~train):
            d = data[i]
            fid = _delineate(d, params)
            row = {"record": d["record"], "fold": f, "conditions": "; ".join(d["conditions"]),
                   "error": None if fid is not None else "delineation failed"}
            for m in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
                row[m] = None if fid is None else getattr(fid, m)
                row[f"expert_{m}"] = d["expert"][m]
            rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(choices)


def condition_table(per_record: pd.DataFrame, n_worst: int = 5) -> pd.DataFrame:
    """QRS-duration and QT errors (ms) per condition class, with the worst records."""
    rows = []
    for cls in (*CONDITIONS, "sinus, none of these"):
        part = per_record[per_record["conditions"].str.contains(cls, regex=False)]
        for m in ("qrs_ms", "qt_ms", "pr_ms"):
            diff = (pd.to_numeric(part[m]) - pd.to_numeric(part[f"expert_{m}"])).dropna()
            worst = diff.reindex(diff.abs().sort_values(ascending=False).index)[:n_worst]
            rows.append({
                "condition": cls, "interval": m.removesuffix("_ms").upper(), "n": len(diff),
                "mean_ms": round(float(diff.mean()), 1) if len(diff) else np.nan,
                "sd_ms": round(float(diff.std(ddof=1)), 1) if len(diff) > 1 else np.nan,
                "worst (record: error ms)": ", ".join(
                    f"{part.loc[i, 'record']}: {v:+.0f}" for i, v in worst.items()),
            })
    return pd.DataFrame(rows)
