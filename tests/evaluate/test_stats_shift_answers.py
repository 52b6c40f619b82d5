"""Answers of ecgcore/evaluate's stats, shift and reconstruction modules written out
independently (issue 19, seed-2 draw): the Hanley & McNeil formulas below A = 0.5 and at
zero SE, the Fréchet distance's clamp at 0, every shape refusal with its message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import linalg
from scipy.stats import norm

from ecgcore.evaluate import shift, stats
from ecgcore.evaluate.reconstruction import reconstruction_metrics


# -- Hanley & McNeil ----------------------------------------------------------------------
def _hm_se(a: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) eq. 2 with Q1 = A/(2−A), Q2 = 2A²/(1+A)."""
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return ((a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a))
            / (n_pos * n_neg)) ** 0.5


@pytest.mark.parametrize("a", [0.05, 0.3, 0.5, 0.62, 0.97])
def test_hanley_mcneil_se_by_the_formula_on_both_sides_of_one_half(a):
    assert stats.hanley_mcneil_se(a, 12, 30) == pytest.approx(_hm_se(a, 12, 30), rel=1e-12)


def test_hanley_mcneil_se_at_a_perfect_or_reversed_area_is_zero_and_needs_both_groups():
    assert stats.hanley_mcneil_se(1.0, 10, 20) == 0.0
    assert stats.hanley_mcneil_se(0.0, 10, 20) == 0.0
    for n_pos, n_neg in ((0, 5), (5, 0)):
        with pytest.raises(ValueError, match="need positives and negatives"):
            stats.hanley_mcneil_se(0.7, n_pos, n_neg)


def test_hanley_mcneil_test_without_any_spread():
    """Both SEs zero: equal areas are no evidence of a difference (z 0, p 1); different
    areas are certain (z ±∞, p 0)."""
    same = stats.hanley_mcneil_test(1.0, 1.0, 10, 20)
    assert same["se"] == 0.0 and same["z"] == 0.0 and same["p_value"] == 1.0
    up = stats.hanley_mcneil_test(1.0, 0.0, 10, 20)
    assert up["diff"] == 1.0 and up["z"] == np.inf and up["p_value"] == 0.0
    down = stats.hanley_mcneil_test(0.0, 1.0, 10, 20)
    assert down["z"] == -np.inf and down["p_value"] == 0.0
    # r = 1 and equal SEs also leave no spread of the difference
    tied = stats.hanley_mcneil_test(0.8, 0.8, 10, 20, r=1.0)
    assert tied["se"] == 0.0 and tied["z"] == 0.0 and tied["p_value"] == 1.0


def test_hanley_mcneil_test_below_one_half_by_hand():
    se1, se2 = _hm_se(0.3, 15, 25), _hm_se(0.45, 15, 25)
    out = stats.hanley_mcneil_test(0.3, 0.45, 15, 25)
    se = (se1 ** 2 + se2 ** 2) ** 0.5
    assert out["se_a"] == pytest.approx(se1, rel=1e-12)
    assert out["z"] == pytest.approx(-0.15 / se, rel=1e-12)
    assert out["p_value"] == pytest.approx(2 * norm.sf(0.15 / se), rel=1e-9)


def test_auc_helper_gives_nan_for_one_class_and_the_rank_area_otherwise():
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.1, 0.4, 0.5, 0.2])
    # pairs (pos, neg): 0.9 beats all 3; 0.4 beats 0.1, 0.2 → 5 of 6
    assert stats._auc(y, s) == pytest.approx(5 / 6)
    assert np.isnan(stats._auc(np.ones(5), s)) and np.isnan(stats._auc(np.zeros(5), s))


# -- Fréchet distance ---------------------------------------------------------------------
def test_frechet_of_a_cloud_with_itself_is_clamped_at_exactly_zero():
    """The formula is ≥ 0 in exact arithmetic; in floating point Tr(2Σ − 2(ΣΣ)^½) of a
    cloud against itself can come out a few ulps below 0. Find such a cloud (written-out
    formula), then the distance must still be exactly 0."""
    for seed in range(200):
        a = np.random.default_rng(seed).normal(size=(6, 3))
        ca = np.cov(a, rowvar=False)
        raw = 2 * np.trace(ca) - 2 * np.trace(np.real(linalg.sqrtm(ca @ ca)))
        if raw < 0:
            break
    else:
        pytest.fail("no cloud rounds below zero: the clamp cannot be judged here")
    assert shift.frechet_distance(a, a.copy()) == 0.0


@pytest.mark.parametrize("a_shape, b_shape", [
    ((5,), (5, 2)),        # a 1-D
    ((5, 2), (5,)),        # b 1-D
    ((5, 2, 1), (5, 2)),   # a 3-D
    ((5, 2), (5, 2, 1)),   # b 3-D
    ((5, 2), (5, 3)),      # a narrower
    ((5, 3), (5, 2)),      # a wider
])
def test_frechet_refuses_anything_but_two_matrices_of_one_width(a_shape, b_shape):
    with pytest.raises(ValueError, match=r"need two \[n, d\] arrays of the same width"):
        shift.frechet_distance(np.ones(a_shape), np.ones(b_shape))


def test_frechet_needs_two_rows_each_side():
    for a, b in ((np.ones((1, 2)), np.ones((4, 2))), (np.ones((4, 2)), np.ones((1, 2)))):
        with pytest.raises(ValueError, match="at least two rows on each side"):
            shift.frechet_distance(a, b)


# -- reconstruction -----------------------------------------------------------------------
@pytest.mark.parametrize("names", [["I"], ["I", "II", "III"]])
def test_reconstruction_refuses_more_or_fewer_lead_names_than_leads(names):
    fid = np.array([[5, 4, 6, 1, 2, 10, 11]] * 3, dtype=float)
    x = np.zeros((3, 2, 12))
    with pytest.raises(ValueError, match=f"{len(names)} lead names for 2 leads"):
        reconstruction_metrics(x, x, fid, 500, names)


# -- domain AUROC and the shift summary ---------------------------------------------------
def _domain_auroc_by_hand(a: np.ndarray, b: np.ndarray, k: int, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    X, y = np.vstack([a, b]), np.r_[np.zeros(len(a)), np.ones(len(b))]
    score = np.empty(len(y))
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y):
        mu, sd = X[tr].mean(0), X[tr].std(0)
        m = LogisticRegression(C=1.0, max_iter=2000).fit((X[tr] - mu) / sd, y[tr])
        score[te] = m.predict_proba((X[te] - mu) / sd)[:, 1]
    return roc_auc_score(y, score)


def test_domain_auroc_is_stratified_k_fold_logistic_regression_out_of_fold():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + [0.6, 0.0]
    for k, seed in ((5, 0), (3, 4)):
        assert shift.domain_auroc(a, b, k=k, seed=seed) == pytest.approx(
            _domain_auroc_by_hand(a, b, k, seed), abs=1e-6)
    # k is capped by the smaller side: 3 rows of b → 3 folds
    assert shift.domain_auroc(a, b[:3], k=5, seed=1) == pytest.approx(
        _domain_auroc_by_hand(a, b[:3], 3, 1), abs=1e-6)
    with pytest.raises(ValueError, match="at least two rows on each side"):
        shift.domain_auroc(a, b[:1])


def test_embedding_shift_by_hand_with_a_constant_unit():
    rng = np.random.default_rng(6)
    ref = np.column_stack([rng.normal(size=20), np.full(20, 2.0), rng.normal(size=20)])
    oth = np.column_stack([rng.normal(size=15) - 1.0, np.full(15, 3.0), rng.normal(size=15)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # the constant unit's covariance
        out = shift.embedding_shift(ref, oth, seed=2)
    sd = ref.std(axis=0, ddof=1)
    want = [(oth[:, j].mean() - ref[:, j].mean()) / sd[j] for j in (0, 2)]
    assert out["smd"][0] == pytest.approx(want[0]) and out["smd"][2] == pytest.approx(want[1])
    assert np.isnan(out["smd"][1])  # a constant reference unit has no SD to scale by
    assert out["max_abs_smd"] == pytest.approx(max(abs(w) for w in want))
    assert (out["n_training"], out["n_external"]) == (20, 15)
    assert out["domain_auroc"] == pytest.approx(_domain_auroc_by_hand(ref, oth, 5, 2), abs=1e-6)
    # the Fréchet term written out, on the units with spread (a constant one is singular)
    keep = [0, 2]
    out2 = shift.embedding_shift(ref[:, keep], oth[:, keep], seed=2)
    ca, cb = np.cov(ref[:, keep], rowvar=False), np.cov(oth[:, keep], rowvar=False)
    d = ref[:, keep].mean(0) - oth[:, keep].mean(0)
    fd = d @ d + np.trace(ca + cb) - 2 * np.trace(np.real(linalg.sqrtm(ca @ cb)))
    assert out2["frechet"] == pytest.approx(fd, rel=1e-9)
    flat = np.ones((5, 2)), np.ones((4, 2)) * [1.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no spread anywhere: sqrtm of a zero matrix
        assert np.isnan(shift.embedding_shift(*flat)["max_abs_smd"])


# -- DeLong, thresholds, F1, macro AUROC: edges and refusals ------------------------------
def test_delong_interval_at_another_alpha_and_the_paired_interval():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1, 0, 1])
    s = np.array([.9, .8, .3, .2, .5, .1, .4, .7, .6, .35])
    res = stats.delong_auc(y, s, alpha=0.10)
    z = norm.isf(0.05)
    assert res.ci_low == pytest.approx(res.auc - z * res.se)
    assert res.ci_high == pytest.approx(min(1.0, res.auc + z * res.se))
    assert res.variance == pytest.approx(res.se ** 2) and (res.n_pos, res.n_neg) == (5, 5)
    t = stats.delong_test(y, s, s[::-1], alpha=0.2)
    zc = norm.isf(0.1)
    assert t["ci_low"] == pytest.approx(t["diff"] - zc * t["se"])
    assert t["ci_high"] == pytest.approx(t["diff"] + zc * t["se"])
    assert t["se"] == pytest.approx(np.sqrt(t["var_a"] + t["var_b"] - 2 * t["cov_ab"]))


def test_fast_delong_refusals_and_a_single_positive_or_negative():
    y = np.array([1, 0, 0, 0])
    with pytest.raises(ValueError, match="scores have 3 records, labels 4"):
        stats.fast_delong(y, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN or inf"):
        stats.fast_delong(y, [0.1, np.inf, 0.3, 0.4])
    with pytest.raises(ValueError, match="got 0 positives and 4 negatives"):
        stats.fast_delong(np.zeros(4), [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="NaN"):
        stats.fast_delong(np.array([1.0, np.nan, 0.0]), [0.1, 0.2, 0.3])
    # one positive above 2 of 3 negatives: AUC 2/3; its variance is the negatives' part only
    aucs, cov = stats.fast_delong(y, [0.5, 0.2, 0.7, 0.1])
    assert aucs[0] == pytest.approx(2 / 3)
    v01 = np.array([1.0, 0.0, 1.0])  # per negative: share of positives above it
    assert cov[0, 0] == pytest.approx(np.var(v01, ddof=1) / 3)
    # bool labels are read as they are
    assert stats.fast_delong(y == 1, [0.5, 0.2, 0.7, 0.1])[0][0] == pytest.approx(2 / 3)


def test_youden_threshold_never_exceeds_the_highest_score():
    # reversed scores: no cut beats "call nobody positive" (J = 0 at roc_curve's +inf)
    assert stats.youden_threshold([1, 1, 0, 0], [0.1, 0.2, 0.35, 0.8]) == 0.8
    assert stats.youden_threshold([0, 1, 0, 1, 1], [0.1, 0.6, 0.5, 0.9, 0.7]) == 0.6


def test_macro_f1_of_several_labels_is_the_mean_positive_class_f1():
    yt = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    yp = np.array([[1, 1], [0, 1], [0, 1], [1, 0]])
    f1_a = 2 * 1 / (2 * 1 + 1 + 1)   # tp 1, fp 1, fn 1
    f1_b = 2 * 2 / (2 * 2 + 1 + 0)   # tp 2, fp 1, fn 0
    assert stats.macro_f1(yt, yp) == pytest.approx((f1_a + f1_b) / 2)


def test_prevalence_threshold_leaves_out_missing_labels():
    assert stats.prevalence_threshold([1, 0, np.nan, 1]) == pytest.approx(2 / 3)


def test_macro_auroc_refusals_and_default_names():
    with pytest.raises(ValueError, match=r"y_true \(4, 2\) and y_score \(4, 1\) differ"):
        stats.macro_auroc(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="no label has both classes"):
        stats.macro_auroc(np.array([[1, 0], [1, 0]]), np.array([[.1, .2], [.3, .4]]))
    out = stats.macro_auroc([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.2], n_boot=20)
    assert list(out["per_label"]) == ["label_0"] and out["skipped"] == []
    assert out["macro_auroc"] == pytest.approx(0.75) and out["n_boot"] == 20


def test_r2_by_hand():
    y, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.5, 4.5])
    assert stats.r2_score(y, p) == pytest.approx(1 - (0.25 + 0 + 0.25 + 0.25) / 5.0)
    ci = stats.r2_ci(y, p, n_boot=30, seed=1)
    assert ci.estimate == pytest.approx(0.85) and ci.samples.size == 30
