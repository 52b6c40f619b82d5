"""T end on constructed beats: on the T wave, not on a U wave, a slow tail or the next P.

Each answer is computed here independently of :mod:`ecgcore.signal.delineate`: the T end
of the same beat without the distracting wave, or Zhang's area end by its definition.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecgcore.signal.delineate import (
    DEFAULT_PARAMS,
    T_AMBIGUOUS_MS,
    T_AREA_WINDOW_MS,
    _lowpass,
    _qrs,
    _t_peak,
    _t_wave,
    _validate,
    ecg_delineate,
)

FS, N, R = 500.0, 1000, 300
T_ = np.arange(N, dtype=np.float64)


def _g(centre: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((T_ - centre) / sigma) ** 2)


QRS = 1000.0 * _g(R, 6) - 300.0 * _g(R + 12, 6)


def _two_leads(wave: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Two Holter-like leads: the wave upright in one, inverted in the other."""
    extra = np.zeros(N) if extra is None else extra
    return np.stack([QRS + 300.0 * wave + extra, QRS - 200.0 * wave + 0.5 * extra])


def _area_end(x: np.ndarray, tp: int, sign: float, stop: int, w: int, span: int,
              gap: int) -> int:
    """Zhang's end by its definition: the t maximising sign·Σ_{t−w<s≤t}(x[s] − x[t])."""
    best, best_t = -np.inf, -1
    for t in range(tp + gap, min(stop, tp + span)):
        lo = max(t - w, 0)
        area = sign * float(np.sum(x[lo + 1 : t + 1] - x[t]))
        if area > best:
            best, best_t = area, t
    return best_t


def test_t_followed_by_a_u_wave_ends_on_the_t():
    t_wave = _g(R + 150, 22)
    u_wave = 0.3 * _g(R + 150 + 80, 20)  # a U wave 160 ms after the T peak, 30 % of it
    alone = ecg_delineate(_two_leads(t_wave), FS, R, rr_ms=1000.0)
    with_u = ecg_delineate(_two_leads(t_wave + u_wave), FS, R, rr_ms=1000.0)
    assert with_u.t_peak == alone.t_peak == R + 150
    # on the T wave: where the T alone ends (the U's leading edge moves it by a few ms),
    # and before the U wave's up-stroke (its centre − σ)
    assert abs(with_u.t_off - alone.t_off) <= 5
    assert with_u.t_off < R + 150 + 80 - 20


def test_gaussian_t_with_the_next_p_close_ends_before_the_p():
    rr = 410  # samples (820 ms): the next P wave starts ~ 20 ms after the T wave has ended
    t_wave = _g(R + 200, 30)
    p_here = 150.0 * _g(R - 80, 12)
    p_next = 150.0 * _g(R - 80 + rr, 12)
    alone = ecg_delineate(_two_leads(t_wave, p_here), FS, R, rr_ms=rr * 2.0)
    assert alone.p_on is not None
    for rr_ms in (rr * 2.0, None):  # with the RR known, and found from the P's likeness
        fid = ecg_delineate(_two_leads(t_wave, p_here + p_next), FS, R, rr_ms=rr_ms)
        assert fid.t_off == alone.t_off
        assert fid.t_off < R - 80 + rr - 2.5 * 12  # before the next P's onset


def test_a_large_u_wave_close_behind_does_not_carry_the_end():
    # A U wave 80 % of the T, 150 ms after its peak (hypokalaemia): each lead's end is
    # searched at most t_span_ms after its T peak, so the end stays on the T wave.
    t_wave = _g(R + 150, 20)
    x = _two_leads(t_wave + 0.8 * _g(R + 150 + 75, 18))
    xf = _lowpass(x, FS, 25.0)
    alone = ecg_delineate(_two_leads(t_wave), FS, R, rr_ms=1000.0)
    got = {}
    for span_ms in (DEFAULT_PARAMS.t_span_ms, 250.0):
        beat = _validate(x, FS, R, 1000.0, params=replace(DEFAULT_PARAMS, t_span_ms=span_ms))
        on, off, _ = _qrs(beat)
        t_peak, t_off = _t_wave(beat, on, off)
        assert t_peak == R + 150
        # Zhang's end by definition from each lead's peak (largest |x − PR level| within
        # 80 ms of the T peak), within the span; the 90th percentile of the two leads
        end_stop = on + round(0.7 * FS)  # 0.7 √RR s after QRS onset, RR = 1 s
        base = np.median(xf[:, on - 10 : on - 2], axis=1)
        a, b = max(off + 20, t_peak - 40), t_peak + 41
        peaks = a + np.argmax(np.abs(xf[:, a:b] - base[:, None]), axis=1)
        ends = [_area_end(xf[i], int(peaks[i]), s, end_stop, round(T_AREA_WINDOW_MS / 2),
                          round(span_ms / 2), 10) for i, s in ((0, 1.0), (1, -1.0))]
        assert t_off == round(float(np.percentile(ends, 90))), span_ms
        got[span_ms] = t_off
    # on the T wave: past its peak + 1.5σ, no later than the T alone ends
    assert R + 150 + 30 <= got[DEFAULT_PARAMS.t_span_ms] <= alone.t_off
    assert got[250.0] > R + 150 + 75  # the old 250 ms span: past the U wave's peak


def test_t_peak_is_the_t_wave_not_the_depressed_st_segment():
    # ST depressed 150 µV below the PR level, then a T wave rising 100 µV out of it: the
    # ST segment is the larger excursion from the PR level, the T wave the prominent one.
    st = -150.0 * np.clip((T_ - (R + 20)) / 10.0, 0, 1) * np.clip((R + 330 - T_) / 60.0, 0, 1)
    x = np.stack([QRS + st + 100.0 * _g(R + 160, 22), 0.6 * QRS + 0.8 * st + 60.0 * _g(R + 160, 22)])
    fid = ecg_delineate(x, FS, R, rr_ms=1000.0)
    assert abs(fid.t_peak - (R + 160)) <= 2
    assert fid.t_off > R + 160


def test_t_peak_prefers_prominence_and_falls_back_to_the_largest_magnitude():
    i = np.arange(200, dtype=np.float64)
    # a shallow trough at 40 (−80, but only 10 below the −70 where the search starts)
    # rising to zero, then a bump of 50 at 100: the bump is the wave
    pc = np.interp(i, [10, 40, 80, 200], [-70.0, -80.0, 0.0, 0.0])
    pc += 50.0 * np.exp(-0.5 * ((i - 100) / 10.0) ** 2)
    assert _t_peak(pc, 10, 150, 200) == 100
    assert _t_peak(-pc, 10, 150, 200) == 100  # either polarity
    # the bump must peak before peak_stop; the prominence is measured up to end_stop
    assert _t_peak(pc, 10, 90, 200) == 40
    ramp = np.linspace(0.0, 5.0, 200)  # monotonic: no extremum inside
    assert _t_peak(ramp, 10, 150, 200) == 149


def test_a_t_end_that_hangs_on_the_lead_peak_is_flagged_ambiguous():
    # One lead, ST depressed 150 µV and a T wave rising 100 µV out of it: the lead's largest
    # excursion from the PR level is the ST level, its most prominent extremum the T wave.
    # The two peaks give ends more than 30 ms apart: the QT is flagged, not changed.
    st = -150.0 * np.clip((T_ - (R + 20)) / 10.0, 0, 1) * np.clip((R + 330 - T_) / 60.0, 0, 1)
    x = np.stack([QRS + st + 100.0 * _g(R + 160, 22)])
    fid = ecg_delineate(x, FS, R, rr_ms=1000.0)
    beat = _validate(x, FS, R, 1000.0)
    on, off, _ = _qrs(beat)
    assert (fid.t_peak, fid.t_off) == _t_wave(beat, on, off)  # the reported end is unchanged
    # the alternative end, by Zhang's definition from the T wave's apex (a maximum)
    xf = _lowpass(x, FS, 25.0)
    alt = _area_end(xf[0], R + 160, 1.0, on + round(0.7 * FS), round(T_AREA_WINDOW_MS / 2),
                    round(DEFAULT_PARAMS.t_span_ms / 2), 10)
    assert abs(alt - (R + 160 + 2.5 * 22)) <= 10  # where the T wave itself ends
    assert abs(alt - fid.t_off) > T_AMBIGUOUS_MS / 2  # samples at 500 Hz
    assert fid.t_ambiguous
    # a T wave that is its lead's largest excursion and most prominent extremum: no flag
    for x in (_two_leads(_g(R + 150, 22)), _two_leads(_g(R + 150, 20) + 0.3 * _g(R + 230, 20))):
        assert not ecg_delineate(x, FS, R, rr_ms=1000.0).t_ambiguous
