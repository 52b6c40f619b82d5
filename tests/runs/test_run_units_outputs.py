"""The Latent view's raw axes (two latent units, widest first) and the Saliency view's
predictor output (a head's predicted probability, a unit's latent mean), on a tiny
cnn_baseline run trained on real demo records; and a class average keyed by a user's
column name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.explain.projection import unit_spread, units_by_spread
from ecgcore.runs import Run, RunError
from ecgcore.runs import saliency as rs
from ecgcore.runs.evaluation import head_probabilities


@pytest.fixture(scope="module")
def art(cnn_run) -> Run:
    return Run(cnn_run)


def test_unit_spread_orders_the_widest_units_first():
    rng = np.random.default_rng(0)
    means = rng.standard_normal((500, 4)) * np.array([0.1, 3.0, 0.0, 1.0]) + 5.0
    sd = unit_spread(means)
    np.testing.assert_allclose(sd, means.std(axis=0, ddof=1))
    assert sd[2] == 0.0  # a dead unit
    assert units_by_spread(means) == [1, 3, 0, 2]
    tied = np.column_stack([means[:, 1], means[:, 1], means[:, 3]])
    assert units_by_spread(tied) == [0, 1, 2]  # a tie keeps the lower index first
    with pytest.raises(ValueError, match="NaN"):
        unit_spread(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"\[N >= 2, L\]"):
        unit_spread(np.zeros((1, 3)))


def test_run_unit_axes_are_the_raw_latent_means(art):
    means = art.embedding[art.latent_columns].to_numpy(dtype=np.float64)
    order = art.units_by_spread()
    assert sorted(u for u, _ in order) == list(range(art.latent_dim))
    sds = [sd for _, sd in order]
    assert sds == sorted(sds, reverse=True)
    np.testing.assert_allclose(sds, means.std(axis=0, ddof=1)[[u for u, _ in order]])
    a, b = order[0][0], order[1][0]
    xy = art.unit_axes(a, b)
    assert xy.shape == (art.n_records, 2) and xy.dtype == np.float32
    np.testing.assert_allclose(xy, means[:, [a, b]], rtol=1e-6)
    with pytest.raises(RunError, match=f"no z{art.latent_dim}"):
        art.unit_axes(0, art.latent_dim)


def test_predictor_output_is_the_heads_probability(art):
    task = list(art.preprocessing.task)
    rows = np.array([0, 3, 11])
    expected = head_probabilities(art, task, rows)  # the evaluation's batched path
    assert expected is not None and expected.shape == (3, len(task))
    records = art.cache.records.reset_index(drop=True)
    for j, name in enumerate(task):
        head = rs.predictor_by_key(art, f"head{j}")
        for i, row in enumerate(rows):
            out = rs.predictor_output(art, head, row)
            assert out.probability == pytest.approx(expected[i, j], abs=1e-5)
            assert out.probability == pytest.approx(1 / (1 + np.exp(-out.value)), rel=1e-9)
            assert out.recorded == float(records[name].iloc[row])
    assert rs.predictor_output(art, rs.predictor_by_key(art, "head0"), 0).name.endswith("(NORM)")

    unit = rs.predictor_by_key(art, "unit2")
    out = rs.predictor_output(art, unit, 3)
    assert out.probability is None and out.name == "z2"
    assert out.value == pytest.approx(art.embedding["z2"].iloc[3], abs=1e-5)
    with pytest.raises(RunError, match="no record at row"):
        rs.predictor_output(art, unit, art.n_records)


def test_a_class_average_by_a_users_column_name(art):
    """An attached column's name may hold any character; its cache file name does not."""
    head = rs.predictor_by_key(art, "head0")
    age = art.cache.records["age"].reset_index(drop=True)
    labels = pd.Series(np.where(age < 60, "yes", "no"), dtype=object).where(age.notna())
    key = "age < 60 / years"
    assert not rs.has_class_saliency(art, head, "saliency", key, max_records=6)
    result = rs.class_saliency(art, head, "saliency", labels, key, max_records=6)
    assert result.maps.shape[0] == 6 and set(result.classes) <= {"yes", "no"}
    assert rs.has_class_saliency(art, head, "saliency", key, max_records=6)
    (npz,) = (art.folder / "saliency").glob("head0-saliency-class-*-n6-s0.npz")
    assert npz.name == "head0-saliency-class-age_60_years-n6-s0.npz"


def test_task_units_are_a_split_task_models_prediction_units(art):
    """A split-task VAE's head reads its first 2 of 10 units (seed 001, Fig. 3 plots them);
    a model whose head reads every unit, or that has none, has no task units."""
    from ecgcore.models import create_model

    assert art.task_units() == []  # cnn_baseline: its heads read the signal, not units
    prep = art.preprocessing
    for family, expected in (("split_task_vae", [0, 1]), ("task_vae", [])):
        other = Run(art.path)
        model = create_model(family, input_shape=(len(art.leads), art.window))
        other.__dict__["_loaded"] = (model, prep)  # the run's files, another family's model
        assert other.latent_dim == 10 and other.task_units() == expected
