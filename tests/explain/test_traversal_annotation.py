"""Factor traversals against their definition and factor annotation on the real demo beats,
with PCA (closed form) fitted on the demo cache's median beats in µV."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.explain._model_io import encode_means
from ecgcore.explain.annotation import annotate_factors, describe_measurement, measure_beats
from ecgcore.explain.traversal import factor_traversal, traversal_latents


def test_traversal_matches_the_definition_with_pca(demo_pca, demo_medians):
    z = encode_means(demo_pca, demo_medians)
    mu, sd = z.mean(axis=0), z.std(axis=0)
    unit = 2
    values, latents = traversal_latents(z, unit, n_steps=7, span=3.0)
    others = np.delete(np.arange(z.shape[1]), unit)
    assert np.array_equal(latents[:, others], np.repeat(mu[None, others], 7, axis=0))
    assert values[0] == pytest.approx(mu[unit] - 3 * sd[unit])
    assert values[-1] == pytest.approx(mu[unit] + 3 * sd[unit])
    assert values[3] == pytest.approx(mu[unit]) and np.allclose(np.diff(values), sd[unit])
    assert np.array_equal(latents[:, unit], values)

    vals, decoded = factor_traversal(demo_pca, z, unit)
    assert np.array_equal(vals, values) and decoded.shape == (7, 12, 400)
    # PCA decodes in closed form: x̂ = z · components + mean.
    comps = demo_pca.components_.numpy().astype(np.float64)
    mean = demo_pca.mean_.numpy().astype(np.float64)
    expected = (latents @ comps + mean).reshape(7, 12, 400)
    assert np.allclose(decoded, expected, atol=1e-2)  # µV; float32 decoding
    # The middle step is the decoded cohort mean code.
    assert np.allclose(decoded[3], (mu @ comps + mean).reshape(12, 400), atol=1e-2)


def test_traversal_works_for_a_neural_model():
    from ecgcore.models import create_model

    vae = create_model("vae", latent_dim=4).eval()
    z = np.random.default_rng(0).normal(size=(20, 4))
    values, decoded = factor_traversal(vae, z, 1, n_steps=5, span=2.0)
    # by the definition: unit 1 from mean − 2 SD to mean + 2 SD, the others at their means,
    # each step decoded by the network itself
    mu, sd = z.mean(axis=0), z.std(axis=0)
    np.testing.assert_allclose(values, mu[1] + sd[1] * np.linspace(-2, 2, 5), rtol=1e-12)
    steps = np.repeat(mu[None], 5, axis=0)
    steps[:, 1] = values
    with torch.no_grad():
        expected = vae.decode(torch.as_tensor(steps, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(decoded, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(decoded[0], decoded[-1])  # the unit changes the beat
    with pytest.raises(IndexError):
        traversal_latents(z, 4)


def test_factor_annotation_names_a_monotonic_measurement(demo_pca, demo_medians, demo_cache):
    ann = annotate_factors(demo_pca, demo_medians, fs=demo_cache.fs, r_index=200,
                           units=[0, 1, 2], cohort_measurements=demo_cache.records)
    t = ann.table
    assert set(t["unit"]) == {0, 1, 2}
    mono = t[t["monotonic"]]
    assert len(mono) > 0
    for _, row in mono.iterrows():  # monotonic: never reverses, changes overall
        steps = ann.traversals[row["unit"]][row["measurement"]].to_numpy()
        d = np.diff(steps)
        assert (d >= 0).all() or (d <= 0).all()
        assert abs(row["rho_steps"]) > 0.5
    # At least one sentence names a monotonic measurement with its change and cohort ρ.
    named = []
    for u, text in ann.sentences.items():
        assert text.startswith(f"z{u}: +3σ → ")
        for _, row in mono[mono["unit"] == u].iterrows():
            short = describe_measurement(row["measurement"])[0]
            if f"→ {short} " in text and "ρ = " in text and "not monotonic" not in text:
                named.append(text)
    assert named, ann.sentences
    # The cohort correlation matrix covers every unit and measurement; the records table
    # lacks ST levels, so they were measured on the cohort's beats.
    assert ann.cohort_correlation.shape == (3, t["measurement"].nunique())
    assert np.isfinite(ann.cohort_correlation["st_V2_uv"]).all()
    assert np.isfinite(ann.cohort_correlation["qrs_ms"]).all()


def test_measure_beats_units_and_failures(demo_medians, demo_cache):
    m = measure_beats(demo_medians[:3], demo_cache.fs, 200)
    rec = demo_cache.records.iloc[:3]
    # the same delineation and features as the cache's own measurement
    assert np.allclose(m["qrs_ms"], rec["qrs_ms"], equal_nan=True)
    assert np.allclose(m["r_amp_II_uv"], rec["r_amp_II_uv"], rtol=1e-4, equal_nan=True)
    flat = measure_beats(np.zeros((1, 12, 400)), 500.0, 200)
    assert flat.isna().all(axis=None)  # delineation fails: NaN, no exception
