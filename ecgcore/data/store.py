"""Read access to a cache folder written by ``ecgcore.data.cache.preprocess``.

Arrays are memory-mapped: a cache larger than RAM (PTB-XL at 500 Hz, MIMIC-IV-ECG) is
read beat by beat, never loaded whole.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd


class ECGCache:
    """An opened cache folder: ``records`` table, ``manifest`` and memory-mapped arrays."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        info = self.path / "cache.json"
        if not info.exists():
            raise FileNotFoundError(
                f"{self.path}: not a preprocessed cache (no cache.json); run `ecgwb preprocess` first"
            )
        self.info: dict = json.loads(info.read_text())

    @property
    def fs(self) -> float:
        return float(self.info["fs"])

    @property
    def leads(self) -> tuple[str, ...]:
        return tuple(self.info["leads"])

    @cached_property
    def records(self) -> pd.DataFrame:
        """One row per usable record, row i matching row i of every array."""
        return pd.read_parquet(self.path / "records.parquet")

    @cached_property
    def manifest(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "manifest.csv", keep_default_na=False)

    def __len__(self) -> int:
        return int(self.info["n_ok"])

    def array(self, name: str) -> np.ndarray:
        """A memory-mapped array of the cache (``median``, ``fiducials``, ``sequences`` …)."""
        path = self.path / f"{name}.npy"
        if not path.exists():
            have = sorted(p.stem for p in self.path.glob("*.npy"))
            raise FileNotFoundError(f"{path}: this cache has no {name!r} array (it has {have}); "
                                    "preprocess again with that output enabled")
        return np.load(path, mmap_mode="r")

    @property
    def median(self) -> np.ndarray:
        return self.array("median")

    @property
    def fiducials(self) -> np.ndarray:
        return self.array("fiducials")
