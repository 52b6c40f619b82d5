"""The Patient view's science (ecgcore.runs.patient) on real records: PTB-XL written to
clinical formats by tests/io/ecg_writers.py, read against the tiny runs of the demo data."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "io"))
from ecg_writers import write_edf, write_muse
from tiny_runs import run_folder

from ecgcore.io import read_wfdb
from ecgcore.io.formats import read_ecg
from ecgcore.runs.patient import explain_patient, patient_cache, read_upload, save_uploads
from ecgcore.runs.run import Run
from ecgcore.signal.pipeline import PipelineConfig, process_record
from ecgcore.signal.regions import region_bounds

DATA = ROOT.parent / "shared" / "data" / "ptbxl500" / "records500" / "00000"


@pytest.fixture(scope="module")
def tiny_runs(tiny) -> Path:
    return tiny[0]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> list[Path]:
    """PTB-XL 00002_hr as GE MUSE XML (12 leads) and as a one-lead EDF (lead II), saved as
    uploads under a name that carries a (made-up) patient name."""
    record = read_wfdb(DATA / "00002_hr.hea")
    src = tmp_path_factory.mktemp("src")
    muse = write_muse(record.signal, record.fs, src / "Doe_Jane_1950.xml")
    edf = write_edf(record.signal[1:2], record.fs, src / "one.edf", labels=["ECG II"])
    return save_uploads([("Doe_Jane_1950.xml", muse.read_bytes()), ("one.edf", edf.read_bytes())],
                        tmp_path_factory.mktemp("private") / "files")


def test_uploads_private_and_neutral(uploads, tmp_path) -> None:
    assert [p.name for p in uploads] == ["upload-1.xml", "upload-2.edf"]
    assert stat.S_IMODE(uploads[0].parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(uploads[0].stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="upload 1: .* over the 0 MB limit"):
        save_uploads([("a.xml", b"x" * 2000)], tmp_path / "f", max_bytes=1000)
    with pytest.raises(ValueError, match="upload 1 .*empty"):
        save_uploads([("a.xml", b"")], tmp_path / "g")


def test_upload_measured_as_the_pipeline_measures_it(tiny_runs, uploads, tmp_path) -> None:
    run = Run(run_folder(tiny_runs, "pca"))
    cache, manifest = patient_cache(run, uploads[0].parent, tmp_path / "cache")
    assert list(manifest["status"]) == ["ok", "ok"]
    record, device = read_upload(uploads[0])
    result = explain_patient(run, cache, 0, device=device, record=record)
    # independently: the file read and run through the cohort's pipeline
    feats = process_record(read_ecg(uploads[0]), PipelineConfig(**run.cache.info["pipeline"])).features
    iv = result.intervals.set_index("measure")
    for key in ("hr_bpm", "qrs_ms", "qt_ms", "axis_deg"):
        assert iv.loc[key, "value"] == pytest.approx(feats[key], abs=1e-3)
    assert result.device_source == device["source"] == "GE MUSE 12SL"
    assert iv.loc["qrs_ms", "device"] == device["qrs_ms"]
    hr = iv.loc["hr_bpm", "value"]
    assert iv.loc["hr_bpm", "flag"] == ("low" if hr < 50 else "high" if hr > 100 else "")
    assert "Doe" not in result.record_id and result.record_id == "upload-1"
    # its reconstruction error per wave, recomputed from the fiducials
    qrs = region_bounds(result.fiducials, result.model_beat.shape[-1])["QRS"]
    err = result.reconstruction[:, qrs[0]:qrs[1]] - result.model_beat[:, qrs[0]:qrs[1]]
    got = result.wave_error.set_index("region").loc["QRS", "rms_uv"]
    assert got == pytest.approx(float(np.sqrt(np.mean(err ** 2))), rel=1e-9)
    # the neighbours are the cohort records nearest in latent space, nearest first
    d = np.linalg.norm(run.means() - result.z, axis=1)
    assert list(result.neighbours["row"]) == list(np.argsort(d, kind="stable")[:5])


def test_one_lead_against_a_twelve_lead_model(tiny_runs, uploads, tmp_path) -> None:
    run = Run(run_folder(tiny_runs, "pca"))
    cache, _ = patient_cache(run, uploads[0].parent, tmp_path / "cache")
    result = explain_patient(run, cache, 1)
    assert result.lead_problem and "I, III, aVR" in result.lead_problem and "missing" in result.lead_problem
    assert result.z is None and result.neighbours is None
    assert np.isfinite(result.intervals.set_index("measure").loc["qrs_ms", "value"])


def test_a_cohort_record_lands_on_itself(tiny_runs) -> None:
    run = Run(run_folder(tiny_runs, "beta_vae"))
    row = 7
    result = explain_patient(run, run.cache, row)
    np.testing.assert_allclose(result.z, run.means()[row], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.xy, run.projection("pca")[row], atol=1e-3)
    assert result.neighbours["row"].iloc[0] == row
    assert result.neighbours["distance"].iloc[0] == pytest.approx(0.0, abs=1e-5)
    sd = (result.z - run.means().mean(0)) / run.means().std(0)
    np.testing.assert_allclose(result.profile["sd"], sd)
    tsne = explain_patient(run, run.cache, row, projection="tsne")
    xy = run.projection("tsne")[tsne.neighbours["row"].to_numpy()].mean(axis=0)
    np.testing.assert_allclose(tsne.xy, xy, rtol=1e-6)
    assert "cannot place a new point" in tsne.placement


def test_task_head_probability_and_counterfactual(tiny_runs) -> None:
    run = Run(run_folder(tiny_runs, "task_vae"))
    result = explain_patient(run, run.cache, 3)
    p = float(result.probabilities["probability"].iloc[0])
    cf = result.counterfactual
    assert cf.prob_original == pytest.approx(p, abs=1e-5)  # two paths through the head
    assert (cf.prob_original - 0.5) * (cf.prob_counterfactual - 0.5) < 0  # it crosses
    shares = result.saliency[["P", "QRS", "ST", "T", "other"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)


def test_damaged_file_named_in_manifest(tiny_runs, uploads, tmp_path) -> None:
    folder = tmp_path / "files"
    good = uploads[0].read_bytes()
    save_uploads([("a.xml", good[: len(good) // 2]), ("b.xml", good)], folder)
    run = Run(run_folder(tiny_runs, "pca"))
    cache, manifest = patient_cache(run, folder, tmp_path / "cache")
    bad = manifest.set_index("record_id").loc["upload-1"]
    assert bad["status"] == "skipped" and "upload-1.xml" in bad["reason"]
    assert len(cache) == 1  # the bad file costs nothing else


@pytest.fixture(scope="module")
def ecg_sl_run(family_cache, tmp_path_factory) -> Path:
    """A tiny ECG-SL run (one epoch per stage) on the demo records' beat sequences."""
    import torch

    from trainer.config import load_config
    from trainer.run import train

    cfg = load_config(ROOT / "trainer" / "configs" / "ecg_sl.yaml", [
        f"data.path={family_cache}", "data.fs=100", "model.beat_backbone={kind: small, width: 0.25}",
        "model.dim=16", "model.depth=1", "model.heads=2", "model.head_hidden=16",
        ("stages=[{name: beat_ae, max_epochs: 1}, {name: masked, max_epochs: 1}, "
         "{name: finetune, uses_labels: true, max_epochs: 1}]")])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(cfg, tmp_path_factory.mktemp("sl_runs"), progress=False)
    finally:
        torch.set_num_threads(threads)


def test_ecg_sl_attention_over_the_uploaded_beats(ecg_sl_run, uploads, tmp_path) -> None:
    import torch

    run = Run(ecg_sl_run)
    cache, _ = patient_cache(run, uploads[0], tmp_path / "cache")  # one file, resampled to 100 Hz
    result = explain_patient(run, cache, 0, saliency=False)
    item = run.preprocessing.dataset(cache, [0])[0]
    with torch.inference_mode():  # independently: the model's own attention
        w = run.model.attention(item["x"][None], item["mask"][None])[0].numpy()
    valid = item["mask"].numpy().astype(bool)
    assert result.attention.shape == (int(valid.sum()),)
    np.testing.assert_allclose(result.attention, w[valid], rtol=1e-6)
    assert result.attention.sum() == pytest.approx(1.0, abs=1e-5)  # pooled over its beats
    # where those beats lie on the cleaned record: the stored sequence, sample for sample
    spans, stored = result.attention_spans, cache.array("sequences")[0][valid]
    assert len(spans) == len(result.attention)
    for k, (a, b) in enumerate(spans):
        np.testing.assert_allclose(result.attention_signal[:, a:b], stored[k], atol=1e-3)
    assert len(result.probabilities) == len(run.preprocessing.task)


def test_signal_model_predicts_without_decoder(cnn_run, uploads, tmp_path) -> None:
    import torch

    run = Run(cnn_run)
    cache, _ = patient_cache(run, uploads[0], tmp_path / "cache")
    result = explain_patient(run, cache, 0)
    assert result.reconstruction is None and any("no decoder" in w for w in result.warnings)
    x = run.preprocessing.dataset(cache, [0])[0]["x"][None]
    with torch.inference_mode():
        p = torch.sigmoid(run.model.predict_logits(x))[0].numpy()
    np.testing.assert_allclose(result.probabilities["probability"], p, rtol=1e-5)
    assert result.saliency is None  # whole-signal maps: the Saliency view's, not this page's
