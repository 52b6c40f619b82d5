"""From a config's data section to DataLoaders: cache, patient-grouped splits, scaling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ecgcore.data.datasets import BeatDataset, CachedDataset
from ecgcore.data.resolve import resolve_cache
from ecgcore.data.spec import SUPERCLASS_COLUMNS, ConfigError, DataConfig
from ecgcore.data.splits import grouped_kfold, grouped_split, label_fraction, stratify_key
from ecgcore.data.store import ECGCache
from ecgcore.preprocessing import Preprocessing


def make_splits(records: pd.DataFrame, data: DataConfig, seed: int) -> dict[str, np.ndarray]:
    """train / val / test row indices, grouped by patient, stratified by the task labels
    (or the PTB-XL superclasses when there is no task).

    Cross-validation folds are a property of the dataset, not of the model: they are
    stratified by the PTB-XL superclasses whenever the records have them (else by the
    task), so that every model's fold k holds out the same records and models can be
    compared record for record. ``data.val_in_train`` adds the validation records to the
    training ones (the test records never move)."""
    superclasses = [c for c in SUPERCLASS_COLUMNS if c in records.columns]
    strat = data.task or superclasses or None
    if data.cv_folds:
        outer = superclasses or data.task or None
        rest, test = grouped_kfold(records, data.cv_folds, stratify=outer, seed=seed)[data.fold]
        sub = records.iloc[rest].reset_index(drop=True)
        k = max(2, int(round(1 / data.val_fraction)))
        tr, va = grouped_kfold(sub, k, stratify=strat, seed=seed + 1)[0]
        splits = {"train": rest[tr], "val": rest[va], "test": test}
    else:
        splits = grouped_split(records, data.val_fraction, data.test_fraction, stratify=strat, seed=seed)
    if data.val_in_train:  # the validation records stay, for the loss curve only
        splits["train"] = np.sort(np.concatenate([splits["train"], splits["val"]]))
    return splits


@dataclass
class PreparedData:
    cache: ECGCache
    data: DataConfig
    array: str
    splits: dict[str, np.ndarray]
    labelled_train: np.ndarray
    scale_uv: float
    extra_stats: dict[str, list[float]] = field(default_factory=dict)

    def dataset(self, split: str, labels: bool = False) -> CachedDataset:
        rows = self.labelled_train if (split == "train" and labels) else self.splits[split]
        kwargs = {"leads": self.data.leads, "scale_uv": self.scale_uv,
                  "label_columns": self.data.task if labels else (), "extra_columns": self.data.extra}
        if split == "train" and self.array == "median" and self.data.train_on == "beats":
            return BeatDataset(self.cache, rows, **kwargs)
        return CachedDataset(self.cache, rows, array=self.array, **kwargs)

    def inputs(self, split: str) -> np.ndarray:
        """Every record's model input of a split, stacked [N, ...] (median beats, not the
        single beats of ``train_on: beats``)."""
        ds = CachedDataset(self.cache, self.splits[split], array=self.array, leads=self.data.leads,
                           scale_uv=self.scale_uv)
        return np.stack([ds[i]["x"].numpy() for i in range(len(ds))])

    def loader(self, split: str, labels: bool = False, balanced: bool = False, seed: int = 0) -> DataLoader:
        ds = self.dataset(split, labels)
        sampler = None
        if split == "train" and balanced and labels and self.data.task:
            sampler = _balanced_sampler(self.cache.records.iloc[ds.record_rows], self.data.task, seed)
        return DataLoader(ds, batch_size=self.data.batch_size, shuffle=split == "train" and sampler is None,
                          sampler=sampler, num_workers=self.data.num_workers,
                          drop_last=split == "train" and len(ds) > self.data.batch_size,
                          persistent_workers=self.data.num_workers > 0)

    def preprocessing(self) -> Preprocessing:
        """What an input must look like for this model: saved as preprocessing.json."""
        return Preprocessing.fitted(
            fs=self.cache.fs, window=self.data.window, array=self.array, lead_set=self.data.leads,
            cache_leads=self.cache.leads, scale_uv=self.scale_uv, extra=self.data.extra,
            extra_stats=self.extra_stats, task=self.data.task, pipeline=self.cache.info.get("pipeline"),
            source=self.cache.info.get("source"))


def _balanced_sampler(records: pd.DataFrame, task: list[str], seed: int) -> WeightedRandomSampler:
    key = stratify_key(records, task if len(task) > 1 else task[0])
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    gen = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), len(weights), generator=gen)


def _chunks(ds: CachedDataset, dtype: type, chunk: int = 512) -> Iterator[np.ndarray]:
    """A dataset's inputs (µV, its leads, NaN as 0) in chunks of rows from the memory map."""
    arr = ds.cache.array(ds.array_name)
    rows = np.sort(ds.indices)
    for i in range(0, len(rows), chunk):
        yield ds.select_leads(np.nan_to_num(np.asarray(arr[rows[i : i + chunk]], dtype=dtype)))


def _max_abs(ds: CachedDataset) -> float:
    """Largest |x| over a dataset's inputs (µV)."""
    return max((float(np.abs(x).max()) for x in _chunks(ds, np.float32)), default=0.0)


def _std(ds: CachedDataset) -> float:
    """Standard deviation of every input sample of a dataset (µV; all leads and times
    pooled, as one StandardScaler over flattened records)."""
    n, total, total_sq = 0, 0.0, 0.0
    for x in _chunks(ds, np.float64):
        n, total, total_sq = n + x.size, total + float(x.sum()), total_sq + float(np.square(x).sum())
    mean = total / max(n, 1)
    return float(np.sqrt(max(total_sq / max(n, 1) - mean * mean, 0.0)))


#: how ``data.scaling`` turns the training split into the input scale
SCALERS = {"max_abs": _max_abs, "std": _std}


def prepare_data(data: DataConfig, array: str, cache_root: Path, seed: int, progress: bool = True) -> PreparedData:
    cache = resolve_cache(data, array, cache_root, progress)
    records = cache.records
    missing = [c for c in (*data.task, *data.extra) if c not in records.columns]
    if missing:
        raise ConfigError(f"{cache.path}: the records table has no column(s) {missing}; "
                          f"available label columns include {[c for c in records.columns if c.startswith('superclass_')][:5]}")
    splits = make_splits(records, data, seed)
    train = splits["train"]
    labelled = label_fraction(records, train, data.label_fraction, seed=seed) if data.task else train
    if data.task:
        labelled = labelled[records.iloc[labelled][data.task].notna().any(axis=1).to_numpy()]
    probe = CachedDataset(cache, train, array=array, leads=data.leads)
    scale = SCALERS[data.scaling](probe)
    if not scale > 0:
        raise ConfigError(f"{cache.path}: the training split is all zeros")
    stats = {c: [float(records[c].iloc[train].mean()), float(records[c].iloc[train].std() or 1.0)]
             for c in data.extra}
    return PreparedData(cache, data, array, splits, labelled, scale, stats)


def write_split(path: Path, prepared: PreparedData) -> None:
    ids = prepared.cache.records["record_id"].astype(str).to_numpy()
    split = {k: ids[v].tolist() for k, v in prepared.splits.items()}
    split["labelled_train"] = ids[prepared.labelled_train].tolist()
    path.write_text(json.dumps(split, indent=1))
