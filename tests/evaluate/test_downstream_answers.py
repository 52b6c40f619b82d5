"""Answers of ecgcore/evaluate/downstream.py written out independently (issue 19, seed-2 draw).

Every model kind against its definition (numpy by hand where it is short, otherwise the
scikit-learn / LightGBM estimator spelled out with the documented constants), every
validation error with its message, and the edge cases of the metrics (a class missing,
label-fraction subsets of exactly 2, 3 and 4 records).
"""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ecgcore.data.splits import label_fraction
from ecgcore.evaluate import downstream as ds


def _data(n: int = 48, d: int = 3, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.7 * rng.normal(size=n) > 0).astype(int)
    return X[:36], y[:36], X[36:]


def _z(train: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise with the training mean and population SD (StandardScaler's rule)."""
    mu, sd = train.mean(0), train.std(0)
    return (train - mu) / sd, (other - mu) / sd


# -- models -------------------------------------------------------------------------------
def test_knn_is_the_positive_share_of_the_15_nearest_standardised_neighbours():
    X, y, Xt = _data()
    zt, zq = _z(X, Xt)
    dist = ((zq[:, None, :] - zt[None, :, :]) ** 2).sum(-1)
    want = np.array([y[np.argsort(row, kind="stable")[:15]].mean() for row in dist])
    got = ds.make_model("knn", "binary", n_train=len(y)).fit(X, y).predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_knn_k_is_capped_by_the_training_size_and_regresses_the_neighbours_mean():
    X, _, Xt = _data()
    X5, v5 = X[:5], X[:5, 0] * 10.0  # 5 records: k = 5, every prediction the mean of all
    got = ds.make_model("knn", "continuous", n_train=5).fit(X5, v5).predict(Xt)
    np.testing.assert_allclose(got, np.full(len(Xt), v5.mean()), rtol=1e-12)
    zt, zq = _z(X, Xt)  # 36 records: k = 15 neighbours' mean
    dist = ((zq[:, None, :] - zt[None, :, :]) ** 2).sum(-1)
    want = np.array([X[np.argsort(r, kind="stable")[:15], 0].mean() for r in dist])
    got = ds.make_model("knn", "continuous", n_train=36).fit(X, X[:, 0]).predict(Xt)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_linear_probe_for_a_continuous_target_is_ordinary_least_squares():
    X, _, Xt = _data()
    rng = np.random.default_rng(1)
    v = X @ np.array([1.5, -2.0, 0.3]) + rng.normal(size=len(X))
    A = np.column_stack([np.ones(len(X)), X])
    beta = np.linalg.lstsq(A, v, rcond=None)[0]  # standardising x or y changes nothing for OLS
    got = ds.make_model("linear_probe", "continuous").fit(X, v).predict(Xt)
    np.testing.assert_allclose(got, np.column_stack([np.ones(len(Xt)), Xt]) @ beta, rtol=1e-9)


def test_linear_probe_for_a_class_is_logistic_regression_with_c_100():
    X, y, Xt = _data()
    zt, zq = _z(X, Xt)
    want = LogisticRegression(C=100.0, max_iter=5000, tol=1e-10).fit(zt, y).predict_proba(zq)[:, 1]
    got = ds.make_model("linear_probe", "binary").fit(X, y).predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(got, want, atol=1e-3)  # lbfgs stops at tol 1e-4
    # and not C = 1: the penalty would move the answer far more than the solver tolerance
    at_1 = LogisticRegression(C=1.0, max_iter=5000).fit(zt, y).predict_proba(zq)[:, 1]
    assert np.abs(at_1 - want).max() > 1e-2


@pytest.mark.parametrize("c", [0.1, 1.0])
def test_logreg_l1_for_a_class_is_liblinear_l1_at_the_given_c(c):
    X, y, Xt = _data()
    zt, zq = _z(X, Xt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn >= 1.8 deprecates `penalty`
        ref = LogisticRegression(penalty="l1", C=c, solver="liblinear", max_iter=2000,
                                 random_state=0).fit(zt, y)
    got = ds.make_model("logreg_l1", "binary", C=c).fit(X, y)
    np.testing.assert_allclose(got.predict_proba(Xt)[:, 1], ref.predict_proba(zq)[:, 1],
                               rtol=1e-9)
    np.testing.assert_allclose(got[-1].coef_, ref.coef_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("c, alpha", [(0.1, 0.1), (10.0, 0.001)])
def test_logreg_l1_for_a_continuous_target_is_lasso_with_alpha_0_01_over_c(c, alpha):
    X, _, Xt = _data()
    v = X @ np.array([1.0, 0.0, -0.4]) + np.random.default_rng(2).normal(size=len(X))
    ref = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), Lasso(alpha=alpha, max_iter=5000)),
        transformer=StandardScaler()).fit(X, v)
    got = ds.make_model("logreg_l1", "continuous", C=c).fit(X, v).predict(Xt)
    np.testing.assert_allclose(got, ref.predict(Xt), rtol=1e-9)


def test_lgbm_is_the_documented_classifier_and_regressor_one_thread_each():
    """200 trees, learning rate 0.05, 15 leaves, row/column subsampling 0.8 every tree,
    L2 1.0, min_child_samples = clip(n_train // 10, 2, 10); one thread per model (the
    callers run folds side by side; LightGBM's sums are ordered per thread)."""
    X, y, Xt = _data(n=140)
    doc = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "subsample": 0.8,
           "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0, "random_state": 3,
           "verbose": -1, "n_jobs": 1}
    for n_train, mcs in ((None, 10), (36, 3), (8, 2), (500, 10)):
        model = ds.make_model("lgbm", "binary", seed=3, n_train=n_train)
        assert isinstance(model, lgb.LGBMClassifier)
        assert model.get_params()["min_child_samples"] == mcs
        assert model.get_params()["n_jobs"] == 1
    got = ds.make_model("lgbm", "binary", seed=3, n_train=36).fit(X, y).predict_proba(Xt)[:, 1]
    want = lgb.LGBMClassifier(min_child_samples=3, **doc).fit(X, y).predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    reg = ds.make_model("lgbm", "continuous", seed=3, n_train=36)
    assert isinstance(reg, lgb.LGBMRegressor)
    np.testing.assert_allclose(reg.fit(X, X[:, 0]).predict(Xt),
                               lgb.LGBMRegressor(min_child_samples=3, **doc)
                               .fit(X, X[:, 0]).predict(Xt), rtol=1e-12)


def test_an_unknown_model_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        ds.make_model("svm", "binary")


# -- task inference -----------------------------------------------------------------------
def test_infer_task_by_hand():
    meta = pd.DataFrame({"b": [0, 1, 1, np.nan], "t": ["0", "1", "1", "?"],
                         "one": [1, 1, 1, 1], "c": [0.5, 1, 2, 3], "k": [0, 1, 2, 1]})
    assert ds.infer_task(meta, "b") == "binary"
    assert ds.infer_task(meta, "t") == "binary"       # text 0/1, unparsable left out
    assert ds.infer_task(meta, "one") == "binary"     # a subset of {0, 1}
    assert ds.infer_task(meta, "c") == "continuous"
    assert ds.infer_task(meta, "k") == "continuous"   # three classes are not binary
    assert ds.infer_task(meta, ["b"]) == "binary"     # one column in a list
    assert ds.infer_task(meta, ["c"]) == "continuous"
    assert ds.infer_task(meta, ["b", "one"]) == "multilabel"


# -- inputs -------------------------------------------------------------------------------
def test_pca_embedding_flattens_each_record_and_scores_its_principal_axes():
    rng = np.random.default_rng(4)
    beats = rng.normal(size=(20, 2, 5)) * np.array([3.0, 1.0])[None, :, None]
    flat = beats.reshape(20, 10)
    centred = flat - flat.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    want = u[:, :3] * s[:3]
    got = ds.pca_embedding(beats, 3)
    assert got.shape == (20, 3)
    np.testing.assert_allclose(np.abs(got), np.abs(want), rtol=1e-8, atol=1e-10)  # sign free
    one_d = ds.pca_embedding(flat[:, 0], 1)  # [N] → one column
    np.testing.assert_allclose(np.abs(one_d[:, 0]), np.abs(flat[:, 0] - flat[:, 0].mean()),
                               rtol=1e-10)


def test_an_input_with_the_wrong_number_of_rows_is_refused_by_name():
    meta = pd.DataFrame({"sex": ["M", "F", "M"], "age": [40, 50, 60]})
    with pytest.raises(ValueError, match=r"input 'e' has 2 rows, records table 3"):
        ds.build_inputs(meta, embeddings={"e": np.zeros((2, 4))})


# -- metrics ------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [5, 300])  # 300 > 256: past CPython's cached small ints
@pytest.mark.parametrize("label", [0.0, 1.0])
def test_one_class_only_gives_no_auroc_but_still_counts_and_scores_f1(n, label):
    y = np.full(n, label)
    s = np.linspace(0.01, 0.99, n)
    hard = (s >= 0.5).astype(float)
    row = ds.score_predictions(y, ds.OOF(s, hard), "binary", ["y"], n_boot=10)
    assert row["n"] == n and row["n_pos"] == (n if label else 0)
    for key in ("auroc", "auroc_se", "auroc_low", "auroc_high", "auroc_se_hm"):
        assert np.isnan(row[key]), key
    # macro F1 over both classes: the present class's F1, the absent one's 0 (zero_division)
    tp = float(((hard == label)).sum())
    f1_present = 2 * tp / (2 * tp + (n - tp))
    assert row["f1_macro"] == pytest.approx(f1_present / 2)


def test_continuous_scores_with_two_or_fewer_predictions_have_no_r2():
    y = np.array([1.0, 2.0, 4.0, 8.0])
    s = np.array([1.5, np.nan, 3.0, np.nan])
    row = ds.score_predictions(y, ds.OOF(s, None), "continuous", ["v"], n_boot=10)
    assert row["n"] == 2 and np.isnan(row["r2"]) and np.isnan(row["r2_low"])
    assert row["mae"] == pytest.approx((0.5 + 1.0) / 2)


# -- label fractions ----------------------------------------------------------------------
@pytest.mark.parametrize("fraction, size", [(0.05, 2), (0.075, 3), (0.1, 4)])
def test_a_continuous_fraction_needs_three_records(fraction, size):
    """One record per patient: the draw holds round(fraction · 40) records. Three or more
    are returned as the first draw; two are redrawn 20 times (every draw has two) → None."""
    meta = pd.DataFrame({"patient_id": np.arange(40)})
    train = np.arange(40)
    y = np.arange(40, dtype=float)
    first = label_fraction(meta, train, fraction, "patient_id", seed=5)
    assert len(first) == size
    got = ds._training_subset(meta, train, y, "continuous", fraction, "patient_id", 5)
    if size >= 3:
        np.testing.assert_array_equal(got, first)
    else:
        assert got is None


def test_a_label_fraction_without_a_records_table_is_refused():
    X, y, _ = _data()
    folds = [(np.arange(18), np.arange(18, 36))]
    with pytest.raises(ValueError, match="label fraction needs meta"):
        ds.oof_predict(X, y, folds, "logreg_l2", "binary", meta=None, fraction=0.5)


# -- evaluate_downstream's refusals -------------------------------------------------------
def _meta(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"patient_id": np.arange(n), "y": np.arange(n) % 2,
                         "v": rng.normal(size=n), "sex": ["M", "F"] * (n // 2),
                         "age": np.arange(n) + 30})


def test_evaluate_downstream_refuses_bad_arguments_with_their_reason():
    meta = _meta()
    emb = {"e": np.random.default_rng(1).normal(size=(24, 2))}
    with pytest.raises(ValueError, match="task must be one of"):
        ds.evaluate_downstream(meta, "y", emb, task="ordinal")
    with pytest.raises(ValueError, match="nothing to predict from"):
        ds.evaluate_downstream(meta, "y", sex_age=False)
    for rows in (np.arange(24), []):
        with pytest.raises(ValueError, match="both sides of the split"):
            ds.evaluate_downstream(meta, "y", emb, test_rows=rows, models=("logreg_l2",))


def test_compare_needs_a_binary_task():
    meta = _meta()
    emb = {"e": np.random.default_rng(1).normal(size=(24, 2))}
    res = ds.evaluate_downstream(meta, "v", emb, sex_age=False, models=("logreg_l2",), k=3,
                                 n_boot=10)
    assert res.task == "continuous"
    with pytest.raises(ValueError, match="needs a binary task"):
        res.compare(("e", "logreg_l2"), ("e", "logreg_l2"))


def test_each_fold_draws_its_label_fraction_with_its_own_seed():
    """Fold f draws its training patients with seed + 101·f (reproducible, and no two folds
    share a draw); each held-out fold is then scored by least squares on that draw."""
    n = 60
    rng = np.random.default_rng(8)
    meta = pd.DataFrame({"patient_id": np.arange(n) // 2})
    X = rng.normal(size=(n, 2))
    v = X @ np.array([1.0, -1.0]) + rng.normal(size=n)
    idx = np.arange(n)
    folds = [(idx[(idx // 2) % 3 != k], idx[(idx // 2) % 3 == k]) for k in range(3)]
    want = np.empty(n)
    draws = []
    for f, (train, test) in enumerate(folds):
        sub = label_fraction(meta, train, 0.3, "patient_id", seed=4 + 101 * f)
        draws.append(set(sub.tolist()))
        A = np.column_stack([np.ones(len(sub)), X[sub]])
        beta = np.linalg.lstsq(A, v[sub], rcond=None)[0]
        want[test] = np.column_stack([np.ones(len(test)), X[test]]) @ beta
    oof = ds.oof_predict(X, v, folds, "linear_probe", "continuous", meta=meta, seed=4,
                         fraction=0.3)
    np.testing.assert_allclose(oof.score, want, rtol=1e-9)
    # the draws differ from those with the seeds 4, 5, 4 (seed + (101 & f)): the test can tell
    other = [set(label_fraction(meta, tr, 0.3, "patient_id", seed=4 + (101 & f)).tolist())
             for f, (tr, _) in enumerate(folds)]
    assert other[1] != draws[1] and other[2] != draws[2]


# -- inputs, imputation, thresholds, multilabel, the table --------------------------------
def test_classical_feature_columns_by_hand():
    meta = pd.DataFrame({
        "qrs_ms": [90, 100], "axis_deg": ["30", "x"],      # text numbers count
        "qt_ms": [np.nan, np.nan],                         # entirely missing: left out
        "r_amp_II_uv": [900, 800], "s_amp_V1_uv": [-300, -200], "t_amp_V5_uv": [200, 250],
        "p_amp_II_uv": [80, 90], "q_amp_I_uv": [-50, -40],  # P and Q amplitudes: not classical
        "r_dur_II_uv": [1, 2], "r_amp_II_mv": [0.9, 0.8],  # no "_amp_" / not in µV
        "label": [0, 1]})
    assert ds.classical_feature_columns(meta) == ["qrs_ms", "axis_deg", "r_amp_II_uv",
                                                  "s_amp_V1_uv", "t_amp_V5_uv"]
    out = ds.build_inputs(meta, embeddings={"e": np.eye(2)}, features="classical", sex_age=False)
    np.testing.assert_array_equal(out["features"], [[90, 30, 900, -300, 200],
                                                    [100, np.nan, 800, -200, 250]])
    np.testing.assert_array_equal(out["e+features"][:, :2], np.eye(2))
    assert ds.build_inputs(meta, {"e": np.eye(2)}, "classical", hybrid=False,
                           sex_age=False).keys() == {"e", "features"}


def test_matrix_reads_frames_tensors_and_arrays_of_any_rank():
    import torch

    meta = pd.DataFrame({"a": [1, 2, 3]})
    frame = pd.DataFrame({"u": ["1.5", "?", "3"], "v": [1, 2, 3]})
    np.testing.assert_array_equal(ds._matrix(frame, meta), [[1.5, 1], [np.nan, 2], [3, 3]])
    np.testing.assert_array_equal(ds._matrix(["a"], meta), [[1], [2], [3]])
    np.testing.assert_array_equal(ds._matrix(np.array([4.0, 5.0, 6.0]), meta), [[4], [5], [6]])
    cube = np.arange(24.0).reshape(3, 2, 4)
    np.testing.assert_array_equal(ds._matrix(cube, meta), np.arange(24.0).reshape(3, 8))
    np.testing.assert_array_equal(ds._matrix(torch.arange(6.0).reshape(3, 2), meta),
                                  [[0, 1], [2, 3], [4, 5]])


def test_missing_inputs_are_median_imputed_and_empty_columns_kept():
    X, y, Xt = _data()
    X = X.copy()
    X[[0, 5, 9], 1] = np.nan
    X = np.column_stack([X, np.full(len(X), np.nan)])  # an all-missing column
    Xt = np.column_stack([Xt, np.zeros(len(Xt))])
    filled = X[:, :3].copy()
    filled[[0, 5, 9], 1] = np.nanmedian(X[:, 1])
    zt, zq = _z(filled, Xt[:, :3])
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(zt, y)
    got = ds.make_model("logreg_l2", "binary").fit(X, y)
    assert got[-1].coef_.shape == (1, 4) and got[-1].coef_[0, 3] == 0.0
    np.testing.assert_allclose(got[-1].coef_[0, :3], ref.coef_[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.predict_proba(Xt)[:, 1], ref.predict_proba(zq)[:, 1],
                               rtol=1e-4, atol=1e-6)


def test_a_probability_equal_to_the_training_prevalence_is_called_positive():
    """k-NN with every training record as a neighbour predicts the training prevalence
    itself: p ≥ π_train, so every held-out record is called positive."""
    X, y, _ = _data()
    idx = np.arange(20)
    folds = [(idx[:10], idx[10:]), (idx[10:], idx[:10])]
    yy = y[:20].astype(float)
    oof = ds.oof_predict(X[:20], yy, folds, "knn", "binary")
    for train, test in folds:
        np.testing.assert_allclose(oof.score[test], yy[train].mean())
    np.testing.assert_array_equal(oof.hard, np.ones(20))


def test_multilabel_oof_is_one_model_per_column_with_its_own_threshold():
    X, y, _ = _data()
    Y = np.column_stack([y, (X[:, 2] > 0.3).astype(int)]).astype(float)
    idx = np.arange(len(y))
    folds = [(idx[idx % 2 != k], idx[idx % 2 == k]) for k in range(2)]
    oof = ds.oof_predict(X, Y, folds, "logreg_l2", "multilabel")
    for train, test in folds:
        zt, zq = _z(X[train], X[test])
        for j in range(2):
            p = LogisticRegression(C=1.0, max_iter=2000).fit(zt, Y[train, j]).predict_proba(zq)[:, 1]
            np.testing.assert_allclose(oof.score[test, j], p, rtol=1e-4, atol=1e-6)
            np.testing.assert_array_equal(oof.hard[test, j], oof.score[test, j] >= Y[train, j].mean())
    assert oof.failed_fits == 0
    # a column with one class in a training fold cannot be learnt: NaN there, counted
    Y1 = Y.copy()
    Y1[folds[0][0], 1] = 0.0
    oof1 = ds.oof_predict(X, Y1, folds, "logreg_l2", "multilabel")
    assert oof1.failed_fits == 1
    assert np.isnan(oof1.score[folds[0][1], 1]).all() and np.isfinite(oof1.score[:, 0]).all()
    row = ds.score_predictions(Y, oof, "multilabel", ["a", "b"], n_boot=20)
    from sklearn.metrics import f1_score, roc_auc_score
    aucs = [roc_auc_score(Y[:, j], oof.score[:, j]) for j in range(2)]
    assert row["auroc"] == pytest.approx(np.mean(aucs))
    assert row["auroc_a"] == pytest.approx(aucs[0]) and row["auroc_b"] == pytest.approx(aucs[1])
    assert row["f1_macro"] == pytest.approx(f1_score(Y, oof.hard, average="macro"))


def test_tuned_c_without_two_patients_falls_back_to_c_1_and_other_models_ignore_it():
    X, y, Xt = _data()
    one_patient = np.array(["p"] * len(y), dtype=object)
    got = ds._fit_binary("logreg_l2", X, y, one_patient, 0, "cv")
    zt, zq = _z(X, Xt)
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(zt, y)
    np.testing.assert_allclose(got.predict_proba(Xt)[:, 1], ref.predict_proba(zq)[:, 1],
                               rtol=1e-4, atol=1e-6)
    knn = ds._fit_binary("knn", X, y, one_patient, 0, "cv")
    np.testing.assert_array_equal(knn.predict_proba(Xt),
                                  ds.make_model("knn", "binary", n_train=len(y)).fit(X, y)
                                  .predict_proba(Xt))


def test_evaluate_downstream_leaves_out_unlabelled_records_and_empty_columns():
    meta = _meta(30)
    meta.loc[[2, 7], "y"] = np.nan
    emb = np.random.default_rng(3).normal(size=(30, 3))
    emb[:, 1] = np.nan  # no record has this unit
    res = ds.evaluate_downstream(meta, "y", {"e": emb}, sex_age=False, models=("logreg_l2",),
                                 k=3, n_boot=10)
    np.testing.assert_array_equal(res.rows, [i for i in range(30) if i not in (2, 7)])
    np.testing.assert_array_equal(res.y, meta["y"].to_numpy()[res.rows])
    row = res.table.iloc[0]
    assert (row["input"], row["model"], row["task"], row["label"]) == ("e", "logreg_l2",
                                                                        "binary", "y")
    assert row["n_features"] == 2 and row["n"] == 28 and row["fraction"] == 1.0
    assert row["failed_fits"] == 0
    held = ds.evaluate_downstream(meta, "y", {"e": emb}, sex_age=False, models=("logreg_l2",),
                                  test_rows=[0, 1, 2, 3, 4, 5, 6], n_boot=10)
    (train, test), = held.folds
    np.testing.assert_array_equal(held.rows[test], [0, 1, 3, 4, 5, 6])  # 2 is unlabelled
    np.testing.assert_array_equal(held.rows[train], res.rows[res.rows > 6])
    assert held.table.iloc[0]["n"] == 6
