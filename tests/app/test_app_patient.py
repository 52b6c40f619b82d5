"""The Patient view with AppTest over the tiny runs: a dataset record read against a run
(intervals, neighbours, factor profile, reconstruction error, the report's buttons)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import build_tiny_runs, run_folder


@pytest.fixture
def runs_dir(tmp_path_factory, monkeypatch) -> Path:
    runs, _ = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))
    return runs


def _table(at: AppTest, column: str):
    """The one table of the page with ``column``."""
    (found,) = [d.value for d in at.table if column in d.value.columns]
    return found


def _run(at: AppTest) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_patient_view_dataset_record(runs_dir) -> None:
    from ecgcore.runs.run import Run

    run = run_folder(runs_dir, "beta_vae")
    at = _run(AppTest.from_file(APP, default_timeout=240))
    at = _run(at.multiselect(key="runs").set_value([str(run)]))
    at = _run(at.switch_page("pages/patient.py"))
    at = _run(at.radio(key="patient_source").set_value("A record of the run's dataset"))
    at = _run(at.selectbox(key="patient_record").select_index(4))
    assert not at.error, [e.value for e in at.error]
    r = Run(run)
    rid = str(r.cache.records["record_id"].iloc[4])
    neighbours = _table(at, "distance")
    assert str(neighbours["record_id"].iloc[0]) == rid  # a cohort record is its own nearest
    intervals = _table(at, "This workbench")
    assert list(intervals["Measure"])[:4] == ["Heart rate", "P duration", "PR interval", "QRS duration"]
    qrs = float(intervals.set_index("Measure").loc["QRS duration", "This workbench"])
    assert qrs == pytest.approx(float(r.cache.records["qrs_ms"].iloc[4]))
    errors = _table(at, "RMS error (µV)")
    assert list(errors["Wave"]) == ["P", "QRS", "ST", "T", "other", "whole beat"]
    assert "Report" in [s.value for s in at.subheader]


def test_patient_view_ecg_sl_attention_on_the_record(family_cache, tmp_path, monkeypatch) -> None:
    """A tiny ECG-SL run: its attention over the beats drawn as bands on the record's strip,
    one per beat it read, with the caution in the caption and the numbers downloadable."""
    import json

    import numpy as np
    import torch

    from ecgcore.runs.run import Run
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
        run = train(cfg, tmp_path / "runs", progress=False)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(tmp_path / "runs"))
    at = _run(AppTest.from_file(APP, default_timeout=240))
    at = _run(at.multiselect(key="runs").set_value([str(run)]))
    at = _run(at.switch_page("pages/patient.py"))
    at = _run(at.radio(key="patient_source").set_value("A record of the run's dataset"))
    at = _run(at.selectbox(key="patient_record").select_index(2))
    assert not at.error, [e.value for e in at.error]
    assert "Attention over beats" in [s.value for s in at.subheader]
    mask = np.asarray(Run(run).cache.array("sequence_mask")[2])
    (fig,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
              if "patient_attention" in c.proto.id]
    bands = [s for s in fig["layout"]["shapes"] if s.get("name", "").startswith("attention:")]
    assert len(bands) == int(mask.sum())
    assert any("no proof" in c.value for c in at.caption)
