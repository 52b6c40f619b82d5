"""The beat pipeline's steps on real records (PTB-XL, LUDB)."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecgcore.signal.beats import (
    WINDOW_R400,
    align_to_template,
    beat_quality,
    median_beat,
    segment_beats,
)
from ecgcore.signal.clean import ecg_clean, resample
from ecgcore.signal.kors import KORS_MATRIX, kors_xyz
from ecgcore.signal.rpeaks import ecg_peaks, rr_intervals_ms
from ecgcore.signal.scaling import GlobalMaxScaler, PerRecordScaler, scaler_from_dict
from ecgcore.signal.sequences import beat_sequence


def _read(path) -> tuple[np.ndarray, float]:
    r = wfdb.rdrecord(str(path))
    return (r.p_signal.T * 1000.0).astype(np.float32), float(r.fs)


@pytest.fixture(scope="module")
def ptbxl_record(ptbxl500):
    return _read(ptbxl500 / "records500" / "00000" / "00001_hr")


def _match(peaks, ref, tol):
    hit = np.abs(peaks[:, None] - ref[None, :]) <= tol
    return int(hit.any(1).sum()), len(peaks) - int(hit.any(1).sum()), len(ref) - int(hit.any(0).sum())


def test_rpeaks_match_ludb_experts(ludb_dir):
    """Sensitivity and PPV against the cardiologists' QRS marks (ANSI/AAMI EC57 150 ms window)."""
    tp = fp = fn = 0
    for rid in range(1, 200, 8):  # 25 records spread over the dev half
        path = ludb_dir / "data" / str(rid)
        x, fs = _read(path)
        ann = wfdb.rdann(str(path), "ii")
        ref = ann.sample[np.array(ann.symbol) == "N"]
        peaks = ecg_peaks(ecg_clean(x, fs), fs)
        peaks = peaks[(peaks > ref.min() - 0.3 * fs) & (peaks < ref.max() + 0.3 * fs)]
        a, b, c = _match(peaks, ref, int(0.15 * fs))
        tp, fp, fn = tp + a, fp + b, fn + c
    assert tp / (tp + fn) >= 0.99 and tp / (tp + fp) >= 0.99, (tp, fp, fn)


@pytest.mark.parametrize("damage", ["noise", "invert", "flat", "nan"])
def test_rpeaks_survive_one_bad_lead(ptbxl_record, damage):
    x, fs = ptbxl_record
    clean = ecg_clean(x, fs)
    ref = ecg_peaks(clean, fs)
    bad = clean.copy()
    lead = 1  # lead II, the lead single-lead detectors rely on
    if damage == "noise":
        bad[lead] += np.random.default_rng(0).normal(0, 2000, bad.shape[1]).astype(np.float32)
    elif damage == "invert":
        bad[lead] *= -1
    elif damage == "flat":
        bad[lead] = 0
    else:
        bad[lead] = np.nan
    peaks = ecg_peaks(bad, fs)
    a, b, c = _match(peaks, ref, int(0.05 * fs))
    assert b == 0 and c == 0, f"{damage}: {b} extra, {c} missed beats"


def test_clean_removes_baseline_wander_and_keeps_timing(ptbxl_record):
    x, fs = ptbxl_record
    t = np.arange(x.shape[1]) / fs
    drift = (800 * np.sin(2 * np.pi * 0.15 * t)).astype(np.float32)
    hum = (100 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    a = ecg_clean(x, fs)
    b = ecg_clean(x + drift + hum, fs)
    core = slice(int(fs), -int(fs))
    assert np.abs(a[:, core] - b[:, core]).mean() < 15  # µV, vs 800 µV drift and 100 µV hum
    assert np.array_equal(ecg_peaks(a, fs), ecg_peaks(b, fs))


def test_clean_works_at_100_hz(ptbxl500):
    x, fs = _read(ptbxl500 / "records100" / "00000" / "00001_lr")
    y = ecg_clean(x, fs)
    assert y.shape == x.shape and np.isfinite(y).all()


def test_resample_400_to_500_keeps_beats(ptbxl_record):
    x, fs = ptbxl_record
    x400 = resample(x, fs, 400)
    assert x400.shape[1] == 4000
    back = resample(x400, 400, 500)
    assert back.shape == x.shape
    p500 = ecg_peaks(ecg_clean(x, fs), fs)
    p400 = ecg_peaks(ecg_clean(x400, 400), 400) * 500 / 400
    assert len(p500) == len(p400) and np.abs(p500 - p400).max() <= 0.01 * fs


def test_beats_quality_and_median(ptbxl_record):
    x, fs = ptbxl_record
    clean = ecg_clean(x, fs)
    peaks = align_to_template(clean, ecg_peaks(clean, fs), fs)
    before, after = WINDOW_R400.offsets(fs)
    beats, used = segment_beats(clean, peaks, before, after)
    assert beats.shape[1:] == (12, 400) and len(used) == len(beats)
    assert (used - before >= 0).all() and (used + after <= x.shape[1]).all()
    q = beat_quality(beats)
    assert q.n_kept == len(beats)  # a clean sinus record keeps every beat
    noisy = beats.copy()
    noisy[0] = np.random.default_rng(1).normal(0, 300, noisy[0].shape)
    assert not beat_quality(noisy).keep[0]
    flat = beats.copy()
    flat[1] = 0.0
    assert not beat_quality(flat).keep[1]
    med = median_beat(beats[q.keep])
    assert med.shape == (12, 400)
    assert abs(int(np.argmax(np.abs(med[1]))) - before) <= 0.05 * fs  # R at the anchor


def test_rr_intervals(ptbxl_record):
    x, fs = ptbxl_record
    rr = rr_intervals_ms(ecg_peaks(ecg_clean(x, fs), fs), fs)
    assert 400 < rr.mean() < 1500 and rr.std() < 200


def test_kors_matrix_and_shapes(ptbxl_record):
    x, fs = ptbxl_record
    xyz = kors_xyz(x)
    assert xyz.shape == (3, x.shape[1])
    # X = 0.38 I − 0.07 II − 0.13 V1 + 0.05 V2 − 0.01 V3 + 0.14 V4 + 0.06 V5 + 0.54 V6
    expected_x = (0.38 * x[0] - 0.07 * x[1] - 0.13 * x[6] + 0.05 * x[7] - 0.01 * x[8]
                  + 0.14 * x[9] + 0.06 * x[10] + 0.54 * x[11])
    np.testing.assert_allclose(xyz[0], expected_x, rtol=1e-4, atol=1e-2)
    assert KORS_MATRIX.shape == (3, 8)
    batch = kors_xyz(np.stack([x, x]))
    assert batch.shape == (2, 3, x.shape[1])


def test_scalers_invert(ptbxl_record):
    x, _ = ptbxl_record
    batch = np.stack([x, 2 * x])
    g = GlobalMaxScaler().fit(batch)
    assert np.abs(g.transform(batch)).max() == pytest.approx(1.0)
    np.testing.assert_allclose(g.inverse_transform(g.transform(batch)), batch, rtol=1e-5, atol=1e-3)
    assert scaler_from_dict(g.to_dict()).scale_uv == g.scale_uv
    p = PerRecordScaler()
    y, scales = p.transform(batch)
    assert np.abs(y).reshape(2, -1).max(1) == pytest.approx([1.0, 1.0])
    np.testing.assert_allclose(p.inverse_transform(y, scales), batch, rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="unknown scaler"):
        scaler_from_dict({"kind": "zscore"})


def test_beat_sequence_padding(ptbxl_record):
    x, fs = ptbxl_record
    clean = ecg_clean(x, fs)
    peaks = ecg_peaks(clean, fs)
    seq, mask = beat_sequence(clean, peaks, fs, WINDOW_R400, max_beats=16)
    assert seq.shape == (16, 12, 400) and mask.dtype == bool
    n = int(mask.sum())
    assert 5 <= n < 16 and not seq[n:].any() and seq[:n].any()
    seq4, mask4 = beat_sequence(clean, peaks, fs, WINDOW_R400, max_beats=4)
    assert mask4.all() and np.array_equal(seq4, seq[:4])
