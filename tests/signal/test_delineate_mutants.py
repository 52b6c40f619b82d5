"""Delineation answers that a wrong constant, comparison or index would change (issue 19).

Each check compares the code with an answer known by construction (hand arrays, a
Gaussian T wave, two QRS pulses) or with the method's definition recomputed here from
scipy/numpy primitives and plain loops (the QRS thresholds of the spatial velocity, Zhang's
area, the rate mapping), on real median beats (LUDB dev, PTB-XL at 100 Hz, QTDB at 250 Hz).
They were written against the surviving mutants of ``ecgwb bench mutation`` (see
docs/BENCHMARKS.md); the P-wave steps (``_p_wave``, ``_next_p``) are left to their own tests
(tests/signal/test_p_wave.py, test_delineate.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal as sps
from scipy.ndimage import uniform_filter1d

from ecgcore.io import read_wfdb
from ecgcore.signal.beats import WINDOW_ANALYSIS
from ecgcore.signal.delineate import (
    DEFAULT_PARAMS,
    SpatialParams,
    _area_ends,
    _Beat,
    _filtfilt,
    _first_below,
    _last_below,
    _lowpass,
    _next_qrs,
    _norm_derivative,
    _qrs,
    _sos,
    _t_wave,
    _validate,
    ecg_delineate,
)
from ecgcore.signal.pipeline import PipelineConfig, process_record


def _median_beat(path, target_fs=500.0):
    res = process_record(read_wfdb(path), PipelineConfig(target_fs=target_fs))
    r = WINDOW_ANALYSIS.offsets(res.fs)[0]
    return np.asarray(res.analysis_median, dtype=np.float64), res.fs, r, float(np.median(res.rr_ms))


@pytest.fixture(scope="module")
def ludb_beats(ludb_dir):
    return {name: _median_beat(ludb_dir / "data" / name) for name in ("1", "7")}


# ------------------------------------------------------------------------ hand arrays


def test_last_and_first_below_on_a_hand_array():
    v = np.array([5.0, 1.0, 5.0, 2.0, 5.0, 5.0, 1.0, 5.0])
    assert _last_below(v, 2.0, 0, 8) == 6 and _first_below(v, 2.0, 0, 8) == 1
    assert _last_below(v, 2.0, 0, 6) == 1  # hi is exclusive ...
    assert _last_below(v, 2.0, 0, 7) == 6
    assert _first_below(v, 2.0, 2, 8) == 6  # ... lo inclusive, and the index is absolute
    assert _first_below(v, 2.0, 1, 8) == 1
    assert _last_below(v, 2.5, 2, 6) == 3 and _first_below(v, 2.5, 2, 6) == 3
    # strictly below: a value equal to the threshold does not count
    assert _first_below(v, 1.0, 0, 8) is None and _last_below(v, 1.0, 0, 8) is None
    assert _first_below(v, 5.0, 4, 6) is None and _last_below(v, 5.0, 4, 6) is None
    assert _first_below(v, 9.0, 3, 3) is None  # empty range


def test_beat_ms_and_clip():
    beat = _Beat(x=np.zeros((1, 600)), fs=500.0, r=250, rr=None)
    assert beat.n == 600
    assert beat.ms(80) == 40 and beat.ms(1) == 0 and beat.ms(3) == 2  # round(1.5) = 2
    assert _Beat(x=np.zeros((1, 10)), fs=250.0, r=5, rr=None).ms(80) == 20
    assert beat.clip(-5) == 0 and beat.clip(3.7) == 3 and beat.clip(600) == 600
    assert beat.clip(601) == 600 and beat.clip(599) == 599


def test_sos_designs_the_named_butterworth():
    fs = 500.0
    for got, want in [
        (_sos(fs, None, 30.0), sps.butter(2, 30.0 / 250.0, btype="lowpass", output="sos")),
        (_sos(fs, 10.0, 40.0), sps.butter(2, [10.0 / 250.0, 40.0 / 250.0], btype="bandpass",
                                          output="sos")),
        (_sos(fs, 0.5, None), sps.butter(2, 0.5 / 250.0, btype="highpass", output="sos")),
        (_sos(fs, None, 30.0, 4), sps.butter(4, 30.0 / 250.0, btype="lowpass", output="sos")),
    ]:
        assert got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=0)


def test_filtfilt_pads_thirty_samples_or_the_whole_signal():
    rng = np.random.default_rng(0)
    sos = sps.butter(2, 0.1, output="sos")
    long = rng.normal(size=(2, 200))
    want = sps.sosfiltfilt(sos, long, axis=-1, padlen=30)
    assert np.allclose(_filtfilt(long, sos), want, rtol=0, atol=1e-12)
    # the padding length shows in the result: 30 is what is used, not 29 or 31
    assert not np.allclose(sps.sosfiltfilt(sos, long, axis=-1, padlen=31), want, atol=1e-6)
    short = rng.normal(size=(2, 20))  # shorter than 31 samples: pad n - 1
    want = sps.sosfiltfilt(sos, short, axis=-1, padlen=19)
    assert np.allclose(_filtfilt(short, sos), want, rtol=0, atol=1e-12)
    # along the last axis, each lead on its own
    assert np.allclose(_filtfilt(short[1], sos), want[1], rtol=0, atol=1e-12)


def test_lowpass_is_zero_phase_and_caps_the_cutoff():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 400))
    want = sps.sosfiltfilt(sps.butter(2, 30.0 / 250.0, output="sos"), x, axis=-1, padlen=30)
    assert np.allclose(_lowpass(x, 500.0, 30.0), want, rtol=0, atol=1e-12)
    # at 50 Hz a 30 Hz cut-off is above Nyquist: it becomes 0.45 fs = 22.5 Hz
    want = sps.sosfiltfilt(sps.butter(2, 22.5 / 25.0, output="sos"), x, axis=-1, padlen=30)
    assert np.allclose(_lowpass(x, 50.0, 30.0), want, rtol=0, atol=1e-12)
    # zero phase: a symmetric bump keeps its peak sample
    bump = np.exp(-0.5 * ((np.arange(400) - 200) / 15.0) ** 2)[None] * 100.0
    assert int(np.argmax(_lowpass(bump, 500.0, 25.0))) == 200


def test_spatial_velocity_of_ramps_and_a_parabola():
    t = np.arange(50, dtype=np.float64)
    ramps = np.stack([3.0 * t, -4.0 * t])  # µV per sample
    # 3 and 4 µV per sample at 500 Hz: 1.5 and 2 µV/ms, norm 2.5 µV/ms everywhere
    assert np.allclose(_norm_derivative(ramps, 500.0), 2.5, rtol=0, atol=1e-12)
    assert np.allclose(_norm_derivative(ramps, 250.0), 1.25, rtol=0, atol=1e-12)
    # central differences inside, one-sided at the ends (np.gradient): x = t² → 2t
    par = (t**2)[None]
    got = _norm_derivative(par, 1000.0)
    assert np.allclose(got[1:-1], 2 * t[1:-1], rtol=0, atol=1e-9)
    assert got[0] == pytest.approx(1.0) and got[-1] == pytest.approx(97.0)


# ---------------------------------------------------------------------------- _validate


def test_validate_keeps_usable_leads_and_converts_rr():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 50, (5, 600))
    x[1, 10] = np.nan
    x[2] = 7.0 + np.r_[np.zeros(300), np.ones(300)]  # spans exactly 1 µV: flat
    x[3] = 7.0 + np.r_[np.zeros(300), np.full(300, 1.01)]  # spans 1.01 µV: kept
    beat = _validate(x, 500.0, 250, 800.0)
    assert beat.x.shape == (3, 600) and beat.x.dtype == np.float64
    assert np.array_equal(beat.x, x[[0, 3, 4]])
    assert beat.fs == 500.0 and beat.r == 250 and beat.rr == 400 and beat.params == DEFAULT_PARAMS
    assert _validate(x, 250.0, 100, 801.0).rr == 200  # round(200.25)
    assert _validate(x, 250.0, 100, 803.0).rr == 201  # round(200.75)
    assert _validate(x, 500.0, 250, None).rr is None
    one = _validate(x[0], 500.0, 250, None)  # one lead as a 1-D array
    assert one.x.shape == (1, 600)
    params = SpatialParams(qrs_on=0.1)
    assert _validate(x, 500.0, 250, None, params).params is params


@pytest.mark.parametrize("fs", [0.0, -500.0, float("nan"), float("inf")])
def test_validate_refuses_a_bad_sampling_rate(fs):
    with pytest.raises(ValueError, match=f"sampling rate must be a positive number, got {fs}"):
        _validate(np.random.default_rng(0).normal(0, 50, (2, 600)), fs, 250, None)


def test_validate_window_bounds_are_250_ms_before_and_350_ms_after():
    x = np.random.default_rng(3).normal(0, 50, (2, 600))
    # at 500 Hz: 125 samples before R and 175 after, both inclusive
    assert _validate(x, 500.0, 125, None).r == 125
    assert _validate(x, 500.0, 425, None).r == 425
    for r in (124, 426):
        with pytest.raises(ValueError, match=(
                rf"window too short: R at sample {r} of 600; delineation needs at least 250 ms "
                r"before R \(125 samples\) and 350 ms after \(175\) at 500 Hz")):
            _validate(x, 500.0, r, None)
    assert _validate(x, 500.0, 125.9, None).r == 125  # int() of a float index


@pytest.mark.parametrize("rr_ms, ok", [(200.0, True), (3000.0, True), (199.9, False),
                                       (3000.1, False), (float("nan"), False),
                                       (float("inf"), False)])
def test_validate_rr_must_be_plausible(rr_ms, ok):
    x = np.random.default_rng(4).normal(0, 50, (2, 600))
    if ok:
        assert _validate(x, 500.0, 250, rr_ms).rr == round(rr_ms / 2)
    else:
        with pytest.raises(ValueError, match=r"rr_ms must be a plausible RR interval "
                                             rf"\(200–3000 ms\), got {rr_ms}"):
            _validate(x, 500.0, 250, rr_ms)


def test_validate_shape_and_empty_errors():
    with pytest.raises(ValueError, match=r"median beat must be \[leads, samples\], got shape "
                                         r"\(2, 3, 600\)"):
        _validate(np.zeros((2, 3, 600)), 500.0, 250, None)
    with pytest.raises(ValueError, match="no usable lead: every lead of the median beat is "
                                         "flat or has NaN"):
        _validate(np.full((3, 600), 5.0), 500.0, 250, None)


# --------------------------------------------------------------------------------- QRS


def _ref_qrs(x: np.ndarray, fs: float, r: int, f_on: float, f_off: float) -> tuple[int, int]:
    """The QRS rule of the module docstring, written out with loops."""
    n = x.shape[1]
    xf = sps.sosfiltfilt(sps.butter(2, 30.0 / (fs / 2), output="sos"), x, axis=-1,
                         padlen=min(n - 1, 30))
    d = np.gradient(xf, axis=1) * fs / 1000.0
    sv = np.sqrt((d**2).sum(axis=0))

    def ms(v):
        return round(v * fs / 1000.0)

    def clip(i):
        return min(max(int(i), 0), n)

    lo, hi = clip(r - ms(80)), clip(r + ms(80) + 1)
    peak = max(sv[lo:hi])
    base_on = np.percentile(sv[clip(r - ms(200)):clip(r - ms(20))], 10)
    base_off = np.percentile(sv[clip(r + ms(40)):clip(r + ms(250))], 10)
    strong = [i for i in range(lo, hi) if sv[i] >= 0.3 * peak]
    search_lo, search_hi = clip(r - ms(200)), clip(r + ms(250))
    thr_on = base_on + max(1.5, f_on * (peak - base_on))
    thr_off = base_off + max(1.5, f_off * (peak - base_off))
    on = strong[0]
    while on >= search_lo and not sv[on] < thr_on:
        on -= 1
    off = strong[-1]
    while off < search_hi and not sv[off] < thr_off:
        off += 1
    return max(on, search_lo), min(off, search_hi - 1)


@pytest.mark.parametrize("name", ["1", "7"])
@pytest.mark.parametrize("params", [DEFAULT_PARAMS, SpatialParams(qrs_on=0.1, qrs_off=0.15)])
def test_qrs_boundaries_follow_their_definition_on_ludb(ludb_beats, name, params):
    median, fs, r, rr_ms = ludb_beats[name]
    on, off, nxt = _qrs(_validate(median, fs, r, rr_ms, params))
    assert (on, off) == _ref_qrs(median, fs, r, params.qrs_on, params.qrs_off)
    assert nxt is None  # 700 ms after R holds no next QRS at these rates (RR > 700 ms)
    assert r - 0.12 * fs < on < r < off < r + 0.12 * fs


def test_qrs_boundaries_on_a_single_lead_beat(ludb_beats):
    median, fs, r, _ = ludb_beats["1"]
    # lead II alone, the first sample below threshold (a lone lead's default waits 8 ms of
    # quiet: tests/signal/test_single_lead.py)
    on, off, _ = _qrs(_validate(median[1], fs, r, None, SpatialParams(qrs_quiet_ms=0.0)))
    assert (on, off) == _ref_qrs(median[1:2], fs, r, DEFAULT_PARAMS.qrs_on,
                                 DEFAULT_PARAMS.qrs_off)


def _pulse_beat(fs=500.0, n=1200, centres=(300,), amp=1000.0, sigma_ms=8.0):
    """Biphasic QRS-like pulses (Gaussian derivatives) on a flat baseline, 2 leads."""
    t = np.arange(n, dtype=np.float64)
    s = sigma_ms * fs / 1000.0
    x = np.zeros(n)
    for c in centres:
        x += -amp * (t - c) / s * np.exp(-0.5 * ((t - c) / s) ** 2)
    return np.stack([x, 0.5 * x])


def test_no_qrs_threshold_is_three_times_the_margin():
    # sv peak of a Gaussian-derivative pulse of amplitude A, σ samples at 500 Hz:
    # the lowpass shaves a little; the pulse is scaled so its peak sits just above or below
    # 3 × 1.5 µV/ms and the code must agree with the definition computed here.
    x = _pulse_beat(amp=1.0)
    fs, r = 500.0, 300
    xf = _lowpass(x, fs, 30.0)
    peak1 = _norm_derivative(xf, fs)[r - 40 : r + 41].max()  # peak velocity at amp 1
    ok = _Beat(x=x * (4.5 / peak1) * 1.001, fs=fs, r=r, rr=None)
    on, off, _ = _qrs(ok)
    assert on < r < off
    with pytest.raises(ValueError, match="no QRS complex near r"):
        _qrs(_Beat(x=x * (4.5 / peak1) * 0.999, fs=fs, r=r, rr=None))


def test_next_qrs_is_found_where_the_second_pulse_starts():
    fs, r, r2 = 500.0, 300, 700
    x = _pulse_beat(centres=(r, r2))
    beat = _Beat(x=x, fs=fs, r=r, rr=None)
    _on, off, nxt = _qrs(beat)
    # the definition: 10–40 Hz band energy, 40 ms mean, above 15 % of this QRS's for 20 ms
    hf = sps.sosfiltfilt(sps.butter(2, [10 / 250, 40 / 250], btype="bandpass", output="sos"),
                         x, axis=-1, padlen=30)
    e = uniform_filter1d(np.sqrt((hf**2).sum(axis=0)), 20)
    main = e[r - 40 : r + 40].max()
    start = off + 100
    want = next(i for i in range(start, x.shape[1] - 9)
                if all(e[i + k] > 0.15 * main for k in range(10)))
    assert nxt == want
    assert r2 - 40 < nxt < r2  # by construction: the second pulse's leading edge
    # a known RR pushes the search start to half of it
    assert _next_qrs(replace_rr(beat, 2 * (want - r) - 10), off) == want
    late = replace_rr(beat, 2 * (want - r) + 2)  # start one sample after the run begins
    got = _next_qrs(late, off)
    assert got == next(i for i in range(want + 1, x.shape[1] - 9)
                       if all(e[i + k] > 0.15 * main for k in range(10)))
    # a window that ends less than 20 ms after the search start has no room for a QRS
    short = _Beat(x=x[:, : start + 9], fs=fs, r=r, rr=None)
    assert _next_qrs(short, off) is None
    assert _next_qrs(_Beat(x=x[:, : start + 10], fs=fs, r=r, rr=None), off) is None  # quiet
    # without a second pulse there is none
    assert _next_qrs(_Beat(x=_pulse_beat(), fs=fs, r=r, rr=None), off) is None


def replace_rr(beat: _Beat, rr: int) -> _Beat:
    return _Beat(x=beat.x, fs=beat.fs, r=beat.r, rr=rr, params=beat.params)


def test_next_qrs_needs_a_usable_band():
    x = _pulse_beat(fs=80.0, n=200, centres=(40, 120), sigma_ms=25.0)
    assert _next_qrs(_Beat(x=x, fs=80.0, r=40, rr=None), 50) is None  # below 90 Hz


def test_next_qrs_bounds_the_t_search_in_ecg_delineate():
    # two pulses 700 ms apart: the T search must stop 20 ms before the second QRS
    fs, r = 500.0, 300
    x = _pulse_beat(centres=(r, r + 350))
    t = np.arange(x.shape[1])
    x = x + 200.0 * np.exp(-0.5 * ((t - (r + 150)) / 25.0) ** 2)  # a T wave between them
    beat = _validate(x, fs, r, None)
    on, off, nxt = _qrs(beat)
    fid = ecg_delineate(x, fs, r)
    assert (fid.qrs_on, fid.qrs_off) == (on, off)
    want = _t_wave(replace_rr(beat, nxt - on), on, off, stop=nxt - 10)
    assert (fid.t_peak, fid.t_off) == want
    assert fid.t_off < nxt - 10


# ----------------------------------------------------------------------------------- T


def _ref_area_end(x: np.ndarray, tp: int, sign: float, stop: int, w: int, span: int,
                  gap: int) -> int:
    best, best_t = -np.inf, -1
    for t in range(tp + gap, min(stop, tp + span)):
        area = sum(x[s] - x[t] for s in range(max(t - w, 0) + 1, t + 1))
        if sign * area > best:
            best, best_t = sign * area, t
    return best_t


def test_area_ends_follow_zhangs_definition():
    rng = np.random.default_rng(5)
    t = np.arange(300, dtype=np.float64)
    x = np.stack([
        300.0 * np.exp(-0.5 * ((t - 100) / 20.0) ** 2),
        -150.0 * np.exp(-0.5 * ((t - 110) / 25.0) ** 2) + rng.normal(0, 2, 300),
        80.0 * np.exp(-0.5 * ((t - 15) / 10.0) ** 2),  # peak near the start: window clipped
        50.0 * np.exp(-0.5 * ((t - 250) / 10.0) ** 2),  # peak too late: no candidate
    ])
    peaks, signs = np.array([100, 110, 15, 295]), np.array([1.0, -1.0, 1.0, 1.0])
    got = _area_ends(x, peaks, signs, stop=280, w=64, span=125, gap=10)
    want = [_ref_area_end(x[i], peaks[i], signs[i], 280, 64, 125, 10) for i in range(3)]
    assert list(got) == [*want, -1]
    assert got.dtype == np.int64
    # by construction: a Gaussian's Zhang end lies a little over 2σ after its peak
    assert 100 + 2 * 20 <= got[0] <= 100 + 3 * 20
    # the stop bound is exclusive and wins over the span
    assert _area_ends(x[:1], peaks[:1], signs[:1], stop=131, w=64, span=125, gap=10)[0] == \
        _ref_area_end(x[0], 100, 1.0, 131, 64, 125, 10) == 130
    # the sign matters: a negative T wave read as positive ends elsewhere
    flipped = _area_ends(x[1:2], peaks[1:2], -signs[1:2], stop=280, w=64, span=125, gap=10)
    assert flipped[0] == _ref_area_end(x[1], 110, 1.0, 280, 64, 125, 10) != got[1]


def _t_beat(fs=500.0, n=600, r=250, t_centre=400, amps=(300.0, -200.0, 40.0), sigma=20.0,
            qrs_amp=1000.0):
    t = np.arange(n, dtype=np.float64)
    qrs = _pulse_beat(fs=fs, n=n, centres=(r,), amp=qrs_amp)[0]
    tw = np.exp(-0.5 * ((t - t_centre) / sigma) ** 2)
    return np.stack([qrs + a * tw for a in amps])


def test_t_wave_of_a_constructed_beat():
    fs, r, c, sigma = 500.0, 250, 400, 20.0
    x = _t_beat()
    beat = _validate(x, fs, r, None)
    on, off, nxt = _qrs(beat)
    assert nxt is None
    t_peak, t_off = _t_wave(beat, on, off)
    assert abs(t_peak - c) <= 1  # the Gaussian's centre
    # T end: leads with T amplitude ≥ 30 % of the largest (here 300 and -200 µV, not 40),
    # each by Zhang's area from its own peak, the 90th percentile of those ends
    xf = _lowpass(x, fs, 25.0)
    end_stop = min(on + 350, x.shape[1])
    ends = [_ref_area_end(xf[i], c, s, end_stop, 64, 60, 10) for i, s in ((0, 1.0), (1, -1.0))]
    assert t_off == round(float(np.percentile(ends, 90)))
    assert c + 2 * sigma <= t_off <= c + 3 * sigma
    # the third lead's small T does not count: with its amplitude raised it does
    x3 = _t_beat(amps=(300.0, -200.0, 100.0), sigma=sigma)
    x3[2] = x[2] - 40.0 * np.exp(-0.5 * ((np.arange(600) - c) / sigma) ** 2) \
        + 100.0 * np.exp(-0.5 * ((np.arange(600) - c - 30) / 10.0) ** 2)
    b3 = _validate(x3, fs, r, None)
    on3, off3, _ = _qrs(b3)
    xf3 = _lowpass(x3, fs, 25.0)
    _, t_off3 = _t_wave(b3, on3, off3)
    rel = int(np.argmax(np.abs(xf3[2, 360:441] - np.median(xf3[2, on3 - 10 : on3 - 2])))) + 360
    ends3 = [*ends, _ref_area_end(xf3[2], rel, 1.0, min(on3 + 350, 600), 64, 60, 10)]
    assert t_off3 == round(float(np.percentile(ends3, 90)))


def test_t_wave_bounds_and_a_missing_t():
    fs, r = 500.0, 250
    beat = _validate(_t_beat(), fs, r, None)
    on, off, _ = _qrs(beat)
    start = off + 20
    # the search needs 120 ms between start and stop (and 40 ms for the peak)
    assert _t_wave(beat, on, off, stop=start + 59) == (None, None)
    assert _t_wave(beat, on, off, stop=start + 60)[0] is not None
    # the √RR bound: at RR = 400 ms the T end search stops at 0.7·√0.4 s after QRS onset
    short = _validate(_t_beat(), fs, r, 400.0)
    end_stop = on + round(1000 * 0.7 * math.sqrt(0.4) * fs / 1000)
    _, t_off = _t_wave(short, on, off)
    assert t_off is not None and t_off < end_stop
    # a T wave of a few µV is no T wave: the peak is reported, the end is not (the PR level
    # sits ~3 µV below zero on the pulse's tail, so a 4 µV T stands < 10 µV above it)
    tiny = _validate(_t_beat(amps=(4.0, -3.0, 2.0), qrs_amp=300.0), fs, r, None)
    t_peak, t_off = _t_wave(tiny, *_qrs(tiny)[:2])
    assert t_peak is not None and abs(t_peak - 400) <= 2 and t_off is None
    small = _validate(_t_beat(amps=(15.0, -3.0, 2.0), qrs_amp=300.0), fs, r, None)
    assert _t_wave(small, *_qrs(small)[:2])[1] is not None


def test_t_wave_ends_near_the_experts_on_ludb(ludb_beats, ludb_dir):
    from ecgcore.io.ludb import ludb_expert_intervals

    for name, (median, fs, r, rr_ms) in ludb_beats.items():
        fid = ecg_delineate(median, fs, r, rr_ms=rr_ms)
        expert = ludb_expert_intervals(ludb_dir / "data" / name)
        assert abs(fid.qt_ms - expert["qt_ms"]) <= 40, (name, fid.qt_ms, expert["qt_ms"])
        assert abs(fid.qrs_ms - expert["qrs_ms"]) <= 20, (name, fid.qrs_ms, expert["qrs_ms"])


# ------------------------------------------------------------------- ecg_delineate contract


@pytest.mark.parametrize("source", ["ptbxl100", "qtdb250"])
def test_low_rates_map_an_interpolated_delineation_back(source, ptbxl500, qtdb_dir):
    if source == "ptbxl100":
        median, fs, r, rr_ms = _median_beat(ptbxl500 / "records100" / "00000" / "00001_lr",
                                            target_fs=None)
    else:
        median, fs, r, rr_ms = _median_beat(qtdb_dir / "sel100", target_fs=None)
    factor = math.ceil(500.0 / fs)
    assert factor == {100.0: 5, 250.0: 2}[fs]
    got = ecg_delineate(median, fs, r, rr_ms=rr_ms)
    up = sps.resample_poly(median, factor, 1, axis=-1)
    fine = ecg_delineate(up, fs * factor, r * factor, rr_ms=rr_ms)
    n = median.shape[1]
    assert got.fs == fs and got.r == r
    for key in ("qrs_on", "qrs_off", "p_on", "p_off", "t_peak", "t_off"):
        f = getattr(fine, key)
        want = None if f is None else min(max(round(f / factor), 0), n - 1)
        assert getattr(got, key) == want, key
    assert got.qrs_on is not None and got.t_off is not None


def test_500_hz_is_delineated_as_given(ludb_beats):
    median, fs, r, rr_ms = ludb_beats["1"]
    fid = ecg_delineate(median, fs, r, rr_ms=rr_ms)
    assert fid.fs == 500.0 and fid.r == r
    on, off, _ = _qrs(_validate(median, fs, r, rr_ms))
    assert (fid.qrs_on, fid.qrs_off) == (on, off)
    # the RR interval is used as given: another RR moves the T search bound
    assert fid.p_on is not None and fid.p_on < fid.p_off < fid.qrs_on


def test_no_qrs_threshold_is_three_times_a_raised_baseline():
    # A steady slope on one lead lifts the isoelectric velocity to 2 µV/ms (above the
    # 1.5 µV/ms margin): the QRS must reach 3 × 2 = 6 µV/ms. The pulse's scale that puts the
    # peak exactly there is found by bisection on the definition; just above it passes,
    # just below it is refused.
    fs, r, n = 500.0, 300, 1200
    ramp = np.zeros((2, n))
    ramp[1] = 4.0 * np.arange(n)  # 4 µV per sample = 2 µV/ms at 500 Hz
    pulse = _pulse_beat(amp=1.0, n=n)

    def margin(scale: float) -> float:
        sv = _norm_derivative(_lowpass(pulse * scale + ramp, fs, 30.0), fs)
        base = max(np.percentile(sv[r - 100 : r - 10], 10), np.percentile(sv[r + 20 : r + 125], 10))
        assert base == pytest.approx(2.0, abs=0.05)
        return sv[r - 40 : r + 41].max() - 3.0 * max(base, 1.5)

    lo, hi = 0.0, 5000.0
    assert margin(lo) < 0 < margin(hi)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if margin(mid) < 0 else (lo, mid)
    on, off, _ = _qrs(_Beat(x=pulse * hi * 1.002 + ramp, fs=fs, r=r, rr=None))
    assert on < r < off
    with pytest.raises(ValueError, match="no QRS complex near r"):
        _qrs(_Beat(x=pulse * lo * 0.998 + ramp, fs=fs, r=r, rr=None))


def test_next_qrs_when_the_window_ends_one_run_after_the_start():
    # The search start set by the RR at the second pulse's first active sample and the
    # window cut 20 ms (10 samples) later: exactly one run fits, and it is found there.
    fs, r = 500.0, 300
    full = _pulse_beat(centres=(r, 700))
    want = _next_qrs(_Beat(x=full, fs=fs, r=r, rr=None), 320)
    x = full[:, : want + 30]
    hf = _filtfilt(x, _sos(fs, 10.0, 40.0))
    e = uniform_filter1d(np.sqrt((hf**2).sum(axis=0)), 20)
    main = e[r - 40 : r + 40].max()
    found = []
    for start in range(want - 5, want + 15):
        cut = _Beat(x=x[:, : start + 10], fs=fs, r=r, rr=2 * (start - r))
        hf = _filtfilt(cut.x, _sos(fs, 10.0, 40.0))
        e = uniform_filter1d(np.sqrt((hf**2).sum(axis=0)), 20)
        main = e[r - 40 : r + 40].max()
        expect = start if all(e[start + k] > 0.15 * main for k in range(10)) else None
        assert _next_qrs(cut, 320) == expect
        found.append(expect)
    assert any(f is not None for f in found)  # a run that fits exactly and is active


def test_a_known_rr_is_kept_when_the_next_qrs_shows():
    # RR given as 1000 ms while the next QRS shows 700 ms after this one: the T search keeps
    # the given RR's √RR bounds (the next QRS only stops it), which leaves a late T peak
    # inside the search; the RR implied by the next QRS would cut it.
    fs, r = 500.0, 300
    x = _pulse_beat(centres=(r, r + 350))
    t = np.arange(x.shape[1])
    x = x + 250.0 * np.exp(-0.5 * ((t - (r + 225)) / 15.0) ** 2)
    beat = _validate(x, fs, r, 1000.0)
    on, off, nxt = _qrs(beat)
    assert nxt is not None
    fid = ecg_delineate(x, fs, r, rr_ms=1000.0)
    assert (fid.t_peak, fid.t_off) == _t_wave(beat, on, off, stop=nxt - 10)
    assert abs(fid.t_peak - (r + 225)) <= 2
    implied = _t_wave(replace_rr(beat, nxt - on), on, off, stop=nxt - 10)
    assert implied[0] != fid.t_peak


def test_a_qrs_that_never_ends_in_the_search_ends_at_its_last_sample():
    # A second deflection 76 ms after R runs into a steep slope (10 µV/ms on lead 2) that
    # lasts past the 250 ms search: the velocity never falls back, so the offset is the
    # search's last sample, R + 124 at 500 Hz (the quiet stretch before the slope keeps the
    # isoelectric level low).
    fs, r, n = 500.0, 300, 1200
    t = np.arange(n, dtype=np.float64)
    x = np.zeros((2, n))
    x[0] = _pulse_beat(n=n, centres=(r,))[0] - 300.0 * (t - 338) / 4.0 * np.exp(
        -0.5 * ((t - 338) / 4.0) ** 2)
    x[1] = 20.0 * np.maximum(0.0, t - 338)
    on, off, _ = _qrs(_Beat(x=x, fs=fs, r=r, rr=None))
    assert off == r + 124
    assert (on, off) == _ref_qrs(x, fs, r, DEFAULT_PARAMS.qrs_on, DEFAULT_PARAMS.qrs_off)
