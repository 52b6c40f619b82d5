"""`ecgwb bench delineation`: global intervals against the LUDB experts, IEC 60601-2-25 style.

For every LUDB record the experts' global P duration, PR, QRS duration and QT (earliest
onset and latest offset over the 12 leads, median over beats; see
:func:`ecgcore.io.ludb.ludb_expert_intervals`) are compared with

- ``spatial``: the project's pipeline — ``process_record`` (clean → multi-lead R peaks →
  template alignment → beats in the analysis window → quality filter → median beat) and
  :func:`ecgcore.signal.delineate.ecg_delineate` on the median beat, given the record's
  median RR;
- ``neurokit2``: NeuroKit2's ``ecg_process`` on lead II and its DWT delineation
  (``ecg_delineate(method="dwt")``), per-beat intervals, median over beats.

For each method and interval: mean and SD of (method − experts) in ms over the records
both measured, the number of records, and pass/fail against the IEC 60601-2-25 tolerances
for global measurements (mean within ±10 ms for P, PR, QRS and ±25 ms for QT; SD within
15, 10, 10 and 30 ms). A record on which a method fails is counted in ``n_failed`` and left
out of that method's row; a record where the experts have a value and the method none
(a P wave not found, a T end not found) is counted in ``n_missed``; P waves a method
finds where the experts marked none are counted in ``n_extra``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.ludb import list_ludb_records, ludb_expert_intervals

#: IEC 60601-2-25 tolerances for global interval measurements: (|mean| ms, SD ms).
IEC_TOLERANCES: dict[str, tuple[float, float]] = {
    "p_ms": (10.0, 15.0),
    "pr_ms": (10.0, 10.0),
    "qrs_ms": (10.0, 10.0),
    "qt_ms": (25.0, 30.0),
}
MEASURES = tuple(IEC_TOLERANCES)
METHODS = ("spatial", "neurokit2")


def _default_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ludb_dev"


def spatial_intervals(record_path: str | Path) -> dict[str, float | None]:
    """The project's global intervals (ms) for one WFDB record."""
    from ecgcore.io import read_wfdb
    from ecgcore.signal.pipeline import process_record

    fid = process_record(read_wfdb(record_path)).analysis_fiducials  # durations: any window
    return {"p_ms": fid.p_ms, "pr_ms": fid.pr_ms, "qrs_ms": fid.qrs_ms, "qt_ms": fid.qt_ms}


def neurokit_intervals(record_path: str | Path, lead: str = "II") -> dict[str, float | None]:
    """NeuroKit2's DWT delineation of one lead: per-beat intervals, median over beats (ms)."""
    import neurokit2 as nk

    from ecgcore.io import read_wfdb
    from ecgcore.leads import STANDARD_LEADS

    record = read_wfdb(record_path)
    lead_uv = record.signal[STANDARD_LEADS.index(lead)]
    x = np.asarray(lead_uv, dtype=np.float64) / 1000.0  # NeuroKit2 works in mV
    fs = round(record.fs)
    signals, info = nk.ecg_process(x, sampling_rate=fs)
    _, waves = nk.ecg_delineate(
        signals["ECG_Clean"].to_numpy(), info["ECG_R_Peaks"], sampling_rate=fs, method="dwt"
    )

    def marks(key: str) -> np.ndarray:
        return np.asarray(waves.get(key, []), dtype=np.float64)

    p_on, p_off = marks("ECG_P_Onsets"), marks("ECG_P_Offsets")
    r_on, r_off, t_off = marks("ECG_R_Onsets"), marks("ECG_R_Offsets"), marks("ECG_T_Offsets")
    n = min(len(p_on), len(p_off), len(r_on), len(r_off), len(t_off))
    to_ms = 1000.0 / fs

    def median(values: np.ndarray) -> float | None:
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.median(values)) * to_ms if values.size else None

    return {
        "p_ms": median(p_off[:n] - p_on[:n]),
        "pr_ms": median(r_on[:n] - p_on[:n]),
        "qrs_ms": median(r_off[:n] - r_on[:n]),
        "qt_ms": median(t_off[:n] - r_on[:n]),
    }


_MEASURERS: dict[str, Callable[[Path], dict[str, float | None]]] = {
    "spatial": spatial_intervals,
    "neurokit2": neurokit_intervals,
}


def measure_records(
    ludb_dir: str | Path, methods: Iterable[str] = METHODS, records: Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per (record, method): the method's intervals, the experts', and any error."""
    methods = list(methods)
    unknown = [m for m in methods if m not in _MEASURERS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(_MEASURERS)}")
    paths = list_ludb_records(ludb_dir)
    if records is not None:
        wanted = {str(r) for r in records}
        paths = [p for p in paths if p.name in wanted]
    if not paths:
        raise FileNotFoundError(f"no LUDB records (header + 12 annotation files) in {ludb_dir}")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NeuroKit2 and numpy chatter on odd beats
        for path in paths:
            expert = ludb_expert_intervals(path)
            for method in methods:
                row: dict = {"record": path.name, "method": method, "error": None}
                row.update({f"expert_{m}": expert[m] for m in MEASURES})
                t0 = time.perf_counter()
                try:
                    row.update(_MEASURERS[method](path))
                except Exception as exc:  # noqa: BLE001 -- a failed record is counted, not dropped
                    row["error"] = f"{type(exc).__name__}: {exc}"
                    row.update({m: None for m in MEASURES})
                row["seconds"] = time.perf_counter() - t0
                rows.append(row)
    return pd.DataFrame(rows)


def summarize(per_record: pd.DataFrame) -> pd.DataFrame:
    """The IEC 60601-2-25 table: one row per (method, interval)."""
    rows = []
    for method, df in per_record.groupby("method", sort=False):
        failed = df["error"].notna()
        ok = df[~failed]
        for m in MEASURES:
            ours = pd.to_numeric(ok[m], errors="coerce")
            ref = pd.to_numeric(ok[f"expert_{m}"], errors="coerce")
            both = ours.notna() & ref.notna()
            diff = (ours - ref)[both]
            tol_mean, tol_sd = IEC_TOLERANCES[m]
            mean = float(diff.mean()) if both.any() else float("nan")
            sd = float(diff.std(ddof=1)) if both.sum() > 1 else float("nan")
            rows.append({
                "method": method,
                "interval": m.removesuffix("_ms").upper(),
                "n": int(both.sum()),
                "n_failed": int(failed.sum()),
                "n_missed": int((ref.notna() & ours.isna()).sum()),
                "n_extra": int((ref.isna() & ours.notna()).sum()),
                "mean_ms": round(mean, 1),
                "sd_ms": round(sd, 1),
                "tol_mean_ms": tol_mean,
                "tol_sd_ms": tol_sd,
                "pass": bool(abs(mean) <= tol_mean and sd <= tol_sd),
            })
    return pd.DataFrame(rows)


def run(
    ludb_dir: str | Path | None = None,
    methods: Iterable[str] = METHODS,
    records: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Measure every record of ``ludb_dir`` with ``methods`` and return the IEC table.

    The per-record measurements are attached as ``table.attrs["per_record"]``.
    """
    per_record = measure_records(ludb_dir or _default_data(), methods, records)
    table = summarize(per_record)
    table.attrs["per_record"] = per_record
    return table


def _split_table(per_record: pd.DataFrame) -> pd.DataFrame:
    """The table on odd and even positions of the record list (a pseudo split)."""
    names = list(dict.fromkeys(per_record["record"]))
    parts = []
    for label, keep in (("odd positions", names[0::2]), ("even positions", names[1::2])):
        part = summarize(per_record[per_record["record"].isin(keep)])
        part.insert(0, "subset", label)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="ecgwb bench delineation", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--data", type=Path, default=_default_data(), help="LUDB folder (with data/)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--records", nargs="+", help="record names to use (default: all)")
    ap.add_argument("--split", action="store_true", help="also print odd/even-position halves")
    ap.add_argument("--per-record", type=Path, help="write the per-record measurements to this CSV")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    table = run(args.data, args.methods, args.records)
    per_record = table.attrs["per_record"]
    n_records = per_record["record"].nunique()
    print(f"LUDB: {args.data} ({n_records} records), {time.perf_counter() - t0:.1f} s")
    print("method − experts (ms); IEC 60601-2-25 global tolerances: "
          "|mean| ≤ tol_mean, SD ≤ tol_sd")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False))
        if args.split:
            print("\npseudo split (odd / even positions of the record list):")
            print(_split_table(per_record).to_string(index=False))
    failures = per_record[per_record["error"].notna()]
    for _, row in failures.iterrows():
        print(f"failed: {row['method']} on record {row['record']}: {row['error']}")
    if args.per_record:
        per_record.to_csv(args.per_record, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
