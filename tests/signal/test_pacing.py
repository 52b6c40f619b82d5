"""Pacing spikes (ecgcore.signal.pacing): constructed spike trains, and real paced records."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.io import read_wfdb
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.pacing import (
    SPIKE_BLANK_MS,
    detect_pacing,
    qrs_from_spike,
    qrs_onset_at_spike,
    remove_spikes,
)
from ecgcore.signal.pipeline import process_record
from ecgcore.signal.record_delineation import delineate_signal

FS = 500.0
N = 5000  # 10 s
R_PEAKS = np.arange(300, N - 200, 400)  # 75 bpm
# A different projection of the heart's vector on each of 12 leads.
LEAD_GAIN = np.array([0.8, 1.0, 0.3, -0.9, 0.4, 0.6, -0.5, 0.2, 0.7, 1.2, 1.1, 0.9])
SPIKE_GAIN = np.array([0.5, -1.0, -1.2, 0.3, 0.9, -1.1, 0.8, 1.3, 1.0, 0.7, 0.4, 0.2])


def _ecg() -> np.ndarray:
    """12 leads of P, QRS and T bumps (µV) at R_PEAKS: smooth, like a cleaned ECG."""
    t = np.arange(N)
    wave = np.zeros(N)
    for r in R_PEAKS:
        wave += 1000 * np.exp(-0.5 * ((t - r) / 5.0) ** 2)  # QRS, σ 10 ms
        wave += 120 * np.exp(-0.5 * ((t - r + 80) / 12.0) ** 2)  # P, 160 ms before R
        wave += 300 * np.exp(-0.5 * ((t - r - 150) / 30.0) ** 2)  # T
    return LEAD_GAIN[:, None] * wave[None, :]


def _add_spikes(x: np.ndarray, at: np.ndarray, height: float = 600.0) -> np.ndarray:
    """A pacing artefact at each sample of ``at``: a one-sample jump decaying over 3
    samples, the same lead pattern every time (one electrode)."""
    y = x.copy()
    for s in at:
        for k, frac in enumerate((1.0, 0.5, 0.2)):
            y[:, s + k] += SPIKE_GAIN * height * frac
    return y


def test_ventricular_spike_train_is_found_at_its_samples():
    spikes = R_PEAKS - 50  # 100 ms before each R
    res = detect_pacing(_add_spikes(_ecg(), spikes), FS, R_PEAKS)
    assert res.paced is True and res.kind == "ventricular"
    np.testing.assert_array_equal(res.spikes, spikes)
    assert res.lag_ms == [100.0] * len(spikes)
    assert res.to_dict(R_PEAKS)["paced_beats"] == [True] * len(R_PEAKS)


def test_atrial_and_ventricular_spikes_are_told_apart():
    v, a = R_PEAKS - 50, R_PEAKS - 140  # 100 ms and 280 ms before R
    res = detect_pacing(_add_spikes(_ecg(), np.concatenate([a, v])), FS, R_PEAKS)
    assert res.kind == "atrioventricular"
    np.testing.assert_array_equal(res.ventricular_spikes(), v)
    assert [s for s, c in zip(res.spikes, res.chamber) if c == "atrial"] == a.tolist()


def test_describe_says_what_was_found():
    paced = detect_pacing(_add_spikes(_ecg(), R_PEAKS - 50), FS, R_PEAKS)
    assert paced.describe() == (f"Paced (ventricular): {R_PEAKS.size} pacing spikes; the QRS "
                                "is measured from the ventricular spike (100 ms before R).")
    assert detect_pacing(_ecg(), FS, R_PEAKS).describe() == "Pacing: no pacing spikes found."


def test_no_spikes_is_not_paced():
    res = detect_pacing(_ecg(), FS, R_PEAKS)
    assert res.paced is False and res.spikes.size == 0 and res.kind is None


def test_noisy_spike_free_signal_is_not_paced():
    rng = np.random.default_rng(0)
    noisy = _ecg() + rng.normal(0.0, 40.0, (12, N))  # white noise: many one-sample steps
    res = detect_pacing(noisy, FS, R_PEAKS)
    assert res.paced is False and res.spikes.size == 0


def test_unlocked_jumps_are_not_pacing():
    # Same spikes, but at random places in diastole: not time-locked to the beats.
    rng = np.random.default_rng(1)
    at = R_PEAKS[:-1] + 180 + rng.integers(0, 150, R_PEAKS.size - 1)
    res = detect_pacing(_add_spikes(_ecg(), at), FS, R_PEAKS)
    assert res.paced is False


def test_low_rate_is_unknown_not_false():
    x = _add_spikes(_ecg(), R_PEAKS - 50)[:, ::5]  # 100 Hz
    res = detect_pacing(x, 100.0, R_PEAKS // 5)
    assert res.paced is None and "100 Hz" in res.reason
    up = detect_pacing(_ecg(), FS, R_PEAKS, source_fs=250.0)  # upsampled from 250 Hz
    assert up.paced is None


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\[leads, samples\]"):
        detect_pacing(np.zeros(N), FS, R_PEAKS)


def test_remove_spikes_bridges_the_spike_with_a_line():
    x = _ecg()
    at = np.array([1000])
    y = remove_spikes(_add_spikes(x, at), FS, at)
    w = round(SPIKE_BLANK_MS * FS / 1000)
    a, b = at[0] - 1, at[0] + w
    expected = x[:, a: a + 1] + (x[:, b: b + 1] - x[:, a: a + 1]) * (np.arange(1, b - a) / (b - a))
    np.testing.assert_allclose(y[:, a + 1: b], expected)
    np.testing.assert_array_equal(y[:, :a + 1], x[:, :a + 1])
    np.testing.assert_array_equal(y[:, b:], x[:, b:])


def test_qrs_onset_moves_to_the_spike_only_when_before_it():
    fid = Fiducials(fs=FS, r=250, qrs_on=190, qrs_off=300)
    assert qrs_onset_at_spike(fid, 200).qrs_on == 200
    assert qrs_onset_at_spike(fid, 180).qrs_on == 190  # onset already after the spike
    assert qrs_onset_at_spike(fid, None) == fid
    res = detect_pacing(_add_spikes(_ecg(), R_PEAKS - 50), FS, R_PEAKS)  # lag 100 ms
    assert qrs_from_spike(fid, res).qrs_on == 250 - 50


def _spike_per_beat(spikes: np.ndarray, rpeaks: np.ndarray, fs: float) -> list[int]:
    """For each R peak, how many spikes lie 20–200 ms before it."""
    lag = (rpeaks[:, None] - spikes[None, :]) * 1000.0 / fs
    return ((lag >= 20) & (lag <= 200)).sum(axis=1).tolist()


def test_ludb_ventricular_paced_record(ludb_dir):
    # LUDB 111: "Bipolar ventricular pacing", every beat paced.
    res = process_record(read_wfdb(ludb_dir / "data" / "111"))
    p = res.pacing
    assert p.paced is True and p.kind == "ventricular"
    assert _spike_per_beat(p.spikes, res.rpeaks, res.fs) == [1] * res.rpeaks.size
    # The QRS is measured from the spike: the onset is not before the median lag.
    assert res.analysis_fiducials.r - res.analysis_fiducials.qrs_on <= round(
        p.ventricular_lag_ms() * res.fs / 1000)


def test_ludb_dual_chamber_record(ludb_dir):
    # LUDB 45: "Unipolar atrial pacing" and "Unipolar ventricular pacing".
    res = process_record(read_wfdb(ludb_dir / "data" / "45"))
    assert res.pacing.kind == "atrioventricular"


def test_ludb_non_paced_record(ludb_dir):
    res = process_record(read_wfdb(ludb_dir / "data" / "1"))
    assert res.pacing.paced is False and res.pacing.spikes.size == 0


def test_ptbxl_pace_record_and_its_100_hz_version(ptbxl500):
    # PTB-XL 143: SCP code PACE, pacemaker "ja, pacemaker".
    res = process_record(read_wfdb(ptbxl500 / "records500" / "00000" / "00143_hr"))
    p = res.pacing
    assert p.paced is True and p.kind == "ventricular"
    per_beat = _spike_per_beat(p.spikes, res.rpeaks, res.fs)
    assert max(per_beat) == 1 and sum(per_beat) == p.spikes.size
    low = process_record(read_wfdb(ptbxl500 / "records100" / "00000" / "00143_lr"))
    assert low.pacing.paced is None  # 100 Hz: unknown, not "not paced"


def test_record_delineation_reports_pacing(ludb_dir):
    rec = read_wfdb(ludb_dir / "data" / "111")
    d = delineate_signal(rec.signal, rec.fs, rec.leads, per_lead=False).to_dict()
    assert d["paced"] is True and d["pacing"]["kind"] == "ventricular"
    assert len(d["pacing"]["paced_beats"]) == d["n_beats"]
    spikes = np.array(d["pacing"]["spikes"])
    beat_r = np.array([b["r"] for b in d["beats"]])
    assert d["pacing"]["paced_beats"] == [n == 1 for n in _spike_per_beat(spikes, beat_r, rec.fs)]
