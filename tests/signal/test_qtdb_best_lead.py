"""The QTDB bench's oracle row: per mark, the Holter lead alone that errs less."""

from __future__ import annotations

import pandas as pd
import pytest

from ecgwb.bench._qtdb import FIDUCIALS, LONE_LEADS, best_lead_table


def _beat(method: str, beat: int, t_off: float | None, qrs_on: float, matched: bool = True) -> dict:
    row = {"record": "sel1", "method": method, "beat": beat, "matched": matched}
    for k in FIDUCIALS:
        row[k] = None
        row[f"has_{k}"] = k in ("t_off", "qrs_on")
    row["t_off"], row["qrs_on"] = t_off, qrs_on
    return row


def test_the_smaller_error_of_the_two_leads_with_its_sign():
    one, two = LONE_LEADS
    per_beat = pd.DataFrame([
        _beat(one, 0, -40.0, 8.0), _beat(two, 0, 12.0, -4.0),   # lead 2 better for both
        _beat(one, 1, -6.0, 2.0), _beat(two, 1, 30.0, -10.0),   # lead 1 better for both
        _beat(one, 2, None, 6.0), _beat(two, 2, -20.0, 6.0),    # lead 1 found no T end
        _beat("spatial", 0, 100.0, 100.0),                      # other methods are not paired
        _beat(one, 3, 1.0, 1.0, matched=False),                 # an unmatched beat is left out
    ])
    t = best_lead_table(per_beat).set_index("fiducial")
    assert t.loc["t_off", "n"] == 3 and t.loc["qrs_on", "n"] == 3
    assert t.loc["t_off", "mean_ms"] == pytest.approx((12.0 - 6.0 - 20.0) / 3, abs=0.05)
    assert t.loc["qrs_on", "mean_ms"] == pytest.approx((-4.0 + 2.0 + 6.0) / 3, abs=0.05)
    assert t.loc["p_on", "n_marked"] == 0 and t.loc["p_on", "n"] == 0
    assert (t["method"] == "spatial, better lead alone (oracle)").all()


def test_no_lone_lead_rows_no_table():
    assert best_lead_table(pd.DataFrame([_beat("spatial", 0, 1.0, 1.0)])).empty
