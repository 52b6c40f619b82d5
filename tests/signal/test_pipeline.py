"""The record → beats pipeline, the cache, the Datasets and the `preprocess`/`measure` commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgcore.data.cache import CacheOptions, preprocess
from ecgcore.data.datasets import CachedDataset
from ecgcore.data.store import ECGCache
from ecgcore.io import open_source, read_wfdb
from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.pipeline import PipelineConfig, process_record


@pytest.fixture(scope="module")
def record(ptbxl500):
    return read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr")


def test_process_record_on_a_real_ecg(record):
    res = process_record(record)
    assert res.median.shape == (12, 400) and res.beats.shape[1:] == (12, 400)
    f = res.fiducials
    assert f.r == 200  # R sits 400 ms into the ±400 ms window at 500 Hz
    assert f.qrs_on < f.r < f.qrs_off and f.qrs_off < f.t_off
    feats = res.features
    assert 50 < feats["hr_bpm"] < 100 and 70 <= feats["qrs_ms"] <= 130 and 320 <= feats["qt_ms"] <= 460
    assert 80 <= feats["p_ms"] <= 140 and 120 <= feats["pr_ms"] <= 200
    assert -30 <= feats["axis_deg"] <= 90  # normal axis for this NORM record
    assert feats["r_amp_II_uv"] > 200 and feats["rr_sd_ms"] < 100


def test_qrs750_window_is_anchored_on_qrs_onset(record):
    res = process_record(record, PipelineConfig(window="qrs750"))
    assert res.median.shape == (12, 375)
    assert abs(res.fiducials.qrs_on - 137) <= 1  # QRS onset 275 ms into the window


def test_pipeline_resamples_other_rates(ptbxl500):
    low = read_wfdb(ptbxl500 / "records100" / "00000" / "00001_lr")
    high = read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr")
    a, b = process_record(low), process_record(high)
    assert a.median.shape == b.median.shape
    assert abs(a.features["hr_bpm"] - b.features["hr_bpm"]) < 1
    assert abs(a.features["qrs_ms"] - b.features["qrs_ms"]) <= 20


def _damaged_folder(ptbxl500: Path, tmp: Path) -> Path:
    src = ptbxl500 / "records500" / "00000"
    folder = tmp / "mixed"
    folder.mkdir()
    for i in range(1, 9):
        for ext in ("hea", "dat"):
            shutil.copy(src / f"{i:05d}_hr.{ext}", folder / f"{i:05d}_hr.{ext}")
    (folder / "00002_hr.dat").write_bytes((folder / "00002_hr.dat").read_bytes()[:5000])  # truncated
    (folder / "00003_hr.dat").unlink()  # missing signal
    (folder / "00004_hr.hea").write_text("garbage\n")  # corrupt header
    return folder


def test_preprocess_skips_bad_records_with_reasons_and_reuses_work(ptbxl500, tmp_path):
    folder = _damaged_folder(ptbxl500, tmp_path)
    out = tmp_path / "cache"
    s1 = preprocess(folder, out, workers=2, progress=False)
    assert (s1.n_records, s1.n_ok) == (8, 5)
    manifest = ECGCache(out).manifest.set_index("record_id")
    assert "truncated" in manifest.loc["00002_hr", "reason"]
    assert "00003_hr" in manifest.loc["00003_hr", "reason"]
    assert manifest.loc["00004_hr", "status"] == "skipped"
    assert (manifest.loc[manifest.status == "ok", "n_kept"] >= 3).all()
    cache = ECGCache(out)
    assert cache.median.shape == (5, 12, 400) and isinstance(cache.median, np.memmap)
    assert list(cache.records.record_id) == ["00001_hr", "00005_hr", "00006_hr", "00007_hr", "00008_hr"]
    s2 = preprocess(folder, out, workers=1, progress=False)
    assert s2.n_reused == 8 and s2.n_ok == 5
    assert "skipped" in str(s1) and sum(s1.reasons.values()) == 3


def _openblas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p.get("internal_api") == "openblas"]


def test_preprocess_workers_share_the_cores_blas_threads_included(ptbxl500, tmp_path, monkeypatch):
    """Each pool process gets cores ÷ workers BLAS threads (OpenBLAS's own threads in every
    process had made two processes on two cores slower than one)."""
    from concurrent.futures import ProcessPoolExecutor

    import ecgcore.data.cache as cache

    seen = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, workers, initializer, initargs):
            super().__init__(workers, initializer=initializer, initargs=initargs)
            seen.append(self.submit(_openblas_threads).result())

    default = _openblas_threads()
    monkeypatch.setattr(cache, "ProcessPoolExecutor", Recording)
    monkeypatch.setattr(cache.os, "cpu_count", lambda: 2)
    folder = tmp_path / "two"
    shutil.copytree(ptbxl500 / "records500" / "00000", folder,
                    ignore=lambda d, names: [n for n in names if not n.startswith(("00001_hr", "00002_hr"))])
    summary = preprocess(folder, tmp_path / "cache", workers=2, progress=False)
    assert summary.n_ok == 2
    assert seen and seen[0] and set(seen[0]) == {1}, seen  # 2 cores ÷ 2 workers
    assert _openblas_threads() == default  # this process keeps its own


def test_cache_with_sequences_signals_and_labels(ptbxl500, tmp_path):
    folder = _damaged_folder(ptbxl500, tmp_path)
    labels = tmp_path / "labels.csv"  # a made-up labels table: a fixture, not a finding
    labels.write_text("record_id,lvef,reduced_lvef\n1,55.0,0\n5,30.5,1\n6,61,0\n")
    out = tmp_path / "cache"
    preprocess(folder, out, options=CacheOptions(sequences=True, signals=True), labels=labels, progress=False)
    cache = ECGCache(out)
    seq, mask = cache.array("sequences"), cache.array("sequence_mask")
    assert seq.shape[1:] == (16, 12, 400) and mask.shape == (5, 16) and mask.any(1).all()
    assert cache.array("signals").shape == (5, 12, 5000)
    rec = cache.records.set_index("record_id")
    assert rec.loc["00005_hr", "lvef"] == 30.5 and np.isnan(rec.loc["00007_hr", "lvef"])
    ds = CachedDataset(cache, array="sequences", label_columns=["lvef"], extra_columns=["rr_mean_ms"])
    item = ds[0]
    assert item["x"].shape == (16, 12, 400) and item["mask"].dtype.is_floating_point is False
    xyz = CachedDataset(cache, leads="xyz", scale_uv=1000.0)[1]["x"]
    assert xyz.shape == (3, 400) and float(xyz.abs().max()) < 5
    with pytest.raises(KeyError, match="no column"):
        CachedDataset(cache, label_columns=["nope"])
    with pytest.raises(FileNotFoundError, match="no 'nope' array"):
        cache.array("nope")


def _ecgwb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecgwb.cli", *args], capture_output=True, text=True)


def test_measure_json_and_errors(ptbxl500, tmp_path):
    r = _ecgwb("measure", str(ptbxl500 / "records500" / "00000" / "00001_hr"), "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.strip().splitlines()[0])
    assert set(row) == {"record", "hr_bpm", "p_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg",
                        "leads", "bad_leads", "missing_reasons", "paced", "pacing", "confidence",
                        "rhythm_regular"}
    # each interval says how sure it is: the same figures as the library's (and the Data view's)
    res = process_record(read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr"))
    assert row["confidence"] == res.confidence()
    assert set(row["confidence"]) == {"p_ms", "pr_ms", "qrs_ms", "qt_ms"}
    assert all(c["n_beats"] >= 3 and not c["absent"] for c in row["confidence"].values())
    assert row["paced"] is False and row["pacing"]["n_spikes"] == 0  # a NORM record
    assert row["rhythm_regular"] is res.rhythm_regular is True  # sinus rhythm
    assert row["record"] == "00001_hr" and 70 <= row["qrs_ms"] <= 130
    assert row["leads"] == list(STANDARD_LEADS) and row["bad_leads"] == {} == row["missing_reasons"]
    folder = _damaged_folder(ptbxl500, tmp_path)
    rows = [json.loads(x) for x in _ecgwb("measure", str(folder), "--json").stdout.splitlines()]
    assert len(rows) == 8 and sum("error" in x for x in rows) == 3
    assert "truncated" in next(x for x in rows if x["record"] == "00002_hr")["error"]
    missing = _ecgwb("measure", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "nowhere" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _ecgwb("preprocess", str(empty), "--out", str(tmp_path / "c"))
    assert r.returncode != 0 and "no WFDB records" in r.stderr


def test_source_reads_demo_at_its_own_rate(demo_dir):
    src = open_source(demo_dir)
    assert len(src) == 500 and src.read("1").fs == 100


def test_a_noisy_record_is_skipped_with_every_lead_noise_dominated(ptbxl500, tmp_path):
    """A real record buried in noise on every lead passes reading but not the noise check."""
    import wfdb

    from ecgcore.io.record import RecordError

    rec = wfdb.rdrecord(str(ptbxl500 / "records500" / "00000" / "00003_hr"))
    noisy = rec.p_signal + np.random.default_rng(0).normal(0, 2.0, rec.p_signal.shape)  # 2 mV
    wfdb.wrsamp("noisy", fs=rec.fs, units=rec.units, sig_name=rec.sig_name, p_signal=noisy,
                fmt=["16"] * 12, adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    record = read_wfdb(tmp_path / "noisy")  # a readable, plausible file
    with pytest.raises(RecordError, match="noisy.*no usable lead left: I: dominated by noise") as err:
        process_record(record)
    assert str(err.value).count("dominated by noise") == 12
    summary = preprocess(tmp_path, tmp_path / "cache", workers=1, progress=False)
    assert summary.n_ok == 0 and "no usable lead left" in next(iter(summary.reasons))
