"""Patient-grouped, stratified splits on the PTB-XL metadata."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest

from ecgcore.data.splits import grouped_kfold, grouped_split, label_fraction, stratify_key


@pytest.fixture(scope="module")
def meta(ptbxl500) -> pd.DataFrame:
    df = pd.read_csv(ptbxl500 / "ptbxl_database.csv")
    codes = df.scp_codes.map(ast.literal_eval)
    df["mi"] = codes.map(lambda c: int(any(k in c for k in ("IMI", "ASMI", "ILMI", "AMI", "ALMI"))))
    df["norm"] = codes.map(lambda c: int("NORM" in c))
    return df


def _patients(meta, idx):
    return set(meta.patient_id.iloc[idx])


def test_kfold_groups_patients_and_covers_everything(meta):
    folds = grouped_kfold(meta, k=5, stratify="mi", seed=0)
    assert len(folds) == 5
    held = np.concatenate([b for _, b in folds])
    assert sorted(held) == list(range(len(meta)))  # each record held out exactly once
    for train, test in folds:
        assert not _patients(meta, train) & _patients(meta, test)
        assert 0 < meta.mi.iloc[test].mean() < 0.5  # the label is present in every fold
    prevalences = [meta.mi.iloc[b].mean() for _, b in folds]
    assert max(prevalences) - min(prevalences) < 0.08


def test_kfold_without_labels_and_seed(meta):
    a = grouped_kfold(meta, k=5, seed=1)
    b = grouped_kfold(meta, k=5, seed=1)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    for train, test in a:
        assert not _patients(meta, train) & _patients(meta, test)


def test_split_three_way(meta):
    s = grouped_split(meta, val_fraction=0.15, test_fraction=0.15, stratify=["mi", "norm"])
    sizes = {k: len(v) / len(meta) for k, v in s.items()}
    assert set(s) == {"train", "val", "test"}
    assert 0.1 < sizes["test"] < 0.2 and 0.1 < sizes["val"] < 0.2
    assert len(np.concatenate(list(s.values()))) == len(set(np.concatenate(list(s.values())))) == len(meta)
    assert not _patients(meta, s["train"]) & _patients(meta, s["test"])
    assert not _patients(meta, s["train"]) & _patients(meta, s["val"])


def test_stratify_key_multilabel_prefers_rare(meta):
    key = stratify_key(meta, ["norm", "mi"])
    both = (meta.norm == 1) & (meta.mi == 1)
    assert (key[(meta.mi == 1).to_numpy()] == 1).all()  # mi is rarer than norm
    assert (key[((meta.mi == 0) & (meta.norm == 0)).to_numpy()] == -1).all()
    assert not both.any() or (key[both.to_numpy()] == 1).all()


def test_label_fraction_takes_whole_patients(meta):
    train = np.arange(len(meta))
    for frac in (0.1, 0.01):
        sub = label_fraction(meta, train, frac, seed=0)
        assert abs(len(sub) - frac * len(meta)) <= max(3, 0.05 * len(meta) * frac)
        chosen = _patients(meta, sub)
        rest = np.setdiff1d(train, sub)
        assert not chosen & _patients(meta, rest)
    assert len(label_fraction(meta, train, 1.0)) == len(meta)
    with pytest.raises(ValueError, match="label fraction"):
        label_fraction(meta, train, 0.0)


@pytest.mark.parametrize("dtype", ["float64", "int64", "Int64"])
def test_stratify_key_bins_continuous_columns_of_any_numeric_dtype(dtype):
    """Age in whole years is continuous: five quintile strata, not 60 one-age classes."""
    age = pd.Series(np.repeat(np.arange(20, 80), 5)).astype(dtype)
    key = stratify_key(pd.DataFrame({"age": age}), "age")
    assert sorted(set(key)) == [0, 1, 2, 3, 4]
    assert np.bincount(key.astype(int)).tolist() == [60] * 5
    assert (np.diff(key[np.argsort(age.to_numpy(), kind="stable")]) >= 0).all()


def test_stratify_key_keeps_text_classes():
    key = stratify_key(pd.DataFrame({"rhythm": pd.Series(["AF", "SR", "AF", "other"],
                                                         dtype="str")}), "rhythm")
    assert key.tolist() == ["AF", "SR", "AF", "other"]
