"""Embedding shift between cohorts: answers computed in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.evaluate.shift import domain_auroc, embedding_shift, frechet_distance


def test_frechet_of_a_translated_cloud_is_the_squared_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    m = np.array([1.0, -2.0, 0.5, 3.0])
    # same covariance on both sides: the trace term vanishes, |m|² remains
    assert frechet_distance(a, a + m) == pytest.approx(m @ m, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_of_scaled_isotropic_clouds():
    # Σa = I, Σb = 4 I exactly (whitened sample): trace term d·(1 + 4 − 2·2) = d
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 3))
    a = (a - a.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(a, rowvar=False))).T
    assert np.cov(a, rowvar=False) == pytest.approx(np.eye(3), abs=1e-9)
    assert frechet_distance(a, 2 * a) == pytest.approx(3.0, rel=1e-6)


def test_domain_auroc_separable_and_shapes():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 2))
    assert domain_auroc(a, a + 100.0) == 1.0
    with pytest.raises(ValueError, match="same width"):
        frechet_distance(a, a[:, :1])
    out = embedding_shift(a, a + np.array([a[:, 0].std(ddof=1), 0.0]))
    assert out["smd"] == pytest.approx([1.0, 0.0], abs=1e-12)
    assert out["max_abs_smd"] == pytest.approx(1.0)
    assert out["n_training"] == out["n_external"] == 50
