"""The run listing names a corrupt split.json, status.json or metrics.csv (such runs were
listed as "finished" with no problem, and the views then failed or showed a wrong
history)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ecgcore.runs import list_runs
from trainer.config import load_config
from trainer.run import train

REPO = Path(__file__).resolve().parents[2]

CORRUPTIONS = {
    "split.json": '{"train": ["1", "2"',                 # cut off mid-write
    "status.json": "garbage{",
    "metrics.csv": 'epoch,stage,val/recon_mse\n0,fit,0.01\n\x00\x00\x00\x00,\x00',  # torn write
}


@pytest.fixture(scope="module")
def finished_run(family_cache, tmp_path_factory) -> Path:
    cfg = load_config(REPO / "trainer" / "configs" / "pca.yaml",
                      [f"data.path={family_cache}", "data.fs=100", "model.latent_dim=4"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(cfg, tmp_path_factory.mktemp("runs"), progress=False)
    finally:
        torch.set_num_threads(threads)


def test_a_whole_run_is_listed_finished_without_a_problem(finished_run):
    row = list_runs(finished_run.parent).iloc[0]
    assert (row["status"], row["problem"]) == ("finished", "")


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupt_run_file_is_named_in_the_listing(finished_run, tmp_path, name):
    run = tmp_path / f"bad_{name.replace('.', '_')}"
    shutil.copytree(finished_run, run)
    (run / name).write_text(CORRUPTIONS[name])
    row = list_runs(tmp_path).set_index("name").loc[run.name]
    assert name in row["problem"]
