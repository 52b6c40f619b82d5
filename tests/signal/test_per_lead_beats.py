"""Per-lead delineation of every detected beat (issue 13: per lead, sensitivity ≥ 99 %), by
the rules on each lead alone (``lead_method="spatial"``; the learned default has its own tests).

The per-lead fiducials cover every R peak, not only the beats the quality filter keeps for
the median beat, and a beat near the record's start or end is delineated in a window padded
with the edge sample; in one lead, a QRS boundary is where the velocity stays quiet, not a
turn of the wave. The answers are computed here: the same constructed beat delineated away
from the edges, hand-made velocity curves, and the padding written out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import ecgcore.signal.delineate as d
from ecgcore.signal.delineate import DEFAULT_PARAMS, _Beat, _qrs
from ecgcore.signal.record_delineation import delineate_signal, padded_window

FS = 500.0


def _beat_shape(t_ms: np.ndarray) -> np.ndarray:
    """A QRS of exact support ±40 ms around R (a q, an R of 1 mV and an S) and a T wave."""
    qrs = np.where(np.abs(t_ms) < 40.0, np.cos(np.pi * t_ms / 80.0) ** 2, 0.0)
    q = np.where(np.abs(t_ms + 25.0) < 15.0, np.cos(np.pi * (t_ms + 25.0) / 30.0) ** 2, 0.0)
    return 1000.0 * qrs - 150.0 * q + 200.0 * np.exp(-0.5 * ((t_ms - 250.0) / 40.0) ** 2)


def _record(first_r_ms: float, rr_ms: float = 800.0,
            dur_s: float = 10.0) -> tuple[np.ndarray, list[int]]:
    """Two leads of identical beats, the first R ``first_r_ms`` after the record's start."""
    n = int(dur_s * FS)
    t_ms = np.arange(n) * 1000.0 / FS
    rs = np.arange(first_r_ms, dur_s * 1000.0, rr_ms)
    lead = sum(_beat_shape(t_ms - r) for r in rs)
    return np.stack([lead, -0.6 * lead]).astype(np.float32), [round(r * FS / 1000.0) for r in rs]


def test_padded_window_repeats_the_edge_samples():
    x = np.arange(20, dtype=np.float32).reshape(2, 10)
    got = padded_window(x, 2, 4, 3)
    np.testing.assert_array_equal(got, [[0, 0, 0, 1, 2, 3, 4], [10, 10, 10, 11, 12, 13, 14]])
    got = padded_window(x, 8, 2, 4)
    np.testing.assert_array_equal(got[0], [6, 7, 8, 9, 9, 9])
    np.testing.assert_array_equal(padded_window(x, 5, 2, 2), x[:, 3:7])
    with pytest.raises(ValueError, match="outside the record"):
        padded_window(x, 10, 2, 2)


def test_a_qrs_100_ms_from_the_start_is_delineated_per_lead_like_any_other():
    x, true_r = _record(first_r_ms=100.0)
    res = delineate_signal(x, FS, ("A", "B"), lead_method="spatial")
    first = int(res.lead_r[0])
    assert abs(first - true_r[0]) <= 2
    assert first not in set(res.beat_r.tolist())  # too close to the start for the median beat
    # every beat is the same, so every beat's per-lead QRS sits at the same place around R
    # as the beats in the middle of the record, the edge beat's included
    mid = len(res.lead_r) // 2
    for lead in range(2):
        want = res.per_lead[mid][lead]
        got = res.per_lead[0][lead]
        assert got is not None and want is not None
        assert (got.qrs_on - first, got.qrs_off - first) == (want.qrs_on - int(res.lead_r[mid]),
                                                              want.qrs_off - int(res.lead_r[mid]))
    # its onset is the QRS's: the first sample of the q wave's 40 ms before R, give or take
    # the threshold (a few samples inside the support)
    assert true_r[0] - 20 <= res.per_lead[0][0].qrs_on < true_r[0] - 10


def test_a_qrs_cut_by_the_record_start_gives_no_per_lead_boundary():
    x, true_r = _record(first_r_ms=20.0)  # the QRS began 20 ms before the record
    res = delineate_signal(x, FS, ("A", "B"), lead_method="spatial")
    edge = [pl for r, pl in zip(res.lead_r, res.per_lead) if abs(int(r) - true_r[0]) <= 10]
    assert all(f is None for pl in edge for f in pl)
    assert len(res.lead_r) - len(edge) == len(true_r) - 1  # every other beat is there
    assert all(f is not None for pl in res.per_lead[len(edge):] for f in pl)


def test_beats_left_out_of_the_median_beat_are_delineated_per_lead():
    x, true_r = _record(first_r_ms=1000.0)
    odd = true_r[4]
    x[:, odd - 40: odd + 40] *= -1.0  # one beat of another shape: the quality filter drops it
    res = delineate_signal(x, FS, ("A", "B"), lead_method="spatial")
    assert all(abs(int(r) - odd) > 10 for r in res.beat_r)
    assert any(abs(int(r) - odd) <= 10 for r in res.lead_r)
    out = res.to_dict()
    only = [b for b in out["lead_only_beats"] if abs(b["r"] - odd) <= 10]
    assert len(only) == 1 and set(only[0]["leads"]) == {"A", "B"}
    assert len(out["beats"]) == len(res.beat_r)
    assert len(out["beats"]) + len(out["lead_only_beats"]) == len(res.lead_r)


def _qrs_of_velocity(monkeypatch, sv: np.ndarray, r: int, quiet_ms: float) -> tuple[int, int]:
    """`_qrs` of a flat one-lead beat whose velocity is ``sv``."""
    monkeypatch.setattr(d, "_norm_derivative", lambda xf, f: sv)
    params = replace(DEFAULT_PARAMS, qrs_quiet_ms=quiet_ms)
    on, off, _ = _qrs(_Beat(x=np.zeros((1, sv.size)), fs=FS, r=r, rr=None, params=params))
    return on, off


@pytest.mark.parametrize("quiet_ms, want_on, want_off", [
    (0.0, -18, 20),    # the first sample below the thresholds: the q and S nadirs
    (8.0, -41, 20),    # 4 samples: the 3-sample dip before R is a turn, the 4-sample one not
    (10.0, -41, 40),   # 5 samples: both dips are turns; the quiet segments bound the QRS
])
def test_a_short_dip_of_one_lead_is_a_turn_of_the_wave(monkeypatch, quiet_ms, want_on, want_off):
    r, n = 250, 600
    sv = np.zeros(n)
    sv[r - 40: r - 5] = 100.0  # thresholds: onset max(1.5, 0.02 × 1000) = 20, offset 40
    sv[r - 20: r - 17] = 0.0  # the q nadir: 3 samples
    sv[r - 5: r + 6] = 1000.0  # the core
    sv[r + 6: r + 40] = 100.0
    sv[r + 20: r + 24] = 0.0  # the S nadir: 4 samples
    assert _qrs_of_velocity(monkeypatch, sv, r, quiet_ms) == (r + want_on, r + want_off)


def test_per_lead_quiet_duration_is_chosen_in_the_training_folds(monkeypatch):
    import pandas as pd

    import ecgwb.bench._delineation_cv as cv

    # record "a" (fold 0) favours 0 ms, "b" and "c" (folds 1, 2) favour 6 ms: the SDs of
    # each fold's training records decide, and each record keeps its own fold's rows
    errs = {0.0: {"a": [0.0, 0.0], "b": [-20.0, 20.0], "c": [-20.0, 20.0]},
            6.0: {"a": [-30.0, 30.0], "b": [0.0, 0.0], "c": [0.0, 2.0]}}

    def rows(ludb_dir, params_of, quiet):
        return pd.DataFrame([{"record": rec, "lead": "i", "wave": "QRS", "side": side,
                              "kind": "mark", "hit": True, "error_ms": e, "quiet": quiet}
                             for rec, es in errs[quiet].items() for e in es
                             for side in ("on", "off")])

    monkeypatch.setattr(cv, "per_lead_rows", rows)
    held, choices = cv.per_lead_cv("unused", {}, {"a": 0, "b": 1, "c": 2}, grid=(0.0, 6.0))
    # fold 0 trains on b, c: SD of (0, 0, 0, 2) = 1.0 at 6 ms, of (−20, 20, −20, 20) = 23.1 at 0 → 6
    # fold 1 trains on a, c: SD of (0, 0, −20, 20) = 16.3 at 0 ms, of (−30, 30, 0, 2) = 24.5
    # at 6 ms → 0
    # fold 2 trains on a, b: at 0 ms (0, 0, −20, 20) = 16.3; at 6 ms (−30, 30, 0, 0) = 24.5 → 0
    assert choices["lead_qrs_quiet_ms"].tolist() == [6.0, 0.0, 0.0]
    got = held.groupby("record")["quiet"].first().to_dict()
    assert got == {"a": 6.0, "b": 0.0, "c": 0.0}
