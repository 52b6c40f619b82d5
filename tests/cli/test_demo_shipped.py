"""The shipped demo runs (``assets/demo/runs``): small, portable, loadable by the current
code and consistent with their own ``evaluation.json``; ``ecgwb demo`` installs them into a
runs folder (from any working directory) where the app's run listing finds them.

These guard the runs in git against a later code change (a renamed weight, a changed
preprocessing, a changed metric): retrain them with ``ecgwb demo --retrain --ship``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ecgcore.files import EVALUATION, PREPROCESSING, RUN_CONFIG, SPLIT, WEIGHTS
from trainer.demo import REL_DATA, SHIPPED_FILES, SHIPPED_RUNS, install_demo

REPO = Path(__file__).resolve().parents[2]
DEMO_MODELS = {"pca", "beta_vae", "annealed_beta_vae", "split_task_vae"}


def _shipped() -> list[Path]:
    return sorted(d for d in SHIPPED_RUNS.iterdir() if d.is_dir())


def _strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(folder)).encode() + f.read_bytes())
    return h.hexdigest()


def test_shipped_runs_are_the_four_demo_models_small_and_without_absolute_paths():
    runs = _shipped()
    models = {yaml.safe_load((r / RUN_CONFIG).read_text())["name"] for r in runs}
    assert models == DEMO_MODELS and len(runs) == 4
    total = 0
    for run in runs:
        files = {f.name for f in run.iterdir()}
        assert files == set(SHIPPED_FILES), (run.name, files ^ set(SHIPPED_FILES))
        total += sum(f.stat().st_size for f in run.iterdir())
        cfg = yaml.safe_load((run / RUN_CONFIG).read_text())
        assert cfg["data"]["path"] == REL_DATA
        assert json.loads((run / "metrics.json").read_text())["status"] == "finished"
        for name in files - {WEIGHTS, "metrics.csv"}:
            text = (run / name).read_text()
            content = yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)
            absolute = [s for s in _strings(content) if s.startswith(("/", "~")) or s[1:3] == ":\\"]
            assert not absolute, f"{run.name}/{name} records this machine's paths: {absolute}"
    assert total < 10e6, f"shipped runs take {total / 1e6:.1f} MB"
    readme = (SHIPPED_RUNS / "README.md").read_text()
    assert "CC BY 4.0" in readme and "Wagner" in readme and "--retrain" in readme


@pytest.fixture(scope="module")
def installed(tmp_path_factory, demo_dir) -> Path:
    """The shipped runs installed into a fresh runs folder (no cache built)."""
    runs = tmp_path_factory.mktemp("demo_runs") / "runs"
    before = _digest(SHIPPED_RUNS)
    install_demo(runs, demo_dir, prepare=False, progress=False)
    assert _digest(SHIPPED_RUNS) == before  # the git tree's copy is never written
    return runs


def test_shipped_runs_load_with_the_current_code_and_reproduce_their_evaluation(
        installed, demo_cache, demo_dir, one_thread):
    """Each run loads strictly (every tensor of its weights, no missing one), encodes demo
    records, and its stored test-split reconstruction (µV MSE, MAE, correlation) is what
    the current code computes again from the same weights and records."""
    from ecgcore.runs import Run
    from ecgcore.runs.evaluation import reconstruction_section

    runs = sorted(d for d in installed.iterdir() if not d.name.startswith("."))
    assert [d.name for d in runs] == [d.name for d in _shipped()]
    for path in runs:
        assert yaml.safe_load((path / RUN_CONFIG).read_text())["data"]["path"] == str(demo_dir)
        run = Run(path)
        # The session's cache of the demo data (same source, same pipeline) stands in for
        # the run's own: the β-VAEs' single-beat cache is only read in training.
        run.__dict__["cache"] = demo_cache
        assert run.preprocessing.array == "median" and run.fs == demo_cache.fs
        z, _ = run.encode(list(range(8)))
        assert z.shape == (8, run.latent_dim) and np.isfinite(z).all()
        ev = json.loads((path / EVALUATION).read_text())
        assert ev["run"] == path.name and ev["model"] == run.model_name
        assert ev["n_records"] == len(demo_cache) and ev["latent_dim"] == run.latent_dim
        assert Path(ev["dataset"]).parent == installed / ".cache"
        test_rows = run.split_rows("test")
        assert len(test_rows) == len(json.loads((path / SPLIT).read_text())["test"])
        z_all, _ = run.encode()
        again, why = reconstruction_section(run, z_all, test_rows)
        assert why is None, why
        stored = ev["reconstruction"]
        assert again["n_records"] == stored["n_records"] == len(test_rows)
        for key in ("mse", "mae", "correlation"):
            assert again[key] == pytest.approx(stored[key], rel=1e-4), (path.name, key)
        # a trained model, not the mean beat: correlation of the decoded beats
        assert stored["correlation"] > 0.8, (path.name, stored["correlation"])


def _small_demo(demo_dir: Path, root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    pd.read_csv(demo_dir / "ptbxl_database.csv").head(n).to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(demo_dir / "records100")
    return root


def test_demo_command_installs_the_shipped_runs_from_another_directory(demo_dir, tmp_path):
    """`ecgwb demo` (what `make run` does) run from elsewhere: 4 finished runs that the app's
    listing finds, pointing at the data given, their beat caches built; a second call keeps
    them; `--retrain` refuses that folder (it would skip them as finished)."""
    from ecgcore.runs import list_runs

    data = _small_demo(demo_dir, tmp_path / "data", 12)  # 12 records: the cache in seconds
    runs, elsewhere = tmp_path / "runs", tmp_path / "cwd"
    elsewhere.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "ecgwb.cli", "demo", "--runs", str(runs), "--data", str(data), "--quiet"]
    before = _digest(SHIPPED_RUNS)
    first = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
                           check=False)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    n = len(_shipped())  # 4: the first test
    assert first.stdout.count("installed") == n and f"{n} demo runs ready in {runs}" in first.stdout
    table = list_runs(runs)
    assert len(table) == n and set(table["status"]) == {"finished"} and not table["problem"].any()
    assert set(table["model"]) == DEMO_MODELS
    assert {d.name for d in runs.iterdir()} == {*table["name"], ".cache"}
    for run in runs.glob("*/"):
        if run.name != ".cache":
            assert yaml.safe_load((run / RUN_CONFIG).read_text())["data"]["path"] == str(data)
            assert json.loads((run / PREPROCESSING).read_text())["source"] == str(data)
    # one cache of median beats for the four (the β-VAEs' single beats are for training only)
    assert sorted(d.name for d in (runs / ".cache").iterdir()) == ["data_r400_500Hz"]
    assert "records ready in" in first.stdout
    again = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
                           check=False)
    assert again.returncode == 0 and again.stdout.count("kept") == n, again.stderr[-2000:]
    assert len(list_runs(runs)) == n
    refused = subprocess.run([*cmd, "--retrain"], cwd=elsewhere, env=env, capture_output=True,
                             text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "holds the shipped demo runs" in refused.stderr
    assert len(list_runs(runs)) == n
    assert _digest(SHIPPED_RUNS) == before


def test_installed_runs_follow_a_moved_checkout_and_a_trained_run_is_kept(demo_dir, tmp_path):
    """A checkout moved elsewhere: the installed runs' data path, gone, is pointed at the
    demo data again; a finished run of a demo model trained in the folder before (the old
    `ecgwb demo`) is kept instead of adding the shipped one beside it."""
    old = _small_demo(demo_dir, tmp_path / "old", 4)
    runs = tmp_path / "runs"
    first = install_demo(runs, old, prepare=False, progress=False)
    old.rename(tmp_path / "moved")
    new = _small_demo(demo_dir, tmp_path / "new", 4)
    again = install_demo(runs, new, prepare=False, progress=False)
    assert again == first
    for run in again:
        assert yaml.safe_load((run / RUN_CONFIG).read_text())["data"]["path"] == str(new)
    pca = next(r for r in first if r.name.startswith("pca-"))
    other = tmp_path / "other"
    other.mkdir()
    mine = other / "pca-20000101-000000"
    pca.rename(mine)  # a PCA trained there before, under another name
    kept = install_demo(other, new, prepare=False, progress=False)
    assert mine in kept and not (other / pca.name).exists()
    assert len(kept) == len(_shipped()) and len(list(other.iterdir())) == len(_shipped())
