"""Two users at once: trainings, the app and preprocessing sharing one data folder, one
cache folder and one runs folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.data.cache import preprocess
from ecgcore.data.locking import FolderBusy, folder_lock
from ecgcore.data.store import ECGCache
from ecgcore.signal.pipeline import PipelineConfig
from trainer.config import ConfigError, load_config
from trainer.run import new_run_dir

REPO = Path(__file__).resolve().parents[2]
N_RECORDS = 40


def demo_subset(demo_dir: Path, root: Path, n: int = N_RECORDS) -> Path:
    """A fresh PTB-XL folder of the first ``n`` demo records (signals linked, not copied)."""
    root.mkdir(parents=True)
    pd.read_csv(demo_dir / "ptbxl_database.csv").head(n).to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(demo_dir / "records100")
    return root


def _train_cmd(config: str, data: Path, runs: Path, *overrides: str) -> list[str]:
    sets = [a for o in ("data.fs=100", "model.latent_dim=4", *overrides) for a in ("--set", o)]
    return [sys.executable, "-m", "ecgwb.cli", "train", str(REPO / "trainer" / "configs" / config),
            *sets, "--data", str(data), "--runs", str(runs), "--quiet"]


def test_two_trainings_on_one_fresh_data_folder_both_finish(demo_dir, tmp_path):
    """Before the cache lock, 2 of 5 such pairs failed (a `.tmp` file renamed away by the
    other process; the issue saw SIGBUS). Three fresh pairs here; 10/10 in the report."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    for trial in range(3):
        data = demo_subset(demo_dir, tmp_path / f"t{trial}" / "demo")
        runs = tmp_path / f"t{trial}" / "runs"
        # PCA and a 1-epoch β-VAE on median beats: both need the same median-beat cache
        cmds = [_train_cmd("pca.yaml", data, runs),
                _train_cmd("beta_vae.yaml", data, runs, "data.train_on=median", "optim.max_epochs=1",
                           "data.batch_size=16")]
        procs = [subprocess.Popen(c, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for c in cmds]
        outs = [p.communicate(timeout=300)[0] for p in procs]
        for p, out in zip(procs, outs):
            assert p.returncode == 0, f"trial {trial}: exit {p.returncode}\n{out[-3000:]}"
        run_dirs = sorted(d for d in runs.iterdir() if not d.name.startswith("."))
        assert [d.name.split("-")[0] for d in run_dirs] == ["beta_vae", "pca"]
        for d in run_dirs:
            assert json.loads((d / "metrics.json").read_text())["status"] == "finished", d
        caches = [c for c in (runs / ".cache").iterdir() if c.is_dir()]
        assert len(caches) == 1  # one cache, built once, shared
        cache = ECGCache(caches[0])
        assert cache.median.shape[0] == len(cache.records) == cache.info["n_ok"]
        assert not list(caches[0].glob(".staging-*")) and not list(caches[0].glob("*.tmp*"))


def test_run_names_are_unique_when_started_in_the_same_second(tmp_path):
    made: list[Path] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        made.append(new_run_dir(tmp_path, "pca"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in made}) == 8
    assert all(p.is_dir() and not any(p.iterdir()) for p in made)


def test_a_busy_folder_is_refused_without_waiting_and_freed_after(tmp_path):
    with folder_lock(tmp_path / "cache"), pytest.raises(FolderBusy, match="in use by another process"), \
            folder_lock(tmp_path / "cache", wait=False):
        pass
    with folder_lock(tmp_path / "cache", wait=False):  # released on exit
        pass


def test_a_run_being_trained_cannot_be_resumed_by_a_second_process(family_cache, tmp_path, one_thread):
    from trainer.jobs import prepare_run
    from trainer.run import resume

    cfg = load_config(REPO / "trainer" / "configs" / "pca.yaml",
                      [f"data.path={family_cache}", "data.fs=100", "model.latent_dim=4"])
    run = prepare_run(cfg, tmp_path / "runs")
    # the lock is what the training process holds while it trains
    with folder_lock(run), pytest.raises(ConfigError, match="another process is training this run folder"):
        resume(run, progress=False)
    assert not (run / "split.json").exists()  # the refused resume wrote nothing
    assert resume(run, progress=False) == run  # free again: it trains
    assert json.loads((run / "metrics.json").read_text())["status"] == "finished"


def test_a_reader_keeps_its_arrays_while_the_cache_is_rebuilt(demo_dir, tmp_path):
    """The app reading a cache while a training rebuilds it (new labels → new assembly):
    files are replaced, never rewritten in place, so the open arrays keep their values and
    the reopened cache has the new table."""
    data = demo_subset(demo_dir, tmp_path / "demo", n=12)
    out = tmp_path / "cache"
    config = PipelineConfig(target_fs=100)
    preprocess(data, out, config, workers=1, progress=False)
    reader = ECGCache(out)
    median = reader.median
    before = np.array(median)
    ids = reader.records["record_id"].astype(str).tolist()
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"record_id": ids, "score": np.arange(len(ids), dtype=float)}).to_csv(labels, index=False)
    old_inode = (out / "median.npy").stat().st_ino
    preprocess(data, out, config, labels=labels, workers=1, progress=False)
    assert (out / "median.npy").stat().st_ino != old_inode  # replaced, not rewritten
    np.testing.assert_array_equal(np.asarray(median), before)
    rebuilt = ECGCache(out)
    np.testing.assert_array_equal(rebuilt.median, before)  # same records, same beats
    assert rebuilt.records["score"].tolist() == list(map(float, range(len(ids))))
    assert not list(out.glob(".staging-*"))


def test_a_staging_folder_left_by_a_killed_writer_is_cleared(demo_dir, tmp_path):
    data = demo_subset(demo_dir, tmp_path / "demo", n=4)
    out = tmp_path / "cache"
    (out / ".staging-dead").mkdir(parents=True)
    (out / ".staging-dead" / "median.npy").write_bytes(b"half")
    summary = preprocess(data, out, PipelineConfig(target_fs=100), workers=1, progress=False)
    assert summary.n_records == 4
    assert not (out / ".staging-dead").exists()
    assert ECGCache(out).median.shape[0] == summary.n_ok
