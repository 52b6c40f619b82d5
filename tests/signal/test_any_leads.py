"""Any ECG a user has: real records damaged on purpose (a spiking lead, two flat leads, a
4.5-s strip), a wearable's single lead made from a real record, and the QT Database's
two-lead Holter records. Each is measured on what is usable in it, bad leads named."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy import signal as sps

from ecgcore.data.cache import CacheOptions, preprocess
from ecgcore.data.store import ECGCache
from ecgcore.io import RecordError, read_wfdb
from ecgcore.io.qtdb import annotated_window, write_annotated_windows
from ecgcore.leads import STANDARD_LEADS, parse_lead_map
from ecgcore.signal.kors import kors_xyz
from ecgcore.signal.pipeline import process_record

NAME = "00001_hr"


@pytest.fixture(scope="module")
def original(ptbxl500) -> Path:
    return ptbxl500 / "records500" / "00000" / NAME


@pytest.fixture(scope="module")
def reference(original):
    """The undamaged record's measurement."""
    return process_record(read_wfdb(original))


def damaged(original: Path, out: Path, edit, name: str = NAME) -> Path:
    """A copy of the real record with its digital samples (1000 units per mV) edited."""
    rec = wfdb.rdrecord(str(original), physical=False)
    samples = edit(rec.d_signal.copy())
    wfdb.wrsamp(name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name, d_signal=samples,
                fmt=rec.fmt, adc_gain=rec.adc_gain, baseline=rec.baseline, write_dir=str(out))
    return out / name


def without(record, leads: list[str]):
    """The record with these leads removed (NaN rows, listed missing): what a measurement
    that leaves them out must equal."""
    signal = record.signal.copy()
    signal[[record.leads.index(lead) for lead in leads]] = np.nan
    return dataclasses.replace(record, signal=signal, missing_leads=tuple(leads))


def same_features(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert value == b[key] or (math.isnan(value) and math.isnan(b[key])), key


def near_intervals(a: dict, b: dict, tol_ms: float) -> None:
    """Heart rate within 1 bpm; QRS and QT within ``tol_ms``."""
    assert abs(a["hr_bpm"] - b["hr_bpm"]) < 1.0
    for key in ("qrs_ms", "qt_ms"):
        assert abs(a[key] - b[key]) <= tol_ms, (key, a[key], b[key])


def test_one_lead_spiking_is_left_out(original, reference, tmp_path):
    def spike(d):
        d[1000:1004, 6] = 26_000  # V1 spikes to 26 mV
        return d

    res = process_record(read_wfdb(damaged(original, tmp_path, spike)))
    assert list(res.bad_leads) == ["V1"] and "26.0 mV beyond ±20 mV" in res.bad_leads["V1"]
    assert math.isnan(res.features["r_amp_V1_uv"]) and np.isnan(res.median[6]).all()
    # Exactly the measurement of the undamaged record without V1.
    same_features(res.features, process_record(without(read_wfdb(original), ["V1"])).features)
    assert math.isfinite(res.features["axis_deg"]) and res.feature_notes == {}


def test_two_flat_leads_are_left_out(original, reference, tmp_path):
    def flat(d):
        d[:, [7, 9]] = 0  # V2, V4 disconnected (baseline 0)
        return d

    res = process_record(read_wfdb(damaged(original, tmp_path, flat)))
    assert sorted(res.bad_leads) == ["V2", "V4"]
    assert all("flat or disconnected" in why for why in res.bad_leads.values())
    same_features(res.features, process_record(without(read_wfdb(original), ["V2", "V4"])).features)


def test_a_4_5_second_strip_is_measured(original, reference, tmp_path):
    res = process_record(read_wfdb(damaged(original, tmp_path, lambda d: d[:2250])))
    assert res.quality.n_kept == 3 and res.bad_leads == {}  # the 3 complete beats
    near_intervals(res.features, reference.features, tol_ms=10.0)
    # The median of 3 beats may show no P wave clear enough to delineate: then said so.
    if math.isnan(res.features["pr_ms"]):
        assert res.feature_notes["pr_ms"].startswith("no P wave found")


def test_a_3_second_strip_is_refused(original, tmp_path):
    with pytest.raises(RecordError, match=r"too short: .* 3.00 s, minimum 4 s"):
        read_wfdb(damaged(original, tmp_path, lambda d: d[:1500]))


def single_lead(original: Path, out: Path, name: str = "wearable") -> Path:
    """Lead I of the real record resampled to 300 Hz, written as a one-lead record 'ECG'."""
    rec = wfdb.rdrecord(str(original), channel_names=["I"])
    lead = sps.resample_poly(rec.p_signal[:, 0], 3, 5)
    wfdb.wrsamp(name, fs=300, units=["mV"], sig_name=["ECG"], p_signal=lead[:, None],
                fmt=["16"], adc_gain=[1000.0], baseline=[0], write_dir=str(out))
    return out / name


def test_single_lead_record_is_measured(original, reference, tmp_path):
    path = single_lead(original, tmp_path)
    record = read_wfdb(path)
    assert record.leads == ("ECG",) and record.fs == 300 and record.missing_leads == ()
    res = process_record(record)
    assert res.median.shape == (1, 400)
    # What the same lead gives at its original 500 Hz (one lead sees a narrower QRS than
    # the global 12-lead one, so the comparison is with lead I alone).
    full = read_wfdb(original)
    lead_i = process_record(dataclasses.replace(full, signal=full.signal[:1].copy(), leads=("I",)))
    near_intervals(res.features, lead_i.features, tol_ms=10.0)
    assert math.isnan(res.features["axis_deg"])
    assert res.feature_notes["axis_deg"] == "needs leads I and aVF; absent or left out: I, aVF"

    mapped = read_wfdb(path, lead_map={"ecg": "i"})
    assert mapped.leads == STANDARD_LEADS and mapped.missing_leads == STANDARD_LEADS[1:]
    np.testing.assert_array_equal(mapped.lead("I"), record.lead("ECG"))


def _ecgwb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecgwb.cli", *args], capture_output=True, text=True)


def test_measure_json_names_leads_and_bad_leads(original, tmp_path):
    single_lead(original, tmp_path)
    r = _ecgwb("measure", str(tmp_path / "wearable"), "--json", "--lead-map", "ECG=I")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["leads"] == ["I"] and row["bad_leads"] == {}
    assert row["missing_reasons"]["axis_deg"] == "needs leads I and aVF; absent or left out: aVF"
    bad = _ecgwb("measure", str(tmp_path / "wearable"), "--lead-map", "ECG")
    assert bad.returncode == 2 and "'ECG' is not NAME=LEAD" in bad.stderr


def test_parse_lead_map():
    assert parse_lead_map(" ECG=i, CM5 = v5,Holter=ECG9 ") == {"ECG": "I", "CM5": "V5", "Holter": "ECG9"}
    assert parse_lead_map("") == {} == parse_lead_map(None)
    with pytest.raises(ValueError, match="'=I' is not NAME=LEAD"):
        parse_lead_map("=I")


def test_kors_needs_the_8_independent_leads():
    x = np.zeros((2, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="need the 8 independent leads .*absent: I, V1, V2, V3, V4, V6"):
        kors_xyz(x, ("II", "V5"))


def test_cache_of_mixed_leads(original, tmp_path):
    """A folder with a 12-lead record, one with two flat leads and a single-lead one: the
    cache holds the union of the leads, the manifest names the bad leads."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    damaged(original, folder, lambda d: d, name="full")

    def flat(d):
        d[:, [7, 9]] = 0
        return d

    damaged(original, folder, flat, name="flat2")
    single_lead(original, folder)
    summary = preprocess(folder, tmp_path / "cache", workers=1, progress=False)
    assert summary.n_ok == 3, str(summary)
    cache = ECGCache(tmp_path / "cache")
    assert cache.leads == STANDARD_LEADS + ("ECG",)
    manifest = cache.manifest.set_index("record_id")
    assert manifest.loc["full", "bad_leads"] == "" == manifest.loc["wearable", "bad_leads"]
    assert manifest.loc["flat2", "bad_leads"].startswith("V2: flat or disconnected")
    median = np.asarray(cache.median)
    ids = cache.records["record_id"].tolist()
    full, wear = median[ids.index("full")], median[ids.index("wearable")]
    assert np.isfinite(full[:12]).all() and np.isnan(full[12]).all()
    assert np.isnan(wear[:12]).all() and np.isfinite(wear[12]).all()

    mapped = preprocess(folder, tmp_path / "cache_mapped", workers=1, progress=False,
                        options=CacheOptions(lead_map={"ECG": "I"}))
    assert mapped.n_ok == 3 and ECGCache(tmp_path / "cache_mapped").leads == STANDARD_LEADS
    assert "lead_map" not in CacheOptions().to_dict()


QTDB_RECORDS = ("sel100", "sele0107", "sel30", "sel42")


def test_annotated_window_matches_the_readme(qtdb_dir, tmp_path):
    marks = wfdb.rdann(str(qtdb_dir / "sel100"), "q1c").sample
    start, stop = annotated_window(qtdb_dir / "sel100")
    assert (start, stop) == (marks.min() - 500, marks.max() + 501)  # ± 2 s at 250 Hz
    written = write_annotated_windows(qtdb_dir, tmp_path)
    assert len(written) == 53
    cut = wfdb.rdrecord(str(tmp_path / "sel100"), physical=False)
    whole = wfdb.rdrecord(str(qtdb_dir / "sel100"), physical=False, sampfrom=start, sampto=stop)
    np.testing.assert_array_equal(cut.d_signal, whole.d_signal)
    assert cut.sig_name == ["MLII", "V5"] and cut.fs == 250


@pytest.mark.parametrize("name", QTDB_RECORDS)
def test_qtdb_holter_records_are_measured(qtdb_dir, tmp_path, name):
    """Two-lead Holter windows with their own lead names; sel42's ECG1 clips at 2.56 mV
    on every QRS and is left out as saturated."""
    start, stop = annotated_window(qtdb_dir / name)
    rec = wfdb.rdrecord(str(qtdb_dir / name), physical=False, sampfrom=start, sampto=stop)
    wfdb.wrsamp(name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name, d_signal=rec.d_signal,
                fmt=["16"] * 2, adc_gain=rec.adc_gain, baseline=rec.baseline, write_dir=str(tmp_path))
    record = read_wfdb(tmp_path / name)
    res = process_record(record)
    named = {"sel100": ("II", "V5"), "sele0107": ("V4", "D3"), "sel30": ("ECG1", "ECG2"),
             "sel42": ("ECG1", "ECG2")}[name]
    assert set(named) <= set(res.leads)
    if name == "sel42":
        assert list(res.bad_leads) == ["ECG1"] and res.bad_leads["ECG1"].startswith("saturated")
    else:
        assert res.bad_leads == {}
    assert res.quality.n_kept >= 0.8 * res.quality.keep.size  # clean Holter beats are kept
    assert 40 <= res.features["hr_bpm"] <= 150 and 60 <= res.features["qrs_ms"] <= 200


def test_a_noise_dominated_lead_is_left_out(original, tmp_path):
    """Muscle-like noise (0.8 mV RMS, 0.5–100 Hz white) on V3 alone: V3 is named and left
    out, and the record is measured exactly as without V3."""
    rng = np.random.default_rng(0)

    def noisy(d):
        d[:, 8] += rng.normal(0.0, 800.0, d.shape[0]).round().astype(d.dtype)
        return d

    res = process_record(read_wfdb(damaged(original, tmp_path, noisy)))
    assert list(res.bad_leads) == ["V3"] and res.bad_leads["V3"].startswith("dominated by noise")
    same_features(res.features, process_record(without(read_wfdb(original), ["V3"])).features)


def test_v4_to_v6_spiking_16_to_23_mV(original, reference, tmp_path):
    """As in a hospital cohort: V4–V6 spike to 16, 18 and 23 mV at one instant. Only V6
    passes ±20 mV and is left out; the beat with the spikes fails the beat filter."""
    def spikes(d):
        for channel, mv in ((9, 16), (10, 18), (11, 23)):
            d[2500:2505, channel] = mv * 1000
        return d

    res = process_record(read_wfdb(damaged(original, tmp_path, spikes)))
    assert list(res.bad_leads) == ["V6"] and "23.0 mV" in res.bad_leads["V6"]
    assert res.quality.n_kept == reference.quality.n_kept - 1
    near_intervals(res.features, reference.features, tol_ms=4.0)


def test_the_qtdb_judge_reads_the_leads_as_the_reader_does(qtdb_dir):
    """`read_qtdb_window` (the QTDB judge's reader) leaves out what `ecgwb measure` leaves
    out (log item 19): sel42's saturated ECG1 is NaN and named; a clean window keeps both
    leads."""
    from ecgcore.io.qtdb import read_qtdb_window

    w = read_qtdb_window(qtdb_dir / "sel42")
    assert list(w.bad_leads) == ["ECG1"] and w.bad_leads["ECG1"].startswith("saturated")
    assert np.isnan(w.signal[0]).all() and np.isfinite(w.signal[1]).all()
    clean = read_qtdb_window(qtdb_dir / "sel100")
    assert clean.bad_leads == {} and np.isfinite(clean.signal).all()
