"""trainer.jobs: real background trainings on the demo cache — one finishes, one is
cancelled, one fails — and the checks made before anything is launched."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from ecgcore.runs import list_runs
from trainer import jobs
from trainer.config import ConfigError, with_recipe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import build_tiny_runs


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory) -> Path:
    return build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")[1]


def tiny_config(cache: Path, epochs: int, **data) -> dict:
    raw = with_recipe(yaml.safe_load((ROOT / "trainer" / "configs" / "beta_vae.yaml").read_text()))
    raw["model"]["backbone"] = {"kind": "small", "width": 0.25}
    # median beats: the tiny runs' demo cache holds no single-beat array
    raw["data"].update(path=str(cache), batch_size=64, train_on="median", **data)
    raw["optim"]["max_epochs"] = epochs
    return raw


def test_a_launched_job_trains_to_the_end_in_its_own_folder(demo_cache, tmp_path):
    job = jobs.launch(tiny_config(demo_cache, epochs=2), tmp_path, threads=1)
    assert job.run.parent == tmp_path.resolve() and job.total_epochs == 2
    assert [j.run for j in jobs.list_jobs(tmp_path)] == [job.run]
    progress = jobs.wait(job, timeout=900)  # a hang guard, not a speed limit: CI's CPU is shared
    assert progress.status == "finished", progress.error
    assert progress.epochs_done == 2 and progress.fraction == 1.0
    assert all(float(r["val/total"]) > 0 for r in progress.rows)
    assert (job.run / "split.json").exists() and (job.run / "weights.safetensors").exists()
    row = list_runs(tmp_path).iloc[0]
    assert (row["status"], row["problem"], row["epochs"]) == ("finished", "", 2)
    assert jobs.cancel(job) == "finished"  # an ended job keeps its status


def test_a_cancelled_job_stops_its_process_group(demo_cache, tmp_path):
    job = jobs.launch(tiny_config(demo_cache, epochs=500), tmp_path, threads=1)
    deadline = time.monotonic() + 900  # a hang guard, not a speed limit
    while jobs.read_progress(job).epochs_done < 1 and time.monotonic() < deadline:
        assert jobs.read_progress(job).status in jobs.ACTIVE, jobs.log_tail(job)
        time.sleep(0.5)
    assert jobs.read_progress(job).status == "running"
    assert jobs.cancel(job) == "cancelled"
    assert not jobs.alive(job)
    progress = jobs.read_progress(job)
    assert progress.status == "cancelled" and 1 <= progress.epochs_done < 500
    assert list_runs(tmp_path).iloc[0]["status"] == "cancelled"


def test_a_job_that_dies_is_reported_failed_with_its_error(demo_cache, tmp_path):
    job = jobs.launch(tiny_config(demo_cache, epochs=2, task=["no_such_label"]), tmp_path,
                      threads=1)
    progress = jobs.wait(job, timeout=900)  # a hang guard, not a speed limit
    assert progress.status == "failed"
    assert "no_such_label" in progress.error
    assert jobs.read_progress(job).status == "failed"  # recorded in status.json


def test_bad_configs_are_refused_before_launching(demo_cache, tmp_path):
    raw = tiny_config(demo_cache, epochs=2)
    raw["optim"]["lr"] = -1.0
    with pytest.raises(ConfigError, match="optim.lr"):
        jobs.launch(raw, tmp_path)
    raw = tiny_config(demo_cache, epochs=2)
    raw["data"]["path"] = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match="missing: no such folder"):
        jobs.launch(raw, tmp_path)
    raw = tiny_config(demo_cache, epochs=2)
    raw["model"]["latent_dim"] = 0
    with pytest.raises(ConfigError, match="latent_dim"):
        jobs.launch(raw, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing was created
