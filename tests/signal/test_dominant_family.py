"""The median beat of the dominant QRS morphology (`beats.dominant_family`,
`PipelineConfig.median_of`, `delineate_signal(median_of=...)`): edge cases on a real PTB-XL
record's beats with some inverted, and a real record with premature ventricular beats."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.io import read_wfdb
from ecgcore.signal.beats import WINDOW_ANALYSIS, dominant_family, median_beat
from ecgcore.signal.pipeline import PipelineConfig, process_record
from ecgcore.signal.record_delineation import delineate_signal


@pytest.fixture(scope="module")
def record(ptbxl500):
    return read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr")


@pytest.fixture(scope="module")
def beats(record):
    """The record's kept beats in the analysis window, R at ``r``."""
    res = process_record(record)
    return res.analysis_beats.astype(np.float64), WINDOW_ANALYSIS.offsets(res.fs)[0], res.fs


def _second_shape(beats: np.ndarray, which: list[int]) -> np.ndarray:
    """``beats`` with the beats ``which`` inverted: a QRS of another morphology."""
    out = beats.copy()
    out[which] *= -1.0
    return out


def test_one_shape_keeps_every_beat(beats):
    x, r, fs = beats
    assert dominant_family(x, r, fs).all()


def test_a_minority_of_another_shape_is_left_out(beats):
    x, r, fs = beats
    odd = [1, 4, 7]
    family = dominant_family(_second_shape(x, odd), r, fs)
    assert np.flatnonzero(~family).tolist() == odd


def test_the_majority_shape_wins_whichever_it_is(beats):
    x, r, fs = beats
    n = x.shape[0]
    odd = list(range(n // 2 + 1))  # the inverted beats are now the majority
    family = dominant_family(_second_shape(x, odd), r, fs)
    assert np.flatnonzero(family).tolist() == odd


def test_no_clear_family_keeps_every_beat(beats):
    x, r, fs = beats
    noise = np.random.default_rng(0).normal(0.0, 100.0, x.shape)
    assert dominant_family(noise, r, fs).all()  # no beat resembles another
    assert dominant_family(x[:2], r, fs).all()  # fewer beats than min_beats


def test_a_nan_lead_is_ignored(beats):
    x, r, fs = beats
    odd = [0, 5]
    y = _second_shape(x, odd)
    with_nan = y.copy()
    with_nan[:, 3] = np.nan
    expect = dominant_family(np.delete(y, 3, axis=1), r, fs)
    assert np.array_equal(dominant_family(with_nan, r, fs), expect)
    assert np.flatnonzero(~expect).tolist() == odd


@pytest.fixture(scope="module")
def pvc_record(ptbxl500):
    """PTB-XL 363 (PVC): nine sinus beats (QRS about 90 ms) and five premature ventricular
    beats (QRS about 148 ms, RR about 400 against 570–1060 ms) that the quality filter keeps,
    being alike."""
    return read_wfdb(ptbxl500 / "records500" / "00000" / "00363_hr")


def _premature(rpeaks: np.ndarray, beat_r: np.ndarray, fs: float) -> set[int]:
    """The R peaks of ``beat_r`` that come less than 0.8 × the median RR after the previous
    R peak."""
    rr = np.diff(rpeaks)
    early = rpeaks[1:][rr < 0.8 * np.median(rr)]
    return set(beat_r.tolist()) & set(early.tolist())


def test_pipeline_median_of_the_dominant_family(pvc_record):
    plain = process_record(pvc_record)
    dom = process_record(pvc_record, PipelineConfig(median_of="dominant"))
    assert plain.median_family is None
    left_out = set(dom.analysis_r[~dom.median_family].tolist())
    assert left_out == _premature(dom.rpeaks, dom.analysis_r, dom.fs)
    assert len(left_out) == 5
    np.testing.assert_array_equal(dom.analysis_median,
                                  median_beat(dom.analysis_beats[dom.median_family]))
    np.testing.assert_array_equal(dom.median_beats, dom.analysis_beats[dom.median_family])
    assert plain.median_beats is plain.analysis_beats
    assert not np.array_equal(dom.analysis_median, plain.analysis_median)
    assert dom.median.shape == plain.median.shape  # the model's median beat follows it
    assert dom.analysis_beats.shape == plain.analysis_beats.shape  # per beat: every beat kept
    assert 80 <= dom.features["qrs_ms"] <= 105  # the sinus beats' QRS


def test_delineate_signal_median_of(pvc_record):
    x, fs, leads = pvc_record.signal, pvc_record.fs, tuple(pvc_record.leads)
    plain = delineate_signal(x, fs, leads, per_lead=False)
    dom = delineate_signal(x, fs, leads, per_lead=False, median_of="dominant")
    assert plain.median_family is None
    assert len(dom.beats) == len(plain.beats)  # per-beat fiducials: every kept beat
    left_out = set(dom.beat_r[~dom.median_family].tolist())
    assert left_out == _premature(dom.rpeaks, dom.beat_r, fs) and len(left_out) == 5
    np.testing.assert_array_equal(dom.median_signal,
                                  median_beat(dom.beat_signals[dom.median_family]))
    np.testing.assert_array_equal(dom.median_beats, dom.beat_signals[dom.median_family])
    assert plain.median_beats is plain.beat_signals


def test_median_of_is_checked_and_keeps_old_cache_keys():
    with pytest.raises(ValueError, match="median beat source 'mode'"):
        PipelineConfig(median_of="mode")
    with pytest.raises(ValueError, match="median beat source"):
        delineate_signal(np.zeros((1, 5000)), 500.0, median_of="mode")
    assert "median_of" not in PipelineConfig().to_dict()  # caches made before keep their key
    assert PipelineConfig(median_of="dominant").to_dict()["median_of"] == "dominant"
