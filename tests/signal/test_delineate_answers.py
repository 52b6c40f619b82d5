"""Delineation answers for the P-wave steps, the beats refusal and the driver (issue 19).

Every expected value is computed here, independently of :mod:`ecgcore.signal.delineate`:
the P rule of the module docstring written out with loops (scipy/numpy primitives only for
the filters, the moving average and the morphological closing), the next-P template match
and the locking ratio recomputed beat by beat, and hand shapes for the refusals. The beats
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
    resid = np.mean([np.sum((sg - med) ** 2) for sg in segs])
    return float(np.sum(med**2) / max(resid, 1e-12))


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
        unpadded = np.sum(med**2) / np.mean(((narrow - med) ** 2).sum(axis=(1, 2)))
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
    assert p_locking(same, FS, 60, 140) == pytest.approx(np.sum(f**2) * 1e12, rel=1e-9)


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


def test_the_previous_t_end_is_this_t_end_minus_the_rr(monkeypatch):
    x = _beat()
    seen = []
    real = d._p_wave

    def spy(beat, qrs_on, prev_t_off):
        seen.append(prev_t_off)
        return real(beat, qrs_on, prev_t_off)

    monkeypatch.setattr(d, "_p_wave", spy)
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
    seen = []
    real = d._p_wave

    def spy(beat, qrs_on, prev_t_off):
        seen.append(prev_t_off)
        return real(beat, qrs_on, prev_t_off)

    monkeypatch.setattr(d, "_p_wave", spy)
    monkeypatch.setattr(d, "_t_wave", lambda *a, **k: (None, None))
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
    on, off, _ = _qrs(_Beat(x=x, fs=fs, r=r, rr=None))
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
