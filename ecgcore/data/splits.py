"""Patient-grouped, label-stratified splits, k folds and label fractions.

Every split keeps all records of one patient on one side, so that no model is judged on
a person it has already seen. Stratification uses one label column; for several
(multilabel) columns the key is each record's rarest positive label, which keeps rare
classes present in every fold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold


def stratify_key(meta: pd.DataFrame, columns: str | Sequence[str] | None) -> np.ndarray | None:
    """One class per record for stratification, or None when no label is given."""
    if columns is None:
        return None
    if isinstance(columns, str):
        col = meta[columns]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric and col.nunique(dropna=True) > 10:  # continuous (ints too): quintiles
            return pd.qcut(col.rank(method="first"), 5, labels=False).fillna(-1).to_numpy()
        return col.astype(str).fillna("nan").to_numpy()
    # a user's labels table gives nullable booleans (True/False/<NA>), on which fillna(0)
    # raises; as floats, a missing label counts as negative here, for stratification only
    values = np.zeros((len(meta), len(columns)), dtype=bool)
    for j, c in enumerate(columns):
        col = pd.to_numeric(meta[c], errors="coerce")
        values[:, j] = np.nan_to_num(col.to_numpy(dtype=float, na_value=np.nan)) > 0
    prevalence = values.mean(axis=0)
    order = np.argsort(prevalence)  # rarest first
    key = np.full(len(meta), -1)
    for j in order[::-1]:  # assign commoner labels first, rarer ones overwrite
        key[values[:, j]] = j
    return key


def _groups(meta: pd.DataFrame, group_col: str | None) -> np.ndarray:
    if group_col and group_col in meta.columns:
        g = meta[group_col]
        # a record without a patient id is its own group
        return np.where(g.isna(), [f"_record_{i}" for i in range(len(meta))], g.astype(str))
    return np.array([f"_record_{i}" for i in range(len(meta))])


def grouped_kfold(
    meta: pd.DataFrame,
    k: int = 5,
    group_col: str | None = "patient_id",
    stratify: str | Sequence[str] | None = None,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, held-out) pairs of positional indices, grouped by patient."""
    groups = _groups(meta, group_col)
    y = stratify_key(meta, stratify)
    if y is None:
        rng = np.random.default_rng(seed)
        uniq = np.unique(groups)
        perm = {g: i for i, g in enumerate(rng.permutation(uniq))}
        order = np.argsort([perm[g] for g in groups], kind="stable")
        splitter = GroupKFold(n_splits=k)
        folds = [(order[a], order[b]) for a, b in splitter.split(order, groups=groups[order])]
    else:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(len(meta)), y, groups))
    return [(np.sort(a), np.sort(b)) for a, b in folds]


def grouped_split(
    meta: pd.DataFrame,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    group_col: str | None = "patient_id",
    stratify: str | Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train / validation / test positional indices, grouped by patient (85:15 style)."""
    out: dict[str, np.ndarray] = {}
    rest = np.arange(len(meta))
    if test_fraction > 0:
        k = max(2, int(round(1 / test_fraction)))
        train_val, test = grouped_kfold(meta, k, group_col, stratify, seed)[0]
        out["test"], rest = test, train_val
    k = max(2, int(round(1 / val_fraction * (len(rest) / len(meta)))))
    sub = meta.iloc[rest].reset_index(drop=True)
    tr, va = grouped_kfold(sub, k, group_col, stratify, seed + 1)[0]
    out["train"], out["val"] = rest[tr], rest[va]
    return {key: out[key] for key in ("train", "val", "test") if key in out}


def label_fraction(
    meta: pd.DataFrame,
    indices: np.ndarray,
    fraction: float,
    group_col: str | None = "patient_id",
    seed: int = 0,
) -> np.ndarray:
    """A random subset of whole patients holding about ``fraction`` of ``indices``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return np.asarray(indices)
    groups = _groups(meta, group_col)[indices]
    uniq = np.random.default_rng(seed).permutation(np.unique(groups))
    target = max(1, int(round(fraction * len(indices))))
    chosen, total = set(), 0
    counts = pd.Series(groups).value_counts()
    for g in uniq:
        if total >= target:
            break
        chosen.add(g)
        total += int(counts[g])
    return np.asarray(indices)[np.isin(groups, list(chosen))]
