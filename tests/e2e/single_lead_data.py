"""A folder of single-lead recordings for the app and browser tests, made as
``ecgwb bench single_lead`` makes it (its own builder): lead I of the first records of the
real ``ptbxl500`` resampled to 300 Hz, the lead named ``ECG``, and the rhythm labels table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def make_single_lead_folder(ptbxl500: Path, base: Path, n: int = 40) -> tuple[Path, Path]:
    """(folder of one-lead ``ECG`` records at 300 Hz, rhythm labels table) of the first ``n``
    records of ``ptbxl500``, under ``base`` (about 2 s for 40 records)."""
    from ecgwb.bench.single_lead import single_lead_folder

    root = base / "ptbxl_first"
    root.mkdir(parents=True, exist_ok=True)
    pd.read_csv(ptbxl500 / "ptbxl_database.csv").head(n).to_csv(root / "ptbxl_database.csv",
                                                                 index=False)
    if not (root / "records500").exists():
        (root / "records500").symlink_to(ptbxl500 / "records500")
    return single_lead_folder(root, base / "single_lead", fs=300.0)
