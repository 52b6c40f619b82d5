"""A factor annotation in words (ecgcore.explain.wording)."""

from __future__ import annotations

import math

import pandas as pd

from ecgcore.explain.wording import change_words, lost_waves, signed, unit_words


def test_signed_never_writes_minus_zero():
    assert signed(-0.001) == "0.00" and signed(-0.4) == "−0.40" and signed(0.478) == "0.48"
    assert signed(-0.2, 0) == "0" and signed(math.nan) == "—"


def test_change_words():
    assert change_words("s_amp_V2", -300.0, -900.0) == "deeper S in V2"
    assert change_words("s_amp_V2", -900.0, -300.0) == "shallower S in V2"
    assert change_words("t_amp_II", 300.0, 100.0) == "smaller T in II"
    assert change_words("r_amp_V5", 800.0, 1500.0) == "taller R in V5"
    assert change_words("qrs_ms", 90.0, 110.0) == "longer QRS"
    assert change_words("st_V2", 10.0, -40.0) == "lower ST in V2"


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "measurement": ["s_amp_V1", "s_amp_V2", "t_amp_II", "qrs_ms", "pr_ms"],
        "at_minus": [-300.0, -400.0, 300.0, 90.0, math.nan],
        "at_plus": [-900.0, -1000.0, 150.0, 92.0, math.nan],
        "change_sd": [2.0, 2.5, -1.0, 0.1, math.nan],
        "monotonic": [True, True, True, False, False],
        "cohort_rho": [-0.3, -0.48, 0.2, 0.05, math.nan]})


def test_unit_words_merges_leads_and_names_the_cohort_correlation():
    text = unit_words(4, _rows())
    assert text == ("z4: towards +3σ, deeper S in V1–V2, smaller T in II; "
                    "ρ −0.48 with S amplitude in V2 over the cohort")


def test_a_lost_wave_is_named_with_the_end_it_is_lost_at():
    notes = lost_waves(_rows(), pd.Series({"pr_ms": 160.0, "qrs_ms": 91.0}))
    tail = " — the decoded beat has no such wave there (the delineator found none)"
    assert notes == [f"PR interval: not measurable at −3σ{tail}",
                     f"PR interval: not measurable at +3σ{tail}"]
