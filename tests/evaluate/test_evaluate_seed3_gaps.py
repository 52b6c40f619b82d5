"""Answers for the four real gaps left by the unseen mutation draw ``--seed 3``.

Each test pins one behaviour a mutant changed without any test noticing (docs/BENCHMARKS.md,
"The evaluate package"): an input with too many rows, the hard call at exactly the
threshold, DeLong's z for identical rankings, and the CSV written without its index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.evaluate.downstream import build_inputs, oof_predict
from ecgcore.evaluate.report import to_csv
from ecgcore.evaluate.stats import delong_test


def _meta(n: int) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": np.arange(n), "age": np.linspace(30, 80, n),
                         "sex": np.arange(n) % 2})


@pytest.mark.parametrize("rows", [5, 7])
def test_an_embedding_whose_row_count_differs_from_the_records_is_refused(rows):
    with pytest.raises(ValueError, match=rf"input 'z' has {rows} rows, records table 6"):
        build_inputs(_meta(6), {"z": np.zeros((rows, 3))}, sex_age=False)


def test_a_probability_equal_to_the_training_prevalence_is_called_positive():
    # k-NN with k >= the training fold's size predicts every record with the fold's
    # prevalence itself (2 of 5 neighbours positive = 2 / 5 = 0.4, the same float as the
    # mean of the labels), so each held-out record sits exactly on the threshold: >= calls
    # it positive.
    X = np.arange(10, dtype=float)[:, None]
    y = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    folds = [(np.arange(5), np.arange(5, 10)), (np.arange(5, 10), np.arange(5))]
    out = oof_predict(X, y, folds, "knn", "binary", group_col=None)
    np.testing.assert_array_equal(out.score, np.full(10, 0.4))
    np.testing.assert_array_equal(out.hard, np.ones(10))
    # The multilabel branch makes the same call per column (second column: 3 of 5).
    y2 = np.stack([y, np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 1])], axis=1)
    out2 = oof_predict(X, y2, folds, "knn", "multilabel", group_col=None)
    np.testing.assert_array_equal(out2.score, np.array([[0.4, 0.6]] * 10))
    np.testing.assert_array_equal(out2.hard, np.ones((10, 2)))


def test_delong_on_identical_rankings_has_z_zero_and_p_one():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    res = delong_test(y, s, 2.0 * s + 1.0)  # a monotone transform: the same ranking
    assert res["diff"] == 0.0 and res["se"] == 0.0
    assert res["z"] == 0.0 and res["p_value"] == 1.0


def test_the_csv_holds_the_table_columns_only(tmp_path):
    df = pd.DataFrame({"model": ["pca", "vae"], "auroc": [0.8123456789, 0.85]},
                      index=[10, 11])
    path = to_csv(df, tmp_path / "sub" / "table.csv")
    assert path == tmp_path / "sub" / "table.csv"
    assert path.read_text().splitlines() == ["model,auroc", "pca,0.8123456789", "vae,0.85"]
