"""How far one cohort's embeddings sit from another's (external validation).

- :func:`frechet_distance`: the Fréchet (2-Wasserstein) distance between Gaussians fitted to
  the two sets of latent means, ``|μa − μb|² + Tr(Σa + Σb − 2 (Σa Σb)^½)``, in squared
  latent units (as FID is for images). It grows with the latent scale: compare it between
  cohorts of one run, not between runs.
- :func:`domain_auroc`: how well a cross-validated L2 logistic regression tells the two
  cohorts apart from the latents alone — 0.5: indistinguishable, 1.0: disjoint. Scale-free,
  so it compares across runs.
- :func:`embedding_shift`: both, with the per-unit standardised mean difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def frechet_distance(a: Any, b: Any) -> float:
    """Fréchet distance between Gaussians fitted to ``a`` ``[n, d]`` and ``b`` ``[m, d]``
    (sample means and covariances, ``ddof=1``)."""
    from scipy import linalg

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two [n, d] arrays of the same width, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two rows on each side for a covariance")
    ca = np.atleast_2d(np.cov(a, rowvar=False))
    cb = np.atleast_2d(np.cov(b, rowvar=False))
    root = linalg.sqrtm(ca @ cb)
    root = np.real(root)  # sqrtm of a product of PSD matrices: tiny imaginary round-off
    diff = a.mean(0) - b.mean(0)
    return float(max(diff @ diff + np.trace(ca) + np.trace(cb) - 2.0 * np.trace(root), 0.0))


def domain_auroc(a: Any, b: Any, k: int = 5, seed: int = 0) -> float:
    """Out-of-fold AUROC of telling rows of ``b`` (1) from rows of ``a`` (0): stratified
    ``k``-fold, standardised features, L2 logistic regression (C = 1)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ecgcore.evaluate.stats import _auc

    X = np.vstack([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    k = min(k, len(a), len(b))
    if k < 2:
        raise ValueError("need at least two rows on each side")
    score = np.empty(len(y))
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        score[test] = model.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    return float(_auc(y, score))


def embedding_shift(reference: Any, other: Any, seed: int = 0) -> dict[str, Any]:
    """``frechet``, ``domain_auroc``, ``smd`` (per unit: (mean other − mean reference) / SD
    of the reference) and ``max_abs_smd`` of ``other`` against ``reference``."""
    ref, oth = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    sd = ref.std(axis=0, ddof=1)
    smd = (oth.mean(0) - ref.mean(0)) / np.where(sd > 0, sd, np.nan)
    return {"n_training": len(ref), "n_external": len(oth),
            "frechet": frechet_distance(ref, oth), "domain_auroc": domain_auroc(ref, oth, seed=seed),
            "smd": [float(v) for v in smd],
            "max_abs_smd": float(np.nanmax(np.abs(smd))) if np.isfinite(smd).any() else float("nan")}
