"""AUROC with DeLong variance, paired DeLong test, stratified bootstrap, macro AUROC/F1, R².

- :func:`delong_auc`: AUROC, its DeLong (1988) variance and a normal 95% CI clipped to
  [0, 1] (as pROC's ``ci.auc(method="delong")`` and Stata's ``roctab``).
- :func:`delong_test`: two scores on the same records, the DeLong test of equal AUROC,
  computed with the fast midrank algorithm of Sun & Xu (2014, IEEE SPL 21:1389).
- :func:`bootstrap_ci`: percentile CI of any metric over resampled records. Stratified by
  default: every stratum (class, or label combination for multilabel targets) is
  resampled within itself, so every resample holds every class in its original count.
- :func:`macro_auroc`: mean AUROC over label columns, CI by stratified bootstrap.
- :func:`macro_f1` and the threshold rules (:func:`prevalence_threshold`,
  :func:`youden_threshold`). The project's choice for held-out predictions is the
  *training-fold prevalence*: predict positive when p ≥ π_train. For calibrated
  probabilities that is the Bayes rule for balanced error (equivalent to 0.5 for a model
  trained on balanced classes); it needs no held-out tuning and works for every model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

Z95 = float(sps.norm.isf(0.025))


# -- DeLong -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AUCResult:
    """AUROC with DeLong standard error and a (1 − alpha) normal CI clipped to [0, 1]."""

    auc: float
    variance: float
    se: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_neg: int

    def as_dict(self) -> dict[str, float]:
        return {"auroc": self.auc, "auroc_se": self.se, "auroc_low": self.ci_low,
                "auroc_high": self.ci_high, "n_pos": self.n_pos, "n_neg": self.n_neg}


def _binary(y_true: Any) -> np.ndarray:
    y = np.asarray(y_true)
    if y.dtype == bool:
        return y
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("labels contain NaN: drop unlabelled records first")
    vals = np.unique(y[~np.isnan(y.astype(float))]) if y.dtype.kind in "fiu" else np.unique(y)
    if not set(vals.tolist()) <= {0, 1}:
        raise ValueError(f"binary labels must be 0/1 (or bool), got values {vals[:10].tolist()}")
    return y.astype(float) == 1


def fast_delong(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs ``[k]`` and their DeLong covariance ``[k, k]`` for scores ``[k, N]`` (or [N]).

    Sun & Xu (2014): with midranks T_Z over all records, T_X over positives, T_Y over
    negatives, the structural components are V10 = (T_Z − T_X)/n on positives and
    V01 = 1 − (T_Z − T_Y)/m on negatives; cov = S10/m + S01/n. Ties count one half.
    """
    pos = _binary(y_true)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != pos.size:
        raise ValueError(f"scores have {s.shape[1]} records, labels {pos.size}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    m, n = int(pos.sum()), int((~pos).sum())
    if m == 0 or n == 0:
        raise ValueError(f"AUROC needs both classes; got {m} positives and {n} negatives")
    x, y = s[:, pos], s[:, ~pos]
    tx = sps.rankdata(x, axis=1)
    ty = sps.rankdata(y, axis=1)
    tz = sps.rankdata(np.concatenate([x, y], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2.0) / n
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((s.shape[0], s.shape[0]))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((s.shape[0], s.shape[0]))
    return aucs, s10 / m + s01 / n


def delong_auc(y_true: Any, score: Any, alpha: float = 0.05) -> AUCResult:
    """AUROC of ``score`` for binary ``y_true`` with DeLong variance and CI."""
    pos = _binary(y_true)
    aucs, cov = fast_delong(pos, np.asarray(score, dtype=float)[None, :])
    auc, var = float(aucs[0]), float(max(cov[0, 0], 0.0))
    se = float(np.sqrt(var))
    z = float(sps.norm.isf(alpha / 2))
    return AUCResult(auc, var, se, max(0.0, auc - z * se), min(1.0, auc + z * se),
                     int(pos.sum()), int((~pos).sum()))


def delong_test(y_true: Any, score_a: Any, score_b: Any, alpha: float = 0.05) -> dict[str, float]:
    """Paired DeLong test of AUROC(a) = AUROC(b) on the same records.

    Returns auc_a, auc_b, diff (a − b), se of the difference, its (1 − alpha) CI, z and the
    two-sided p value.
    """
    aucs, cov = fast_delong(y_true, np.vstack([np.asarray(score_a, float),
                                                np.asarray(score_b, float)]))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se > 0:
        z = diff / se
        p = float(2 * sps.norm.sf(abs(z)))
    else:  # identical rankings: no evidence of a difference
        z, p = (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)
    zc = float(sps.norm.isf(alpha / 2))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": diff, "se": se,
            "ci_low": diff - zc * se, "ci_high": diff + zc * se, "z": float(z), "p_value": p,
            "var_a": float(cov[0, 0]), "var_b": float(cov[1, 1]), "cov_ab": float(cov[0, 1])}


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUROC by Hanley & McNeil (1982, Radiology 143:29–36), from the
    area and the two group sizes alone (exponential approximation:
    Q1 = A / (2 − A), Q2 = 2A² / (1 + A))."""
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"need positives and negatives, got {n_pos} and {n_neg}")
    a = float(auc)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def hanley_mcneil_test(auc_a: float, auc_b: float, n_pos: int, n_neg: int, r: float = 0.0
                       ) -> dict[str, float]:
    """Hanley & McNeil's comparison of two AUROCs (1983, Radiology 148:839–843, seed 001):
    z = (A1 − A2) / √(SE1² + SE2² − 2 r SE1 SE2), each SE by :func:`hanley_mcneil_se`.

    ``r``: the correlation between the two areas. Areas from the same cases are
    correlated; the 1983 paper reads r from its Table 1 (from the average of the scores'
    correlations in positives and negatives and the average area), which is not
    reproduced here: pass it, or leave 0 for areas from independent samples (the paired
    comparison of the same records is :func:`delong_test`)."""
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"r is a correlation, got {r}")
    se_a, se_b = hanley_mcneil_se(auc_a, n_pos, n_neg), hanley_mcneil_se(auc_b, n_pos, n_neg)
    se = float(np.sqrt(max(se_a ** 2 + se_b ** 2 - 2 * r * se_a * se_b, 0.0)))
    diff = float(auc_a - auc_b)
    z = diff / se if se > 0 else (0.0 if diff == 0 else float(np.sign(diff) * np.inf))
    return {"auc_a": float(auc_a), "auc_b": float(auc_b), "diff": diff, "se_a": se_a,
            "se_b": se_b, "r": float(r), "se": se, "z": float(z),
            "p_value": float(2 * sps.norm.sf(abs(z)))}


# -- bootstrap ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BootstrapCI:
    """Point estimate on all records and the percentile (1 − alpha) interval."""

    estimate: float
    low: float
    high: float
    n_boot: int
    samples: np.ndarray = field(repr=False)


def strata_of(y: Any) -> np.ndarray:
    """One stratum id per record: the class (1-D) or the label combination (2-D)."""
    arr = np.asarray(y)
    if arr.ndim == 1:
        return np.unique(arr, return_inverse=True)[1]
    return np.unique(arr, axis=0, return_inverse=True)[1].reshape(-1)


def stratified_bootstrap_indices(
    strata: Any, n_boot: int, seed: int = 0
) -> Iterator[np.ndarray]:
    """``n_boot`` index arrays, each resampling every stratum within itself (with replacement)."""
    strata = np.asarray(strata)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for _ in range(n_boot):
        yield np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: Any,
    y_pred: Any,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratify: bool | Any = True,
) -> BootstrapCI:
    """Percentile CI of ``metric(y_true, y_pred)`` over bootstrap resamples of records.

    ``stratify``: True resamples within each class of ``y_true`` (label combination when
    ``y_true`` is 2-D), so every resample contains every class; False resamples all
    records together (continuous targets); an array gives explicit strata.
    """
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(f"{yt.shape[0]} labels for {yp.shape[0]} predictions")
    if stratify is True:
        strata = strata_of(yt)
    elif stratify is False or stratify is None:
        strata = np.zeros(yt.shape[0], dtype=int)
    else:
        strata = np.asarray(stratify)
    estimate = float(metric(yt, yp))
    samples = np.array([metric(yt[idx], yp[idx])
                        for idx in stratified_bootstrap_indices(strata, n_boot, seed)], float)
    ok = samples[np.isfinite(samples)]
    if ok.size == 0:
        return BootstrapCI(estimate, float("nan"), float("nan"), n_boot, samples)
    low, high = np.quantile(ok, [alpha / 2, 1 - alpha / 2])
    return BootstrapCI(estimate, float(low), float(high), n_boot, samples)


def bootstrap_mean_ci(
    values: Any, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> BootstrapCI:
    """Percentile CI of the mean of per-record values (NaN entries are left out)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return BootstrapCI(float("nan"), float("nan"), float("nan"), n_boot, np.array([]))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (n_boot, v.size))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return BootstrapCI(float(v.mean()), float(low), float(high), n_boot, means)


# -- AUROC / F1 / R² over labels ----------------------------------------------------------
def _auc(y: np.ndarray, s: np.ndarray) -> float:
    pos = y.astype(float) == 1
    if pos.all() or not pos.any():
        return float("nan")
    return float(fast_delong(pos, s[None, :])[0][0])


def _macro_auc(y: np.ndarray, s: np.ndarray) -> float:
    if y.ndim == 1:
        return _auc(y, s)
    vals = [_auc(y[:, j], s[:, j]) for j in range(y.shape[1])]
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


def macro_auroc(
    y_true: Any,
    y_score: Any,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Macro AUROC over the columns of ``y_true`` / ``y_score`` ``[N, K]``.

    CI by bootstrap over records stratified by label combination (every resample keeps
    each label's positives and negatives). Also per label: AUROC with DeLong CI. Labels
    with a single class are left out of the macro mean (listed under ``"skipped"``).
    """
    yt = np.asarray(y_true, dtype=float)
    ys = np.asarray(y_score, dtype=float)
    if yt.ndim == 1:
        yt, ys = yt[:, None], ys[:, None]
    if yt.shape != ys.shape:
        raise ValueError(f"y_true {yt.shape} and y_score {ys.shape} differ")
    names = list(labels) if labels is not None else [f"label_{j}" for j in range(yt.shape[1])]
    per_label, keep, skipped = {}, [], []
    for j, name in enumerate(names):
        pos = yt[:, j] == 1
        if pos.all() or not pos.any():
            skipped.append(name)
            continue
        keep.append(j)
        per_label[name] = delong_auc(pos, ys[:, j], alpha).as_dict()
    if not keep:
        raise ValueError("no label has both classes: macro AUROC is undefined")
    ci = bootstrap_ci(_macro_auc, yt[:, keep], ys[:, keep], n_boot, alpha, seed, True)
    return {"macro_auroc": ci.estimate, "low": ci.low, "high": ci.high,
            "per_label": per_label, "skipped": skipped, "n_boot": n_boot}


def prevalence_threshold(y_train: Any) -> np.ndarray | float:
    """The project's threshold: the positive rate of the training labels (per column)."""
    y = np.asarray(y_train, dtype=float)
    t = np.nanmean(y, axis=0)
    return float(t) if np.ndim(t) == 0 else t


def youden_threshold(y_true: Any, y_score: Any) -> float:
    """Threshold maximising sensitivity + specificity − 1 (Youden's J) on the given data."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(_binary(y_true), np.asarray(y_score, float))
    j = int(np.argmax(tpr - fpr))
    return float(min(thr[j], np.max(y_score)))


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Macro F1 of hard predictions.

    Binary 1-D: mean of the F1 of both classes (seed 001's "macro-averaged F1").
    Multilabel ``[N, K]``: mean over labels of each label's positive-class F1.
    """
    from sklearn.metrics import f1_score

    yt, yp = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    return float(f1_score(yt, yp, average="macro", zero_division=0))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot (NaN when y is constant)."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0:
        return float("nan")
    return 1.0 - float(((y - p) ** 2).sum()) / ss_tot


def r2_ci(y_true: Any, y_pred: Any, n_boot: int = 1000, alpha: float = 0.05,
          seed: int = 0) -> BootstrapCI:
    """R² with a percentile bootstrap CI over records."""
    return bootstrap_ci(r2_score, y_true, y_pred, n_boot, alpha, seed, stratify=False)
