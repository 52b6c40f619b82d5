"""Shared test fixtures: paths to the real data beside the repository, the demo cache,
and global state (threads, seeds) restored after each test that changes it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "assets" / "demo" / "ptbxl100"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need the real data in ../shared/data "
                    "beside the repository (see README)")
    return path


@pytest.fixture(scope="session")
def ptbxl500() -> Path:
    return _need(SHARED_DATA / "ptbxl500")


@pytest.fixture(scope="session")
def ludb_dir() -> Path:
    return _need(SHARED_DATA / "ludb_dev")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(DEMO)


#: Records and sampling rate of the `family_cache` fixture.
FAMILY_RECORDS, FAMILY_FS = 60, 100


@pytest.fixture(scope="session")
def family_cache(tmp_path_factory, demo_dir) -> Path:
    """A cache of the first 60 demo records at 100 Hz with every array the model families
    eat: median beats, beat sequences (ecg_sl) and cleaned 10-s signals (cnn_baseline,
    st_mem, ecg_jepa). About 3 s to build, once per session."""
    import pandas as pd

    from ecgcore.data.cache import CacheOptions, preprocess
    from ecgcore.signal.pipeline import PipelineConfig

    root = tmp_path_factory.mktemp("demo60")
    db = pd.read_csv(demo_dir / "ptbxl_database.csv")
    db.head(FAMILY_RECORDS).to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(demo_dir / "records100")
    out = root / "cache"
    summary = preprocess(root, out, PipelineConfig(target_fs=FAMILY_FS),
                         CacheOptions(sequences=True, signals=True), workers=1, progress=False)
    assert summary.n_ok >= FAMILY_RECORDS - 3, str(summary)
    return out


@pytest.fixture(scope="session")
def cnn_run(family_cache, tmp_path_factory) -> Path:
    """A tiny cnn_baseline run (the small variant at width 4, 2 epochs; 5 superclass heads) on `family_cache`'s
    10-s signals: a model of whole signals for the saliency tests. A few seconds."""
    import torch

    from trainer.config import load_config
    from trainer.run import train

    cfg = load_config(REPO / "trainer" / "configs" / "cnn_baseline.yaml",
                      [f"data.path={family_cache}", f"data.fs={FAMILY_FS}", "model.variant=small", "model.width=4",
                       "optim.max_epochs=2", "data.batch_size=16"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores; the model is tiny
    try:
        return train(cfg, tmp_path_factory.mktemp("cnn_runs"), progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def one_thread():
    """One torch and one BLAS/OpenMP thread for the test, restored afterwards. Shared
    2-core machine: under load, OpenMP threads that spin-wait (t-SNE, after LightGBM loaded
    libgomp) ran 50x slower than one thread."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def seeded():
    """torch's global generator seeded to 0 for the test; its previous state restored."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory, demo_dir):
    """The 500-record PTB-XL demo preprocessed once per session (12 x 400 at 500 Hz)."""
    from ecgcore.data.cache import preprocess
    from ecgcore.data.store import ECGCache

    out = tmp_path_factory.mktemp("eval_cache")
    preprocess(demo_dir, out, progress=False)
    return ECGCache(out)


@pytest.fixture(scope="session")
def demo_medians(demo_cache) -> np.ndarray:
    return np.asarray(demo_cache.median, dtype=np.float32)


@pytest.fixture(scope="session")
def demo_pca(demo_medians):
    """PCA with 8 components fitted (closed form) on the demo's median beats in uV."""
    from ecgcore.models import create_model

    leads, width = demo_medians.shape[1:]
    return create_model("pca", input_shape=(leads, width), latent_dim=8).fit(demo_medians)


@pytest.fixture(scope="session")
def qtdb_dir() -> Path:
    """Half of the QT Database: two-lead 15-minute Holter excerpts at 250 Hz."""
    return _need(SHARED_DATA / "qtdb_dev")


@pytest.fixture(autouse=True)
def _restore_process_state():
    """Every test leaves the process as it found it: environment variables (``train``
    sets its run folder and Lightning its seed there), the global random generators
    (``train`` seeds torch, numpy and random) and torch's thread count. So no test sees
    what an earlier one left, whatever the order."""
    import os
    import random

    import torch

    env = dict(os.environ)
    np_state, py_state = np.random.get_state(), random.getstate()
    torch_state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    yield
    for key in set(os.environ) - set(env):
        del os.environ[key]
    os.environ.update(env)
    np.random.set_state(np_state)
    random.setstate(py_state)
    torch.random.set_rng_state(torch_state)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(runs folder, demo cache): tiny ``task_vae``, ``pca`` and ``beta_vae`` runs
    (tests/e2e/tiny_runs.py), trained once a session and shared by the app and run tests;
    a test that writes into a run works on a copy."""
    sys.path.insert(0, str(REPO / "tests" / "e2e"))
    from tiny_runs import build_tiny_runs

    return build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
