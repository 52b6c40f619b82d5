"""Delineation answers for the P-wave steps, the beats refusal and the driver (issue 19).

Every expected value is computed here, independently of :mod:`ecgcore.signal.delineate`:
the P rule of the module docstring written out with loops (scipy/numpy primitives only for
the filters, the moving average and the morphological closing), the next-P template match
and the locking ratio recomputed beat by beat, and hand shapes for the refusals. The QRS
boundary tests replace the spatial velocity with a hand-made curve. The beats
are constructed (three leads, a Gaussian QRS, T and a bifid P wave), so each runs in
milliseconds; the file is one of the judges of ``ecgwb bench mutation --target delineation``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal as sps
from scipy.ndimage import grey_closing, uniform_filter1d

import ecgcore.signal.delineate as d
from ecgcore.signal.delineate import (
    DEFAULT_PARAMS,
    SpatialParams,
    _Beat,
    _next_p,
    _p_wave,
    _qrs,
    _t_peak,
    _t_wave,
    _validate,
    ecg_delineate,
    p_locking,
)

FS, W, R = 500.0, 600, 250
PROJ = np.array([[1.0, 0.6, -0.4], [0.3, 1.0, 0.8], [0.7, -0.5, 0.9]])


def _gauss(n: int, fs: float, r: int, centre_ms: float, sd_ms: float) -> np.ndarray:
    t_ms = (np.arange(n) - r) / fs * 1000.0
    return np.exp(-0.5 * ((t_ms - centre_ms) / sd_ms) ** 2)


def _beat(fs: float = FS, n: int = W, r: int = R, p_uv: float = 80.0, shift_ms: float = 0.0,
          sep_ms: float = 70.0) -> np.ndarray:
    """QRS (1 mV), T (250 µV) and a bifid P (two humps of ``p_uv``, the first 330 ms
    before R, moved by ``shift_ms``), projected on three leads."""
    p = p_uv * (_gauss(n, fs, r, -330.0 + shift_ms, 12.0)
                + _gauss(n, fs, r, -330.0 + shift_ms + sep_ms, 12.0))
    return (np.outer(PROJ[:, 0], 1000.0 * _gauss(n, fs, r, 0.0, 10.0))
            + np.outer(PROJ[:, 1], 250.0 * _gauss(n, fs, r, 250.0, 50.0))
            + np.outer(PROJ[:, 2], p))


def _lp20(x: np.ndarray, fs: float) -> np.ndarray:
    return sps.sosfiltfilt(sps.butter(2, min(20.0, 0.45 * fs) / (fs / 2), output="sos"), x,
                           axis=-1, padlen=min(x.shape[-1] - 1, 30))


# ------------------------------------------------------------------------------ _p_wave


def _ref_p(x: np.ndarray, fs: float, qrs_on: int, prev_t_off: int | None,
           p: SpatialParams, p_max_ms: float = 200.0):
    """The P rule written out: (onset, offset, isolation, core_off) or None."""
    n = x.shape[1]

    def ms(v):
        return round(v * fs / 1000.0)

    def clip(i):
        return min(max(int(i), 0), n)

    lo = clip(qrs_on - ms(400))
    if prev_t_off is not None:
        lo = max(lo, clip(prev_t_off + ms(p.p_after_t_ms)))
    hi = clip(qrs_on - ms(20))
    win = max(ms(100), 3)
    if hi - lo < win + ms(40):
        return None
    xf = _lp20(x, fs)
    v = np.sqrt(((np.gradient(xf, axis=1) * fs / 1000.0) ** 2).sum(axis=0))
    s = v[lo:hi]
    centre = int(np.argmax(uniform_filter1d(s, win, mode="nearest")))
    floor = float(np.percentile(s, 10))
    a, b = max(0, centre - win // 2), min(len(s), centre + win // 2 + 1)
    peak = max(range(a, b), key=lambda i: (s[i], -i))  # the first largest
    height = s[peak] - floor
    if height <= 0:
        return None
    strong = [i for i in range(a, b) if s[i] >= floor + 0.5 * height]
    size = ms(p.p_bridge_ms)
    closed = grey_closing(s, size=size, mode="nearest") if size > 1 else s

    def onset(frac):
        i = strong[0]
        while i >= 0 and not closed[i] < floor + frac * height:
            i -= 1
        return max(i, 0)

    def offset(frac):
        i = strong[-1]
        while i < len(s) and not closed[i] < floor + frac * height:
            i += 1
        return min(i, len(s) - 1)

    core_on, core_off = onset(0.1), offset(0.1)
    margin = ms(10)
    rest = [s[i] for i in range(len(s)) if i < core_on - margin or i > core_off + margin]
    if len(rest) < 3 or core_off - core_on < ms(30):
        return None
    inside = [s[i] for i in range(core_on, core_off + 1)]
    isolation = float(np.mean(inside)) / max(float(np.percentile(rest, 90)), 1e-9)
    on, off = onset(p.p_on), offset(p.p_off)
    if isolation < p.p_isolation or off - on > ms(p_max_ms):
        return None
    return lo + on, lo + off, isolation, lo + core_off


def _p_of(x, params=DEFAULT_PARAMS, prev_t_off=None, fs=FS, r=R):
    beat = _validate(x, fs, r, None, params)
    qrs_on = _qrs(beat)[0]
    return _p_wave(beat, qrs_on, prev_t_off), _ref_p(x, fs, qrs_on, prev_t_off, params)


@pytest.mark.parametrize("params", [
    DEFAULT_PARAMS,
    SpatialParams(p_bridge_ms=0.0),  # no closing: the notch splits the wave
    SpatialParams(p_bridge_ms=4.0),  # a closing of two samples
    SpatialParams(p_on=0.6, p_off=0.7, p_bridge_ms=0.0),  # edges above half the height
    SpatialParams(p_on=0.3, p_off=0.05),
])
@pytest.mark.parametrize("shift_ms", [0.0, 2.0, 50.0])
def test_p_wave_follows_its_rule(params, shift_ms):
    got, want = _p_of(_beat(shift_ms=shift_ms), params)
    assert want is not None
    assert got == want[:2]


def test_p_edges_above_half_the_height_start_on_the_strong_sample():
    # With p_on above 0.5 the first strong sample (≥ half the height) may itself lie under
    # the onset threshold: the onset is then that very sample, not one before it.
    params = SpatialParams(p_on=0.6, p_off=0.6, p_bridge_ms=0.0)
    x = _beat()
    got, want = _p_of(x, params)
    beat = _validate(x, FS, R, None, params)
    qrs_on = _qrs(beat)[0]
    lo = qrs_on - 200
    v = np.sqrt(((np.gradient(_lp20(x, FS), axis=1) * FS / 1000.0) ** 2).sum(axis=0))[lo:
                                                                                        qrs_on - 10]
    floor = np.percentile(v, 10)
    height = v.max() - floor
    first_strong = next(i for i in range(v.size) if v[i] >= floor + 0.5 * height)
    assert v[first_strong] < floor + 0.6 * height  # the case this test is about
    assert got == want[:2] and got[0] == lo + first_strong


@pytest.mark.parametrize("prev_t_off, after_ms", [(None, 40.0), (0, 40.0), (30, 40.0),
                                                  (45, 0.0), (60, -20.0), (60, 40.0),
                                                  (75, 40.0)])
def test_p_search_starts_after_the_previous_t(prev_t_off, after_ms):
    params = SpatialParams(p_after_t_ms=after_ms)
    got, want = _p_of(_beat(), params, prev_t_off)
    assert got == ((None, None) if want is None else want[:2])


def test_p_search_too_short_after_the_previous_t_is_no_p():
    x = _beat(shift_ms=240.0, sep_ms=0.0)  # one P hump 90 ms before R
    beat = _validate(x, FS, R, None)
    qrs_on = _qrs(beat)[0]
    hi = qrs_on - 10  # 20 ms before QRS onset
    # the segment needs a 100 ms window plus 40 ms: 70 samples from lo = prev + 40 ms to hi
    ok_prev, short_prev = hi - 70 - 20, hi - 69 - 20
    assert _ref_p(x, FS, qrs_on, short_prev, DEFAULT_PARAMS) is None
    assert _p_wave(beat, qrs_on, short_prev) == (None, None)
    want = _ref_p(x, FS, qrs_on, ok_prev, DEFAULT_PARAMS)
    assert want is not None and _p_wave(beat, qrs_on, ok_prev) == want[:2]


@pytest.mark.parametrize("shift_ms", [0.0, 2.0])
def test_isolation_threshold_is_inclusive(shift_ms):
    x = _beat(shift_ms=shift_ms)
    _, want = _p_of(x)
    iso = want[2]
    at = SpatialParams(p_isolation=iso)
    above = SpatialParams(p_isolation=float(np.nextafter(iso, np.inf)) * (1 + 1e-12))
    assert _p_of(x, at)[0] == want[:2]
    assert _p_of(x, above)[0] == (None, None)


def test_core_mean_includes_its_last_sample_at_odd_and_even_ends():
    parities = set()
    for shift_ms in (0.0, 2.0, 4.0, 6.0):
        x = _beat(shift_ms=shift_ms)
        _, want = _p_of(x)
        parities.add(want[3] % 2)
        iso = want[2]
        above = SpatialParams(p_isolation=iso * (1 + 1e-9))
        assert _p_of(x, above)[0] == (None, None), shift_ms
    assert parities == {0, 1}


def test_p_longer_than_the_bound_is_refused(monkeypatch):
    x = _beat()
    got, want = _p_of(x)
    duration_ms = (want[1] - want[0]) * 1000.0 / FS
    monkeypatch.setattr(d, "P_MAX_MS", duration_ms)  # exactly the bound: kept
    assert _p_of(x)[0] == got
    monkeypatch.setattr(d, "P_MAX_MS", duration_ms - 2.0)  # one sample short: refused
    assert _p_of(x)[0] == (None, None)
    # the shipped bound, 200 ms: humps 120 ms apart bridged over 60 ms make a P of 192 ms
    # (kept), bridged over 200 ms one of 272 ms (refused)
    monkeypatch.setattr(d, "P_MAX_MS", 200.0)
    x = _beat(sep_ms=120.0, shift_ms=40.0)
    qrs_on = _qrs(_validate(x, FS, R, None))[0]
    for bridge_ms, kept in ((60.0, True), (200.0, False)):
        params = SpatialParams(p_bridge_ms=bridge_ms)
        free = _ref_p(x, FS, qrs_on, None, params, p_max_ms=1e9)
        assert ((free[1] - free[0]) * 2 <= 200) == kept
        got, want = _p_of(x, params)
        assert got == (free[:2] if kept else (None, None)) and (want is not None) == kept


def test_a_flat_diastole_has_no_p():
    # no P wave at all: the velocity before the QRS has no bump standing out
    x = _beat(p_uv=0.0)
    got, want = _p_of(x)
    assert got == ((None, None) if want is None else want[:2])


# ------------------------------------------------------------------------------- _next_p


def _ref_next_p(x: np.ndarray, fs: float, p_on: int, p_off: int, start: int) -> int | None:
    xf = _lp20(x, fs)
    tmpl = xf[:, p_on : p_off + 1]
    tmpl = tmpl - tmpl.mean(axis=1, keepdims=True)
    m = tmpl.shape[1]
    nt = float(np.sqrt(np.sum(tmpl * tmpl)))
    if start + m > x.shape[1] or nt == 0:
        return None
    best, best_c = None, -np.inf
    for k in range(start, x.shape[1] - m + 1):
        w = xf[:, k : k + m]
        w = w - w.mean(axis=1, keepdims=True)
        nw = float(np.sqrt(np.sum(w * w)))
        c = float(np.sum(w * tmpl)) / max(nw * nt, 1e-12)
        ratio = nw / nt
        if c >= 0.8 and 0.5 < ratio < 2.0 and c > best_c + 1e-12:
            best, best_c = k, c
    return best


def _p_train(copies: list[tuple[int, float]], n: int = 1000) -> tuple[np.ndarray, int, int]:
    """A P wave (20 ms Gaussian on three leads) at 100..160 and scaled copies elsewhere."""
    t = np.arange(n, dtype=np.float64)
    x = np.zeros((3, n))
    for centre, scale in [(130, 1.0), *copies]:
        x += scale * np.outer([80.0, -40.0, 60.0], np.exp(-0.5 * ((t - centre) / 10.0) ** 2))
    return x, 100, 160


@pytest.mark.parametrize("scale, found", [(1.0, True), (1.5, True), (0.7, True),
                                          (3.0, False), (0.3, False)])
def test_next_p_matches_a_copy_within_a_factor_of_two(scale, found):
    x, on, off = _p_train([(700, scale)])
    beat = _Beat(x=x, fs=FS, r=300, rr=None)
    got = _next_p(beat, on, off, 400)
    assert got == _ref_next_p(x, FS, on, off, 400)
    assert (got == 670) if found else got is None  # the copy's window starts 30 before


def test_next_p_takes_the_best_correlated_copy_and_bounds():
    rng = np.random.default_rng(0)
    x, on, off = _p_train([(600, 1.2), (800, 1.0)])
    x[:, 560:640] += rng.normal(0, 8.0, (3, 80))  # the first copy is noisier
    beat = _Beat(x=x, fs=FS, r=300, rr=None)
    assert _next_p(beat, on, off, 400) == _ref_next_p(x, FS, on, off, 400) == 770
    m = off - on + 1
    assert _next_p(beat, on, off, 1000 - m + 1) is None  # no room for one window
    last = _next_p(beat, on, off, 1000 - m)  # exactly one window: nothing there
    assert last == _ref_next_p(x, FS, on, off, 1000 - m) is None
    # a flat template matches nothing
    assert _next_p(_Beat(x=np.zeros((3, 1000)), fs=FS, r=300, rr=None), on, off, 400) is None


def test_next_p_refuses_an_inverted_copy():
    x, on, off = _p_train([(700, -1.0)])
    assert _next_p(_Beat(x=x, fs=FS, r=300, rr=None), on, off, 400) is None


# ----------------------------------------------------------------------------- p_locking


def _ref_locking(beats: np.ndarray, fs: float, a: int, b: int) -> float:
    pad = round(fs / 20.0)
    lo, hi = max(0, a - pad), min(beats.shape[-1], b + pad)
    if beats.shape[0] < 3 or b - a < 3 or hi - lo < 6:
        return float("nan")
    segs = []
    for beat in beats:
        f = _lp20(beat[:, lo:hi], fs)[:, a - lo : b - lo]
        segs.append(f - f.mean(axis=1, keepdims=True))
    segs = np.array(segs)
    med = np.median(segs, axis=0)
    ratios = []
    for lead in range(segs.shape[1]):
        resid = np.mean([np.sum((sg[lead] - med[lead]) ** 2) for sg in segs])
        ratios.append(np.sum(med[lead] ** 2) / max(resid, 1e-12))
    return float(np.mean(ratios))


def _noisy_beats(n=8, seed=0, fs=FS, width=W, r=R):
    rng = np.random.default_rng(seed)
    return np.stack([_beat(fs=fs, n=width, r=r) + rng.normal(0, 10.0, (3, width))
                     for _ in range(n)])


@pytest.mark.parametrize("a, b", [(60, 140), (0, 40), (5, 9), (560, 600), (100, 103)])
def test_p_locking_by_its_definition(a, b):
    beats = _noisy_beats()
    got = p_locking(beats, FS, a, b)
    assert got == pytest.approx(_ref_locking(beats, FS, a, b), rel=1e-9)
    # the filter runs over the window widened by 50 ms each side: without it, another value
    if 25 <= a and b + 25 <= W:
        narrow = np.array([_lp20(bt[:, a:b], FS) for bt in beats])
        narrow -= narrow.mean(axis=2, keepdims=True)
        med = np.median(narrow, axis=0)
        unpadded = np.mean((med**2).sum(axis=1) / ((narrow - med) ** 2).sum(axis=2).mean(axis=0))
        assert got != pytest.approx(unpadded, rel=1e-6)


def test_p_locking_too_little_data_is_nan_and_identical_beats_hit_the_floor():
    beats = _noisy_beats()
    assert np.isnan(p_locking(beats[:2], FS, 60, 140))
    assert not np.isnan(p_locking(beats[:3], FS, 60, 140))
    assert np.isnan(p_locking(beats, FS, 100, 102))  # fewer than 3 samples
    assert not np.isnan(p_locking(beats, FS, 100, 103))
    # at 30 Hz the pad is 2 samples: [0, 3) widens to [0, 5) (too short), [0, 4) to [0, 6)
    slow = _noisy_beats(fs=30.0, width=40, r=15)
    assert np.isnan(p_locking(slow, 30.0, 0, 3))
    assert p_locking(slow, 30.0, 0, 4) == pytest.approx(_ref_locking(slow, 30.0, 0, 4),
                                                        rel=1e-9)
    same = np.repeat(_beat()[None], 4, axis=0)  # no residual: the 1e-12 floor
    f = _lp20(_beat()[:, 35:165], FS)[:, 25:105]
    f -= f.mean(axis=1, keepdims=True)
    assert p_locking(same, FS, 60, 140) == pytest.approx(np.mean(np.sum(f**2, axis=1)) * 1e12,
                                                         rel=1e-9)


# ------------------------------------------------------------------ _validate: the beats


@pytest.mark.parametrize("shape", [(5, 4, W), (5, 2, W), (5, 3, W + 1), (5, 3, W - 1),
                                   (5, 3, W, 1), (W,)])
def test_beats_not_shaped_like_the_median_are_refused(shape):
    x = _beat()
    with pytest.raises(ValueError, match=(
            r"beats must be \[n, leads, samples\] like the median beat \[3, 600\], "
            rf"got shape \[{', '.join(str(s) for s in shape)}\]")):
        _validate(x, FS, R, None, beats=np.zeros(shape))
    with pytest.raises(ValueError, match=r"beats must be \[n, leads, samples\]"):
        ecg_delineate(x, FS, R, beats=np.zeros(shape))


def test_beats_keep_the_usable_leads_and_finite_beats():
    x = _beat()
    x = np.vstack([x, np.full((1, W), 3.0)])  # a flat fourth lead
    beats = np.repeat(x[None], 5, axis=0) + np.arange(5.0)[:, None, None]
    beats[2, 1, 7] = np.nan  # a beat with a gap
    beats[4, 3, 9] = np.inf  # a gap in the dropped lead only: the beat stays
    got = _validate(x, FS, R, None, beats=beats)
    assert got.beats.shape == (4, 3, W)
    assert np.array_equal(got.beats, beats[[0, 1, 3, 4]][:, :3])
    one = _validate(x[0], FS, R, None, beats=beats[:, 0])  # 2-D beats of a 1-D median
    assert one.beats.shape == (5, 1, W) and np.array_equal(one.beats[:, 0], beats[:, 0])
    assert _validate(x, FS, R, None).beats is None


# -------------------------------------------------------------------------------- driver


def _spy_prev_t_off(monkeypatch) -> list:
    """The ``prev_t_off`` each ``_p_wave`` call receives, in call order."""
    seen = []
    real = d._p_wave

    def spy(beat, qrs_on, prev_t_off):
        seen.append(prev_t_off)
        return real(beat, qrs_on, prev_t_off)

    monkeypatch.setattr(d, "_p_wave", spy)
    return seen


def test_the_previous_t_end_is_this_t_end_minus_the_rr(monkeypatch):
    x = _beat()
    seen = _spy_prev_t_off(monkeypatch)
    beat = _validate(x, FS, R, 1000.0)
    on, off, nxt = _qrs(beat)
    assert nxt is None
    t_off = _t_wave(beat, on, off)[1]
    assert t_off is not None
    ecg_delineate(x, FS, R, rr_ms=1000.0)
    assert seen == [t_off - 500]
    seen.clear()
    ecg_delineate(x, FS, R)  # no RR, no next QRS in the window: no previous T
    assert seen == [None]


def test_without_a_t_end_there_is_no_previous_t(monkeypatch):
    seen = _spy_prev_t_off(monkeypatch)
    monkeypatch.setattr(d, "_t_wave_ends", lambda *a, **k: (None, None, None))
    fid = ecg_delineate(_beat(), FS, R, rr_ms=1000.0)
    assert seen == [None] and fid.t_off is None


def test_low_rate_locking_is_measured_on_the_beats_at_their_own_rate(monkeypatch):
    # At 250 Hz the beat is interpolated ×2; the P window found there is mapped back to
    # the beats' own samples: [on // 2, off // 2 + 1) at 250 Hz.
    fs, n, r = 250.0, 300, 125
    beats = _noisy_beats(fs=fs, width=n, r=r)
    median = np.median(beats, axis=0)
    fine = ecg_delineate(sps.resample_poly(median, 2, 1, axis=-1), 500.0, 2 * r, rr_ms=1200.0)
    assert fine.p_on is not None
    calls = []
    real = d.p_locking

    def spy(b, f, a, e):
        calls.append((b.shape, f, a, e))
        return real(b, f, a, e)

    monkeypatch.setattr(d, "p_locking", spy)
    got = ecg_delineate(median, fs, r, rr_ms=1200.0, beats=beats)
    assert calls == [((8, 3, n), fs, fine.p_on // 2, fine.p_off // 2 + 1)]
    assert got.p_on == round(fine.p_on / 2)
    # a locking requirement above what the beats give refuses the P at the low rate too
    value = real(beats, fs, fine.p_on // 2, fine.p_off // 2 + 1)
    assert value > 1.0
    strict = replace(DEFAULT_PARAMS, p_locked=float(value) * 1.0001)
    assert ecg_delineate(median, fs, r, rr_ms=1200.0, beats=beats, params=strict).p_on is None
    exact = replace(DEFAULT_PARAMS, p_locked=float(value))
    assert ecg_delineate(median, fs, r, rr_ms=1200.0, beats=beats, params=exact).p_on == got.p_on
    off = replace(DEFAULT_PARAMS, p_locked=0.0)  # 0: not tested at all
    calls.clear()
    assert ecg_delineate(median, fs, r, rr_ms=1200.0, beats=beats, params=off).p_on == got.p_on
    assert calls == []


def test_the_qrs_search_end_is_its_last_sample_at_an_even_bound():
    # As tests/signal/test_delineate_mutants.py's never-ending QRS, one sample later: R at
    # 301, so the search ends at 301 + 125 = 426 (even) and the offset is 425.
    fs, r, n = 500.0, 301, 1200
    t = np.arange(n, dtype=np.float64)

    def pulse(c, amp, s):
        return -amp * (t - c) / s * np.exp(-0.5 * ((t - c) / s) ** 2)

    x = np.zeros((2, n))
    x[0] = pulse(r, 1000.0, 4.0) - 300.0 * (t - 339) / 4.0 * np.exp(-0.5 * ((t - 339) / 4.0) ** 2)
    x[1] = 20.0 * np.maximum(0.0, t - 339)
    _on, off, _ = _qrs(_Beat(x=x, fs=fs, r=r, rr=None))
    assert off == r + 124 == 425


def test_t_peak_prefers_prominence_and_falls_back_to_the_largest_magnitude():
    i = np.arange(200, dtype=np.float64)
    pc = np.interp(i, [10, 40, 80, 200], [-70.0, -80.0, 0.0, 0.0])
    pc += 50.0 * np.exp(-0.5 * ((i - 100) / 10.0) ** 2)
    assert _t_peak(pc, 10, 150, 200) == 100
    assert _t_peak(-pc, 10, 150, 200) == 100
    assert _t_peak(pc, 10, 90, 200) == 40  # the bump peaks after peak_stop
    assert _t_peak(np.linspace(0.0, 5.0, 200), 10, 150, 200) == 149  # no extremum inside
    assert _t_peak(np.linspace(5.0, 0.0, 200), 10, 150, 200) == 10


def test_t_peak_tie_goes_to_the_earlier_extremum():
    # Two triangles of exactly the same height on a zero baseline: both have prominence 10
    # (each one's lowest contour down to 0), so neither is more prominent and the first
    # found, the earlier, is kept; with the earlier cut off by the start, the later wins.
    i = np.arange(200, dtype=np.float64)
    pc = np.maximum(0.0, 10.0 - 2.0 * np.abs(i - 50)) + np.maximum(0.0, 10.0 - 2.0 * np.abs(i - 120))
    peaks, props = sps.find_peaks(pc, prominence=0)
    assert list(peaks) == [50, 120] and props["prominences"][0] == props["prominences"][1]
    assert _t_peak(pc, 0, 200, 200) == 50
    assert _t_peak(pc, 60, 200, 200) == 120


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shift_ms", [-60.0, 0.0, 30.0])
def test_p_wave_follows_its_rule_on_noisy_beats(seed, shift_ms):
    # measurement noise lifts the diastole's floor, so that its percentile, the averaging
    # window and the search start all show in the edges
    x = _beat(shift_ms=shift_ms) + np.random.default_rng(seed).normal(0, 4.0, (3, W))
    got, want = _p_of(x)
    assert got == ((None, None) if want is None else want[:2])


@pytest.mark.parametrize("scale", [0.45, 0.55, 1.95, 2.05])
def test_next_p_amplitude_bounds_by_the_definition(scale):
    x, on, off = _p_train([(700, scale)])
    got = _next_p(_Beat(x=x, fs=FS, r=300, rr=None), on, off, 400)
    assert got == _ref_next_p(x, FS, on, off, 400)
    assert (got == 670) == (0.5 < scale < 2.0)  # the copy itself only within the factor


def test_next_p_in_the_last_window():
    x, on, off = _p_train([(969, 1.0)])  # the copy's window [939, 1000) ends the beat
    m = off - on + 1
    beat = _Beat(x=x, fs=FS, r=300, rr=None)
    assert _next_p(beat, on, off, 1000 - m) == _ref_next_p(x, FS, on, off, 1000 - m) == 939


def _p_and_next_p(rr: int, next_at: int, n: int = 1000, r: int = 300,
                  next_qrs: bool = False) -> np.ndarray:
    """QRS, T and a P wave 120 ms before R, with a copy of the P ``next_at`` samples later
    (and of the QRS, with ``next_qrs``)."""
    t = np.arange(n, dtype=np.float64)

    def g(c, s):
        return np.exp(-0.5 * ((t - c) / s) ** 2)

    qrs = 1000.0 * g(r, 5) - 300.0 * g(r + 12, 5)
    if next_qrs:
        qrs = qrs + 1000.0 * g(r + next_at, 5) - 300.0 * g(r + next_at + 12, 5)
    p = 150.0 * (g(r - 60, 6) + g(r - 60 + next_at, 6))
    return np.outer([1.0, 0.5, -0.3], qrs) + np.outer([0.4, 1.0, 0.6], 250.0 * g(r + 160, 25)) \
        + np.outer([0.8, -0.4, 0.7], p)


def _driver_calls(monkeypatch, x, rr_ms):
    calls = {"t": [], "next_p": []}
    real_t, real_np = d._t_wave_ends, d._next_p

    def spy_t(beat, qrs_on, qrs_off, stop=None):
        calls["t"].append((beat.rr, stop))
        return real_t(beat, qrs_on, qrs_off, stop=stop)

    def spy_np(beat, p_on, p_off, start):
        calls["next_p"].append(start)
        return real_np(beat, p_on, p_off, start)

    monkeypatch.setattr(d, "_t_wave_ends", spy_t)
    monkeypatch.setattr(d, "_next_p", spy_np)
    fid = ecg_delineate(x, FS, 300, rr_ms=rr_ms)
    monkeypatch.undo()
    return fid, calls


@pytest.mark.parametrize("rr_ms", [820.0, 900.0, None])
def test_the_t_search_stops_at_the_next_p(monkeypatch, rr_ms):
    # the next P shows 410 samples (820 ms) after this one
    x = _p_and_next_p(410, 410)
    fid, calls = _driver_calls(monkeypatch, x, rr_ms)
    beat = _validate(x, FS, 300, rr_ms)
    on, off, nxt = _qrs(beat)
    assert nxt is None and fid.p_on is not None
    start = off + 125  # the next P is looked for from 250 ms after QRS offset
    assert calls["next_p"] == [start]
    matched = _next_p(beat, fid.p_on, fid.p_off, start)
    assert matched is not None and abs(matched - (fid.p_on + 410)) <= 1
    rr = beat.rr if rr_ms is not None else matched - fid.p_on
    want_stop = matched if rr_ms is None else min(matched, fid.p_on + rr)
    assert calls["t"] == [(beat.rr, None), (rr, want_stop)]
    assert (fid.t_peak, fid.t_off) == _t_wave(replace(beat, rr=rr), on, off, stop=want_stop)


def test_a_short_given_rr_stops_the_t_search_before_the_p_copy(monkeypatch):
    # RR given as 760 ms while the P's copy sits 820 ms later: the RR wins (the earlier)
    x = _p_and_next_p(410, 410)
    fid, calls = _driver_calls(monkeypatch, x, 760.0)
    assert calls["t"][-1] == (380, fid.p_on + 380)
    # and with no copy at all the RR alone stops it
    fid, calls = _driver_calls(monkeypatch, _p_and_next_p(410, 2000), 820.0)
    assert calls["t"] == [(410, None), (410, fid.p_on + 410)]


def test_a_t_end_found_after_the_next_p_is_searched_again_before_it(monkeypatch):
    # The next P 280 samples (560 ms) after this one, on the T wave's tail, no RR given and
    # no next QRS in the window: the first T search ends past the next P's onset; the P's
    # copy found by likeness gives the RR and bounds a second search, which ends before it.
    x = _p_and_next_p(280, 280)
    beat = _validate(x, FS, 300, None)
    on, off, nxt = _qrs(beat)
    assert nxt is None and beat.rr is None
    first = _t_wave(beat, on, off)
    fid, calls = _driver_calls(monkeypatch, x, None)
    matched = _next_p(beat, fid.p_on, fid.p_off, off + 125)
    assert matched is not None and abs(matched - (fid.p_on + 280)) <= 1
    assert first[1] >= matched  # the first-pass T end lies after the next P
    rr = matched - fid.p_on
    assert calls["t"] == [(None, None), (rr, matched)]
    assert (fid.t_peak, fid.t_off) == _t_wave(replace(beat, rr=rr), on, off, stop=matched)
    assert fid.t_off < matched


@pytest.mark.parametrize("fs, factor", [(500.0, 1), (499.0, 2), (300.0, 2), (250.0, 2),
                                        (150.0, 4), (100.0, 5)])
def test_beats_below_500_hz_are_interpolated_by_the_ceiling_factor(monkeypatch, fs, factor):
    from ecgcore.signal.fiducials import Fiducials

    n, r = round(1.2 * fs), round(0.5 * fs)
    seen = []

    def fake(beat):
        seen.append((beat.fs, beat.r, beat.n, beat.beats_factor))
        # indices out of the fine beat on both sides, and two that round half to even
        return Fiducials(fs=beat.fs, r=beat.r, qrs_on=-7, qrs_off=beat.n + 9,
                         p_on=None, p_off=factor * 3 + factor // 2,
                         t_peak=factor * 4 + factor // 2, t_off=beat.n - 1)

    monkeypatch.setitem(d._METHODS, "spatial", fake)
    x = np.random.default_rng(0).normal(0, 50.0, (2, n))
    got = ecg_delineate(x, fs, r)
    assert seen == [(fs * factor, r * factor, n * factor, factor)]
    if factor == 1:
        return
    half = factor // 2 / factor  # 0.5 for an even factor: round half to even
    assert (got.fs, got.r, got.qrs_on, got.qrs_off, got.p_on) == (fs, r, 0, n - 1, None)
    assert got.p_off == round(3 + half) and got.t_peak == round(4 + half)
    assert got.t_off == n - 1


# ------------------------------------------------------------------------ at 1000 Hz
# At 500 Hz a millisecond constant one off often rounds to the same samples (round(10.5) =
# 10); at 1000 Hz each millisecond is a sample, so the rules are checked there too.

FS2, W2, R2 = 1000.0, 1200, 500


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
@pytest.mark.parametrize("params", [DEFAULT_PARAMS, SpatialParams(p_on=0.6, p_off=0.7,
                                                                  p_bridge_ms=0.0)])
def test_p_wave_follows_its_rule_at_1000_hz(seed, params):
    x = _beat(fs=FS2, n=W2, r=R2, shift_ms=-60.0 if seed == 2 else 0.0)
    if seed is not None:
        x = x + np.random.default_rng(seed).normal(0, 4.0, x.shape)
    got, want = _p_of(x, params, fs=FS2, r=R2)
    assert want is not None and got == want[:2]
    prev = R2 - 420  # a previous T end that cuts the search
    got, want = _p_of(x, params, prev_t_off=prev, fs=FS2, r=R2)
    assert got == ((None, None) if want is None else want[:2])


def _ref_t(x: np.ndarray, fs: float, qrs_on: int, qrs_off: int, rr: int | None,
           stop: int | None, span_ms: float) -> tuple[int | None, int | None]:
    """The T rule of the module docstring written out (Zhang's area by a loop)."""
    n = x.shape[1]

    def ms(v):
        return round(v * fs / 1000.0)

    def clip(i):
        return min(max(int(i), 0), n)

    xf = sps.sosfiltfilt(sps.butter(2, min(25.0, 0.45 * fs) / (fs / 2), output="sos"), x,
                         axis=-1, padlen=min(n - 1, 30))
    pr = xf[:, clip(qrs_on - ms(20)) : max(clip(qrs_on - ms(4)), 1)]
    xb = xf - np.median(pr, axis=1)[:, None]
    start = clip(qrs_off + ms(40))
    root = np.sqrt(rr / fs) if rr is not None else 1.0
    peak_stop, end_stop = clip(qrs_on + ms(500 * root)), clip(qrs_on + ms(700 * root))
    if stop is not None:
        end_stop = min(end_stop, stop)
        peak_stop = min(peak_stop, end_stop)
    if end_stop - start < ms(120) or peak_stop - start < ms(40):
        return None, None
    pc = np.linalg.svd(xb[:, start:end_stop], full_matrices=False)[0][:, 0] @ xb
    best, tp = -1.0, None
    for sign in (1.0, -1.0):
        idx, props = sps.find_peaks(sign * pc[start:end_stop], prominence=0)
        for i, prom in zip(idx, props["prominences"]):
            if start + i < peak_stop and prom > best:
                best, tp = prom, start + int(i)
    if tp is None:
        tp = start + int(np.argmax(np.abs(pc[start:peak_stop])))
    a, b = max(start, tp - ms(80)), min(peak_stop, tp + ms(80) + 1)
    peaks = [a + int(np.argmax(np.abs(xb[i, a:b]))) for i in range(xb.shape[0])]
    amps = [abs(xb[i, p]) for i, p in enumerate(peaks)]
    if max(amps) < 10.0:
        return tp, None
    w, span, gap = max(ms(128), 2), ms(span_ms), max(ms(20), 1)
    ends = []
    for i, p in enumerate(peaks):
        if amps[i] < 0.3 * max(amps):
            continue
        sign = np.sign(xb[i, p])
        best_t, best_area = None, -np.inf
        for t in range(p + gap, min(end_stop, p + span)):
            area = sign * float(np.sum(xf[i, max(t - w, 0) + 1 : t + 1] - xf[i, t]))
            if area > best_area:
                best_t, best_area = t, area
        if best_t is not None:
            ends.append(best_t)
    return tp, (round(float(np.percentile(ends, 90))) if ends else None)


@pytest.mark.parametrize("fs, n, r", [(FS, W, R), (FS2, W2, R2)])
@pytest.mark.parametrize("rr_ms, stop_ms, span_ms", [(None, None, 120.0), (800.0, None, 120.0),
                                                     (1000.0, None, 250.0),
                                                     (None, 330.0, 120.0), (None, 250.0, 80.0)])
def test_t_wave_follows_its_rule(fs, n, r, rr_ms, stop_ms, span_ms):
    rng = np.random.default_rng(7)
    x = _beat(fs=fs, n=n, r=r) + np.outer([0.2, -0.5, 1.0], 60.0 * _gauss(n, fs, r, 330.0, 30.0))
    x = x + rng.normal(0, 3.0, x.shape)
    params = SpatialParams(t_span_ms=span_ms)
    beat = _validate(x, fs, r, rr_ms, params)
    on, off, nxt = _qrs(beat)
    assert nxt is None
    stop = None if stop_ms is None else r + round(stop_ms * fs / 1000.0)
    want = _ref_t(x, fs, on, off, beat.rr, stop, span_ms)
    assert _t_wave(beat, on, off, stop=stop) == want
    assert want[1] is not None or stop_ms == 250.0


def test_the_t_search_stops_at_the_earlier_of_the_next_qrs_and_the_next_p(monkeypatch):
    # the next beat in the window, its P wave and its QRS: the T search stops 20 ms before
    # that QRS, or at its P wave (matched, or one RR after this P), whichever comes first
    x = _p_and_next_p(410, 410, next_qrs=True)
    beat = _validate(x, FS, 300, None)
    on, off, nxt = _qrs(beat)
    assert nxt is not None and nxt > 300 + 410 - 60
    fid, calls = _driver_calls(monkeypatch, x, None)
    matched = _next_p(replace(beat, rr=nxt - on), fid.p_on, fid.p_off, off + 125)
    assert matched is not None and matched < nxt - 10
    want = min(nxt - 10, matched, fid.p_on + (nxt - on))
    assert want < nxt - 10
    assert calls["t"] == [(nxt - on, nxt - 10), (nxt - on, want)]


def test_the_t_search_stops_20_ms_before_the_next_qrs_at_1000_hz(monkeypatch):
    n, r = 2000, 600
    t = np.arange(n, dtype=np.float64)
    qrs = sum(1000.0 * np.exp(-0.5 * ((t - c) / 10.0) ** 2)
              - 300.0 * np.exp(-0.5 * ((t - c - 24) / 10.0) ** 2) for c in (r, r + 700))
    x = np.outer([1.0, 0.5], qrs) + np.outer([0.4, 1.0], 250.0 * np.exp(
        -0.5 * ((t - r - 300) / 50.0) ** 2))
    _, _, nxt = _qrs(_validate(x, FS2, r, None))
    assert nxt is not None
    stops = []
    real = d._t_wave_ends

    def spy(beat, qrs_on, qrs_off, stop=None):
        stops.append(stop)
        return real(beat, qrs_on, qrs_off, stop=stop)

    monkeypatch.setattr(d, "_t_wave_ends", spy)
    ecg_delineate(x, FS2, r)
    assert stops[0] == nxt - 20


@pytest.mark.parametrize("seed", range(3))
def test_p_edges_and_isolation_follow_the_rule_at_every_fraction(seed):
    x = _beat(fs=FS2, n=W2, r=R2) + np.random.default_rng(10 + seed).normal(0, 4.0, (3, W2))
    for frac in np.linspace(0.05, 0.45, 9):
        params = SpatialParams(p_on=float(frac), p_off=float(frac))
        got, want = _p_of(x, params, fs=FS2, r=R2)
        assert want is not None and got == want[:2], frac
    iso = _p_of(x, fs=FS2, r=R2)[1][2]
    assert _p_of(x, SpatialParams(p_isolation=iso), fs=FS2, r=R2)[0] != (None, None)
    assert _p_of(x, SpatialParams(p_isolation=iso * (1 + 1e-9)), fs=FS2, r=R2)[0] == (None, None)


# ------------------------------------------------------------- the seed-2 draw (issue 19)


def test_the_p_search_starts_40_ms_after_the_previous_t_at_1000_hz():
    assert SpatialParams().p_after_t_ms == DEFAULT_PARAMS.p_after_t_ms == 40.0
    x = _beat(fs=FS2, n=W2, r=R2, shift_ms=240.0, sep_ms=0.0)  # one P hump 90 ms before R
    beat = _validate(x, FS2, R2, None)
    qrs_on = _qrs(beat)[0]
    hi = qrs_on - 20  # the search ends 20 ms (samples) before QRS onset
    # the segment needs 100 + 40 samples: from lo = prev + 40 to hi
    ok_prev, short_prev = hi - 140 - 40, hi - 139 - 40
    assert _p_wave(beat, qrs_on, short_prev) == (None, None)
    want = _ref_p(x, FS2, qrs_on, ok_prev, DEFAULT_PARAMS)
    assert want is not None and _p_wave(beat, qrs_on, ok_prev) == want[:2]


def test_each_leads_t_peak_is_looked_for_within_80_ms_of_the_global_one():
    # Lead 1 has a bump 130 ms before the T peak, larger than its own T: outside the
    # ±80 ms window it must not be taken for that lead's T peak (nor move its T end).
    n, r = W, R
    t_ms = (np.arange(n) - r) * 2.0

    def g(c, s):
        return np.exp(-0.5 * ((t_ms - c) / s) ** 2)

    x = np.vstack([1000.0 * g(0, 10) + 300.0 * g(250, 40),
                   500.0 * g(0, 10) + 150.0 * g(250, 40) + 250.0 * g(120, 12)])
    beat = _validate(x, FS, r, None)
    on, off, nxt = _qrs(beat)
    assert nxt is None
    want = _ref_t(x, FS, on, off, None, None, DEFAULT_PARAMS.t_span_ms)
    assert want[1] is not None and abs(want[0] - (r + 125)) <= 5  # the T, not the bump
    assert _t_wave(beat, on, off) == want


def test_a_low_rate_beat_is_delineated_with_its_rr_in_fine_samples(monkeypatch):
    # 250 Hz is interpolated ×2: an RR of 1000 ms is 250 samples there, 500 in the fine beat
    fs, n, r = 250.0, 300, 125
    x = _beat(fs=fs, n=n, r=r)
    seen = []
    real = d._t_wave_ends

    def spy(beat, qrs_on, qrs_off, stop=None):
        seen.append((beat.fs, beat.rr))
        return real(beat, qrs_on, qrs_off, stop=stop)

    monkeypatch.setattr(d, "_t_wave_ends", spy)
    ecg_delineate(x, fs, r, rr_ms=1000.0)
    assert seen and set(seen) == {(500.0, 500)}


def _qrs_on_velocity(monkeypatch, sv: np.ndarray, fs: float, r: int):
    """`_qrs` of a beat whose spatial velocity is ``sv`` (a flat signal otherwise)."""
    monkeypatch.setattr(d, "_norm_derivative", lambda xf, f: sv)
    return _qrs(_Beat(x=np.zeros((1, sv.size)), fs=fs, r=r, rr=None))


def test_the_qrs_onset_falls_back_to_200_ms_before_r(monkeypatch):
    # the velocity never falls below the onset threshold in the 200 ms before the QRS core:
    # the onset is the search bound R − 200 ms, however far back the activity goes
    n, r = W2, R2
    sv = np.zeros(n)
    sv[: r - 70] = 50.0  # above the threshold 0 + max(1.5, 0.02 × 1000) = 20
    sv[r - 70 : r - 59] = 500.0  # the core starts here (≥ 0.3 × the peak)
    sv[r - 10 : r + 11] = 1000.0
    on, off, nxt = _qrs_on_velocity(monkeypatch, sv, FS2, r)
    assert (on, off, nxt) == (r - 200, r + 11, None)


def test_the_st_level_is_the_10th_percentile_from_40_to_250_ms_after_r(monkeypatch):
    # At 1000 Hz the ST window [R + 40, R + 250) is 210 samples of a rising ramp; its 10th
    # percentile sets the offset threshold, crossed on a slow decline after the QRS core.
    n, r = W2, R2
    sv = np.zeros(n)
    sv[r - 5 : r + 6] = 1000.0
    k = np.arange(r + 6, r + 39)
    sv[k] = 70.0 - 0.5 * (k - r - 6)
    k = np.arange(r + 39, n)
    sv[k] = 10.0 + 0.5 * (k - r - 40)
    st = sv[r + 40 : r + 250]
    base = float(np.percentile(st, 10))
    assert base == pytest.approx(10.0 + 0.5 * 0.1 * (st.size - 1))  # 20.45: linear ramp
    thr = base + max(1.5, 0.04 * (1000.0 - base))
    want = next(i for i in range(r + 5, n) if sv[i] < thr)
    assert want == r + 27  # one sample more or less of the ramp moves the offset
    assert _qrs_on_velocity(monkeypatch, sv, FS2, r)[1] == want


def test_next_p_needs_room_for_the_whole_template():
    # the copy's window [939, 1000) ends the beat: from 940 on, a template of off − on + 1
    # samples no longer fits, though a shorter one would match the shifted copy
    x, on, off = _p_train([(969, 1.0)])
    beat = _Beat(x=x, fs=FS, r=300, rr=None)
    assert _next_p(beat, on, off, 939) == 939
    assert _next_p(beat, on, off, 940) is None is _ref_next_p(x, FS, on, off, 940)
