"""Torch Datasets over a cache folder, reading memory-mapped arrays item by item.

Arrays are opened lazily in each process (DataLoader workers, DDP ranks), so a Dataset
pickles cheaply and never holds a whole cache in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ecgcore.data.store import ECGCache
from ecgcore.leads import LEAD_SETS, selected_leads
from ecgcore.signal.kors import kors_xyz

__all__ = ["LEAD_SETS", "BeatDataset", "CachedDataset"]


class CachedDataset(Dataset):
    """Items ``{"x", "fiducials", "index"}`` plus ``"y"`` (labels), ``"extra"`` and, for
    beat sequences, ``"mask"`` (True for a real beat).

    ``array`` names the cache array (``median``, ``sequences``, ``signals``); ``leads``
    picks all the cache's leads, the 8 independent ones, the Kors X, Y, Z leads or any
    named subset (``["I"]``, ``["II", "V5"]``; see :func:`ecgcore.leads.selected_leads`),
    checked against the cache's leads before any work; ``scale_uv``
    divides the µV signal by a constant (the scaler fitted on the training split).
    """

    def __init__(
        self,
        cache: ECGCache | str,
        indices: Sequence[int] | None = None,
        array: str = "median",
        leads: str | Sequence[str] = "all",
        scale_uv: float = 1.0,
        label_columns: Sequence[str] = (),
        extra_columns: Sequence[str] = (),
    ):
        self.cache = cache if isinstance(cache, ECGCache) else ECGCache(cache)
        try:
            self.lead_names = selected_leads(leads, self.cache.leads)
        except ValueError as exc:
            raise ValueError(f"{self.cache.path}: {exc}") from None
        self._lead_rows = None if isinstance(leads, str) and leads in ("all", "xyz") else [
            self.cache.leads.index(name) for name in self.lead_names]
        self.indices = np.arange(len(self.cache)) if indices is None else np.asarray(indices)
        self.array_name, self.leads, self.scale_uv = array, leads, float(scale_uv)
        table = self.cache.records
        missing = [c for c in (*label_columns, *extra_columns) if c not in table.columns]
        if missing:
            raise KeyError(f"{self.cache.path}: records table has no column(s) {missing}")
        self.labels = table[list(label_columns)].to_numpy(dtype=np.float32) if label_columns else None
        self.extra = table[list(extra_columns)].to_numpy(dtype=np.float32) if extra_columns else None
        self._arrays: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"] = None  # memmaps are reopened in the receiving process
        return state

    def _open(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {"x": self.cache.array(self.array_name),
                            "fiducials": self.cache.fiducials}
            if self.array_name == "sequences" and type(self) is CachedDataset:
                self._arrays["mask"] = self.cache.array("sequence_mask")
        return self._arrays

    def select_leads(self, x: np.ndarray) -> np.ndarray:
        if self.leads == "xyz":
            return kors_xyz(x, self.cache.leads)
        if self._lead_rows is not None:
            return x[..., self._lead_rows, :]
        return x

    @property
    def record_rows(self) -> np.ndarray:
        """The cache row of every item, in item order."""
        return self.indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = int(self.indices[i])
        arrays = self._open()
        x = self.select_leads(np.nan_to_num(np.asarray(arrays["x"][row], dtype=np.float32)))
        item = {"x": torch.from_numpy(x / self.scale_uv),
                "fiducials": torch.from_numpy(np.array(arrays["fiducials"][row])),
                "index": torch.tensor(row)}
        if "mask" in arrays:
            item["mask"] = torch.from_numpy(np.array(arrays["mask"][row], dtype=bool))
        return self._with_targets(item, row)

    def _with_targets(self, item: dict[str, torch.Tensor], row: int) -> dict[str, torch.Tensor]:
        """``item`` with the record's labels (``y``) and extra features, where there are any."""
        if self.labels is not None:
            # a copy: the labels may be read-only
            item["y"] = torch.from_numpy(np.array(self.labels[row]))
        if self.extra is not None:
            item["extra"] = torch.from_numpy(np.nan_to_num(self.extra[row]))
        return item


class BeatDataset(CachedDataset):
    """Every kept single beat of the given records as its own item (``sequences`` array).

    A record contributes its quality-filtered beats, not only its median: about ten times
    the training examples, with the natural beat-to-beat variation. The beats are aligned
    with the record's median beat, so the record's fiducials apply to each of them.
    """

    def __init__(self, cache: ECGCache | str, indices: Sequence[int] | None = None, **kwargs):
        super().__init__(cache, indices, array="sequences", **kwargs)
        mask = np.asarray(self.cache.array("sequence_mask"))[self.indices]
        rows, beats = np.nonzero(mask)
        self.pairs = np.stack([self.indices[rows], beats], axis=1)

    @property
    def record_rows(self) -> np.ndarray:
        return self.pairs[:, 0]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row, beat = (int(v) for v in self.pairs[i])
        arrays = self._open()
        x = self.select_leads(np.nan_to_num(np.asarray(arrays["x"][row, beat], dtype=np.float32)))
        item = {"x": torch.from_numpy(x / self.scale_uv),
                "fiducials": torch.from_numpy(np.array(arrays["fiducials"][row])),
                "index": torch.tensor(row)}
        return self._with_targets(item, row)
