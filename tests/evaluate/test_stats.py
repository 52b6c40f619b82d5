"""DeLong, bootstrap, macro AUROC / F1, R² against published and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ecgcore.evaluate import stats

# Hanley & McNeil (1982), Radiology 143:29-36, Table I: ratings 1 (definitely normal) to
# 5 (definitely abnormal) of 109 CT images, 58 truly normal and 51 truly abnormal. The
# same data are Stata's hanley.dta; `roctab disease rating` in the Stata [R] roctab manual
# prints: Obs 109, ROC area 0.8932, Std. err. 0.0307, asymptotic normal 95% CI
# 0.83295 0.95339 (the DeLong standard error). Hanley & McNeil report the area as 0.893.
HM_NORMAL = [33, 6, 6, 11, 2]
HM_ABNORMAL = [3, 2, 2, 11, 33]


def hanley_data() -> tuple[np.ndarray, np.ndarray]:
    ratings = np.arange(1, 6)
    y = np.r_[np.zeros(58, int), np.ones(51, int)]
    s = np.r_[np.repeat(ratings, HM_NORMAL), np.repeat(ratings, HM_ABNORMAL)].astype(float)
    return y, s


def brute_force_delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) by the definition: placement values over all pairs."""
    pos, neg = y == 1, y == 0
    v10, v01 = [], []
    for s in scores:
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    cov = np.atleast_2d(np.cov(v10)) / pos.sum() + np.atleast_2d(np.cov(v01)) / neg.sum()
    return v10.mean(axis=1), cov


def test_delong_reproduces_the_published_hanley_mcneil_stata_values():
    y, s = hanley_data()
    res = stats.delong_auc(y, s)
    assert res.auc == pytest.approx(0.8932, abs=5e-5)
    assert round(res.auc, 3) == 0.893
    assert res.se == pytest.approx(0.0307, abs=5e-5)
    assert (res.ci_low, res.ci_high) == pytest.approx((0.83295, 0.95339), abs=1e-5)
    assert (res.n_pos, res.n_neg) == (51, 58)


def test_fast_delong_matches_the_definition_and_sklearn():
    rng = np.random.default_rng(1)
    y = (rng.random(80) < 0.35).astype(int)
    a = np.round(rng.normal(size=80) + y, 1)          # ties on purpose
    b = np.round(0.5 * a + rng.normal(size=80), 1)
    aucs, cov = stats.fast_delong(y, np.vstack([a, b]))
    ref_aucs, ref_cov = brute_force_delong(y, [a, b])
    assert aucs == pytest.approx(ref_aucs, rel=1e-12)
    assert aucs[0] == pytest.approx(roc_auc_score(y, a), rel=1e-12)
    assert cov == pytest.approx(ref_cov, rel=1e-10)


def test_paired_delong_test_against_the_definition():
    rng = np.random.default_rng(2)
    y = (rng.random(120) < 0.4).astype(int)
    a = rng.normal(size=120) + 1.2 * y
    b = 0.6 * a + rng.normal(size=120) + 0.2 * y
    t = stats.delong_test(y, a, b)
    aucs, cov = brute_force_delong(y, [a, b])
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z = (aucs[0] - aucs[1]) / se
    from scipy.stats import norm

    assert t["auc_a"] == pytest.approx(aucs[0]) and t["auc_b"] == pytest.approx(aucs[1])
    assert t["se"] == pytest.approx(se, rel=1e-10)
    assert t["z"] == pytest.approx(z, rel=1e-10)
    assert t["p_value"] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    assert (t["var_a"], t["var_b"], t["cov_ab"]) == pytest.approx(
        (cov[0, 0], cov[1, 1], cov[0, 1]), rel=1e-10)
    # Symmetric in its arguments; identical scores give no evidence of a difference.
    assert stats.delong_test(y, b, a)["p_value"] == pytest.approx(t["p_value"])
    same = stats.delong_test(y, a, a)
    assert same["diff"] == 0 and same["p_value"] == 1.0


def test_paired_test_against_a_constant_score_is_the_published_single_auc_test():
    # A constant score has AUROC 0.5 and no variance: the paired test reduces to
    # z = (A - 0.5) / SE(A) with the Stata/Hanley-McNeil values above.
    y, s = hanley_data()
    t = stats.delong_test(y, s, np.zeros_like(s))
    assert t["auc_b"] == 0.5
    assert t["se"] == pytest.approx(0.0307, abs=5e-5)
    assert t["z"] == pytest.approx((0.8932 - 0.5) / 0.0307, rel=3e-3)


def test_stratified_bootstrap_keeps_every_class_in_every_resample():
    y = np.r_[np.ones(2, int), np.zeros(48, int)]       # 2 positives in 50 records
    strata = stats.strata_of(y)
    for idx in stats.stratified_bootstrap_indices(strata, 300, seed=0):
        assert (y[idx] == 1).sum() == 2 and (y[idx] == 0).sum() == 48
    rng = np.random.default_rng(3)
    y2 = (rng.random(60) < 0.3).astype(int)
    s2 = rng.normal(size=60) + y2
    ci = stats.bootstrap_ci(roc_auc_score, y2, s2, n_boot=300, seed=0)
    assert ci.low <= ci.estimate <= ci.high
    assert ci.estimate == pytest.approx(roc_auc_score(y2, s2))
    assert np.isfinite(ci.samples).all() and ci.samples.size == 300


def test_macro_auroc_by_hand_with_bootstrap_ci():
    y = np.array([[1, 1], [1, 0], [0, 1], [0, 0]] * 5)
    score = np.column_stack([y[:, 0] * 1.0,              # label a: perfect, AUROC 1
                             np.tile([0.3, 0.3, 0.3, 0.3], 5)])  # label b: ties, AUROC 0.5
    m = stats.macro_auroc(y, score, labels=["a", "b"], n_boot=200, seed=0)
    assert m["macro_auroc"] == pytest.approx(0.75)
    assert m["low"] <= 0.75 <= m["high"]
    assert m["per_label"]["a"]["auroc"] == 1.0 and m["per_label"]["b"]["auroc"] == 0.5
    # A label with one class is left out of the mean, and says so.
    y3 = np.column_stack([y[:, 0], np.zeros(len(y))])
    m3 = stats.macro_auroc(y3, score, labels=["a", "c"], n_boot=50)
    assert m3["skipped"] == ["c"] and m3["macro_auroc"] == 1.0


def test_macro_f1_thresholds_and_r2_by_hand():
    # Binary: F1(positive) = 2/3, F1(negative) = 0.8 -> macro 0.7333.
    assert stats.macro_f1([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx((2 / 3 + 0.8) / 2)
    # Multilabel: mean over labels of positive-class F1: (1 + 2/3) / 2.
    y = np.array([[1, 0], [0, 1], [1, 1]])
    p = np.array([[1, 0], [0, 0], [1, 1]])
    assert stats.macro_f1(y, p) == pytest.approx(5 / 6)
    assert stats.prevalence_threshold([0, 1, 1, 1]) == 0.75
    assert stats.youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.35, 0.8]) == pytest.approx(0.35)
    assert stats.r2_score([1, 2, 3, 4], [1, 2, 3, 5]) == pytest.approx(0.8)
    ci = stats.r2_ci(np.arange(30.0), np.arange(30.0) + np.sin(np.arange(30)), n_boot=200)
    assert ci.low <= ci.estimate <= ci.high


def test_bootstrap_mean_ci_ignores_missing_records():
    ci = stats.bootstrap_mean_ci([1.0, 2.0, np.nan, 3.0], n_boot=200)
    ref = stats.bootstrap_mean_ci([1.0, 2.0, 3.0], n_boot=200)  # the same draws without the NaN
    assert (ci.estimate, ci.low, ci.high) == (2.0, ref.low, ref.high)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="both classes"):
        stats.delong_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        stats.delong_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        stats.delong_auc(np.array([0.0, 1.0, np.nan]), [0.1, 0.2, 0.3])


def test_bootstrap_ci_is_the_percentile_interval_of_its_own_resamples():
    """By the definition: resample each class with replacement (numpy's generator, seed
    0, classes in sorted order), score every resample, take the 2.5/97.5 % quantiles."""
    rng = np.random.default_rng(4)
    y = (rng.random(70) < 0.3).astype(int)
    s = rng.normal(size=70) + y
    ci = stats.bootstrap_ci(roc_auc_score, y, s, n_boot=200, seed=0)
    gen = np.random.default_rng(0)
    groups = [np.flatnonzero(y == c) for c in (0, 1)]
    ref = []
    for _ in range(200):
        idx = np.concatenate([g[gen.integers(0, g.size, g.size)] for g in groups])
        ref.append(roc_auc_score(y[idx], s[idx]))
    np.testing.assert_allclose(ci.samples, ref, rtol=1e-12)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(ref, [0.025, 0.975])), rel=1e-12)
    assert ci.estimate == pytest.approx(roc_auc_score(y, s), rel=1e-12)


def test_bootstrap_mean_ci_matches_the_normal_interval_of_a_large_sample():
    # For 2,000 draws the percentile bootstrap of the mean and mean ± 1.96 s/√n agree to
    # Monte-Carlo error (2,000 resamples: ~3% of the half-width), hence the tolerance.
    v = np.random.default_rng(5).normal(10.0, 2.0, 2000)
    ci = stats.bootstrap_mean_ci(v, n_boot=2000, seed=1)
    half = 1.959964 * v.std(ddof=1) / np.sqrt(v.size)
    assert ci.estimate == pytest.approx(v.mean(), rel=1e-12)
    assert ci.low == pytest.approx(v.mean() - half, abs=0.08 * half)
    assert ci.high == pytest.approx(v.mean() + half, abs=0.08 * half)


def test_macro_auroc_interval_and_r2_agree_with_scikit_learn():
    from sklearn.metrics import r2_score as sk_r2

    rng = np.random.default_rng(6)
    y = (rng.random((90, 3)) < 0.4).astype(int)
    s = rng.normal(size=(90, 3)) + y
    m = stats.macro_auroc(y, s, labels=["a", "b", "c"], n_boot=150, seed=0)
    per = [roc_auc_score(y[:, j], s[:, j]) for j in range(3)]
    assert m["macro_auroc"] == pytest.approx(np.mean(per), rel=1e-12)
    assert [m["per_label"][k]["auroc"] for k in "abc"] == pytest.approx(per, rel=1e-12)
    ref = stats.bootstrap_ci(lambda a, b: np.mean([roc_auc_score(a[:, j], b[:, j]) for j in range(3)]),
                             y, s, n_boot=150, seed=0)
    assert (m["low"], m["high"]) == pytest.approx((ref.low, ref.high), rel=1e-12)
    t = rng.normal(size=50)
    p = t + rng.normal(0, 0.5, 50)
    assert stats.r2_score(t, p) == pytest.approx(sk_r2(t, p), rel=1e-12)
    assert stats.r2_ci(t, p, n_boot=100).estimate == pytest.approx(sk_r2(t, p), rel=1e-12)


def test_text_labels_are_refused_as_not_binary():
    with pytest.raises(ValueError, match="0/1"):
        stats.delong_auc(np.array(["yes", "no", "yes"]), [0.1, 0.2, 0.3])


def test_paired_test_without_variance_but_with_a_difference_is_certain():
    # a separates the classes perfectly (AUROC 1, no variance), b is constant (AUROC 0.5,
    # no variance): the difference 0.5 has standard error 0, so z = +inf and p = 0
    y = np.array([0, 0, 0, 1, 1, 1])
    t = stats.delong_test(y, y * 1.0, np.zeros(6))
    assert (t["auc_a"], t["auc_b"], t["diff"], t["se"]) == (1.0, 0.5, 0.5, 0.0)
    assert t["z"] == np.inf and t["p_value"] == 0.0
    flipped = stats.delong_test(y, np.zeros(6), y * 1.0)
    assert flipped["z"] == -np.inf and flipped["p_value"] == 0.0


def test_paired_test_interval_and_shape_errors():
    rng = np.random.default_rng(7)
    y = (rng.random(60) < 0.5).astype(int)
    a, b = rng.normal(size=60) + y, rng.normal(size=60) + 0.5 * y
    t = stats.delong_test(y, a, b)
    half = 1.959964 * t["se"]  # a 95% interval: the normal quantile, not a bootstrap
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((t["diff"] - half, t["diff"] + half), rel=1e-6)
    with pytest.raises(ValueError):
        stats.fast_delong(y[:50], np.vstack([a, b]))  # more scores than labels
    with pytest.raises(ValueError, match="3 labels for 4 predictions"):
        stats.bootstrap_ci(roc_auc_score, [0, 1, 1], np.zeros((4, 2)), n_boot=5)


def test_r2_of_a_constant_target_is_undefined():
    assert np.isnan(stats.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))


def test_bootstrap_mean_ci_is_the_percentile_interval_of_its_resamples():
    v = np.random.default_rng(8).normal(size=40)
    ci = stats.bootstrap_mean_ci(v, n_boot=300, seed=2)
    means = v[np.random.default_rng(2).integers(0, 40, (300, 40))].mean(axis=1)
    np.testing.assert_allclose(ci.samples, means, rtol=1e-12)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), rel=1e-12)


def test_one_positive_record_by_the_definition():
    # one positive: its placement value has no spread, so only the negatives' term counts
    y = np.array([0, 0, 0, 0, 1])
    s = np.array([0.1, 0.5, 0.3, 0.9, 0.6])
    aucs, cov = stats.fast_delong(y, s[None, :])
    psi = (s[4] > s[:4]) + 0.5 * (s[4] == s[:4])
    assert aucs[0] == pytest.approx(psi.mean()) == 0.75
    assert cov[0, 0] == pytest.approx(np.var(psi, ddof=1) / 4)


def test_a_metric_undefined_on_every_resample_gives_no_interval():
    ci = stats.bootstrap_ci(lambda a, b: float("nan"), [0, 1, 0, 1], [0.2, 0.4, 0.1, 0.9], n_boot=20)
    assert np.isnan(ci.low) and np.isnan(ci.high) and ci.samples.size == 20


def test_hanley_mcneil_se_is_the_spread_of_the_area_under_its_model():
    """Hanley & McNeil's (1982) Q1 = A/(2−A), Q2 = 2A²/(1+A) are exact when both groups'
    scores are exponential: the SE must equal the spread of the empirical AUROC over many
    such samples (4000 draws: Monte-Carlo error of the SD ≈ 1.1 %)."""
    from scipy.stats import rankdata

    from ecgcore.evaluate.stats import hanley_mcneil_se

    n_pos, n_neg, a = 51, 58, 0.8
    rng = np.random.default_rng(0)
    neg = rng.exponential(1.0, size=(4000, n_neg))
    pos = rng.exponential(a / (1 - a), size=(4000, n_pos))  # P(pos > neg) = a
    ranks = rankdata(np.hstack([pos, neg]), axis=1)
    aucs = (ranks[:, :n_pos].sum(1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert aucs.mean() == pytest.approx(a, abs=0.003)
    assert hanley_mcneil_se(a, n_pos, n_neg) == pytest.approx(aucs.std(ddof=1), rel=0.04)
    # the formula by hand at the 1982 paper's example size (51 abnormal, 58 normal)
    q1, q2 = 0.893 / 1.107, 2 * 0.893 ** 2 / 1.893
    want = ((0.893 * 0.107 + 50 * (q1 - 0.893 ** 2) + 57 * (q2 - 0.893 ** 2)) / (51 * 58)) ** 0.5
    assert hanley_mcneil_se(0.893, 51, 58) == pytest.approx(want, rel=1e-12)


def test_hanley_mcneil_test_by_hand():
    from scipy.stats import norm

    from ecgcore.evaluate.stats import hanley_mcneil_se, hanley_mcneil_test

    se1, se2 = hanley_mcneil_se(0.90, 40, 60), hanley_mcneil_se(0.80, 40, 60)
    out = hanley_mcneil_test(0.90, 0.80, 40, 60, r=0.5)
    se = (se1 ** 2 + se2 ** 2 - 2 * 0.5 * se1 * se2) ** 0.5
    assert out["se"] == pytest.approx(se, rel=1e-12)
    assert out["z"] == pytest.approx(0.10 / se, rel=1e-12)
    assert out["p_value"] == pytest.approx(2 * norm.sf(0.10 / se), rel=1e-9)
    # a positive correlation between the areas shrinks the SE of their difference
    assert hanley_mcneil_test(0.90, 0.80, 40, 60)["se"] > out["se"]
    with pytest.raises(ValueError, match="correlation"):
        hanley_mcneil_test(0.9, 0.8, 40, 60, r=1.5)
