"""Fixtures for the evaluation and explanation tests: the demo cache, built once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo" / "ptbxl100"


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Shared 2-core machine: one BLAS/OpenMP thread. Under load, OpenMP threads that
    spin-wait (t-SNE, after LightGBM loaded libgomp) ran 50× slower than one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _torch_seed_and_threads():
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory):
    """The 500-record PTB-XL demo preprocessed once per session (12 × 400 at 500 Hz)."""
    from ecgcore.data.cache import preprocess
    from ecgcore.data.store import ECGCache

    if not DEMO.exists():
        pytest.fail(f"{DEMO} is missing: the demo dataset ships with the repository")
    out = tmp_path_factory.mktemp("eval_cache")
    preprocess(DEMO, out, progress=False)
    return ECGCache(out)


@pytest.fixture(scope="session")
def demo_medians(demo_cache) -> np.ndarray:
    return np.asarray(demo_cache.median, dtype=np.float32)


@pytest.fixture(scope="session")
def demo_pca(demo_medians):
    """PCA with 8 components fitted (closed form) on the demo's median beats in µV."""
    from ecgcore.models import create_model

    leads, width = demo_medians.shape[1:]
    return create_model("pca", input_shape=(leads, width), latent_dim=8).fit(demo_medians)
