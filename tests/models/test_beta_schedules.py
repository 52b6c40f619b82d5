import math

import numpy as np
import pytest
from pydantic import TypeAdapter

from ecgcore.models import AnnealedBeta, ConstantBeta, CyclicalBeta
from ecgcore.models.schedules import ScheduleSpec


def fu_frange_cycle_linear(n_iter, start=0.0, stop=1.0, n_cycle=4, ratio=0.5):
    """The reference code published with Fu et al. (2019)."""
    values = np.ones(n_iter) * stop
    period = n_iter / n_cycle
    step = (stop - start) / (period * ratio)
    for c in range(n_cycle):
        v, i = start, 0
        while v <= stop and (int(i + c * period) < n_iter):
            values[int(i + c * period)] = v
            v += step
            i += 1
    return values


def test_constant():
    s = ConstantBeta(value=3.0)
    assert s(0) == s(17) == s(10_000) == 3.0


@pytest.mark.parametrize(
    "t, expected",
    [
        (0, 0.0),
        (5, 2.0),
        (12, 4.8),
        (13, 5.0),
        (24, 5.0),
        (25, 0.0),
        (30, 2.0),
        (75, 0.0),
        (99, 5.0),
        (100, 5.0),
        (1000, 5.0),
    ],
)
def test_cyclical_definition(t, expected):
    # length 100, 4 cycles → period 25; ramp over ratio 0.5 of it: beta = 5 * (t mod 25) / 12.5
    s = CyclicalBeta(length=100, n_cycles=4, max_beta=5.0, ratio=0.5)
    assert s(t) == pytest.approx(expected)


def test_cyclical_matches_fu_reference_code():
    s = CyclicalBeta(length=100, n_cycles=4, max_beta=5.0, ratio=0.5)
    ref = fu_frange_cycle_linear(100, 0.0, 5.0, n_cycle=4, ratio=0.5)
    np.testing.assert_allclose([s(t) for t in range(100)], ref, atol=1e-9)


def test_cyclical_non_integer_period():
    s = CyclicalBeta(length=10, n_cycles=3, max_beta=1.0, ratio=0.5)  # period 10/3, ceil 4
    assert s(0) == 0.0
    assert s(3) == pytest.approx(1.0)  # tau = 0.9 > ratio
    assert s(4) == 0.0
    assert s(5) == pytest.approx(0.6)  # tau = 0.3 → 0.3 / 0.5


@pytest.mark.parametrize(
    "t, expected", [(0, 10.0), (25, 7.5), (50, 5.0), (99, 0.1), (100, 0.0), (500, 0.0)]
)
def test_annealed_linear(t, expected):
    assert AnnealedBeta(start=10.0, end=0.0, length=100)(t) == pytest.approx(expected)


@pytest.mark.parametrize("t", [0, 10, 25, 50, 80, 100, 130])
def test_annealed_cosine(t):
    s = AnnealedBeta(start=10.0, end=0.0, length=100, shape="cosine")
    frac = min(t, 100) / 100
    assert s(t) == pytest.approx(10.0 * (1 + math.cos(math.pi * frac)) / 2)


def test_annealed_upwards():
    assert AnnealedBeta(start=0.0, end=4.0, length=8)(2) == pytest.approx(1.0)


def test_unit_selects_the_counter():
    by_step = AnnealedBeta(start=10.0, end=0.0, length=100, unit="step")
    by_epoch = AnnealedBeta(start=10.0, end=0.0, length=100, unit="epoch")
    assert by_step.at(step=50, epoch=1) == pytest.approx(5.0)
    assert by_epoch.at(step=50, epoch=1) == pytest.approx(9.9)


def test_negative_position_refused():
    with pytest.raises(ValueError):
        CyclicalBeta()(-1)
    with pytest.raises(ValueError):
        AnnealedBeta()(-1)


def test_schedules_round_trip_through_json():
    adapter = TypeAdapter(ScheduleSpec)
    for s in (
        ConstantBeta(value=2.0),
        CyclicalBeta(n_cycles=2),
        AnnealedBeta(shape="cosine", unit="step"),
    ):
        again = adapter.validate_python(s.model_dump(mode="json"))
        assert again == s and type(again) is type(s)
