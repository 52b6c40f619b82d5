"""LUDB read at other sampling rates (`ecgwb bench delineation --parts rates`).

Recorders sample at 128–1000 Hz (Holters 128–256, resting ECGs 250–1000). Each LUDB dev
record (500 Hz) is resampled (:func:`ecgcore.signal.clean.resample`, a polyphase filter:
an ideal recorder's band limit, not a device's own filters) to each rate and measured by the
shipped method exactly as ``ecgwb measure`` measures a file at that rate; the experts'
global marks, in ms, do not change. A method whose constants mean the same at every rate
gives about the same figures at each; what the lower rates lose is their band limit and
timing grain. LUDB dev chose the method's numbers: these figures are in sample, and what
they measure is the change with the rate, beside the 500 Hz row of the same run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.signal.record_delineation import INTERVALS

#: Rates read (Hz): LUDB's own first, then a resting ECG's 1000, and Holters' and
#: handheld recorders' 250, 200 and 128.
RATES_HZ = (500.0, 1000.0, 250.0, 200.0, 128.0)


def ludb_at_rates(ludb_dir: str | Path, rates: Sequence[float] = RATES_HZ,
                  records: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (record, rate), ``method`` naming the rate, as
    :func:`ecgwb.bench.delineation.measure_records` lays them out for ``summarize``."""
    from ecgcore.signal.clean import resample
    from ecgcore.signal.pipeline import process_record
    from ecgwb.bench._single_lead import ludb_records

    rows = []
    for path, record, expert in ludb_records(ludb_dir, records):
        for fs in rates:
            row: dict = {"record": path.name, "method": f"spatial at {fs:g} Hz",
                         "error": None, **{f"expert_{m}": expert[m] for m in INTERVALS}}
            t0 = time.perf_counter()
            try:
                at = record if np.isclose(fs, record.fs) else dataclasses.replace(
                    record, fs=float(fs),
                    signal=resample(record.signal, record.fs, fs).astype(np.float32))
                row.update(process_record(at).intervals)
            except Exception as exc:  # noqa: BLE001 -- a failed record is counted
                row["error"] = f"{type(exc).__name__}: {exc}"
                row.update({m: None for m in INTERVALS})
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
    return pd.DataFrame(rows)


def moved(per_record: pd.DataFrame, by_ms: float = 10.0) -> pd.DataFrame:
    """Records whose interval at another rate differs from their own rate's by more than
    ``by_ms``, or is found at one rate and not the other."""
    first = per_record["method"].iloc[0]
    base = per_record[per_record["method"] == first].set_index("record")
    rows = []
    for method, df in per_record.groupby("method", sort=False):
        if method == first:
            continue
        for _, row in df.iterrows():
            for m in INTERVALS:
                a, b = base.loc[row["record"], m], row[m]
                a = None if pd.isna(a) else float(a)
                b = None if pd.isna(b) else float(b)
                if (a is None) != (b is None) or (a is not None and abs(b - a) > by_ms):
                    rows.append({"method": method, "record": row["record"], "interval": m,
                                 first: a, "at this rate": b,
                                 "expert": row[f"expert_{m}"]})
    return pd.DataFrame(rows)
