"""2-D projections with their disk cache; ECG identification on constructed cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ecgcore.explain import projection
from ecgcore.explain.identification import identification_accuracy, identification_report


def _refuse(*args, **kwargs):
    raise AssertionError("recomputed although the cache holds this projection")


def test_pca_and_tsne_are_cached_by_content_and_parameters(tmp_path, monkeypatch):
    z = np.random.default_rng(0).normal(size=(60, 5))
    p = projection.project(z, "pca", cache_dir=tmp_path)
    assert p.shape == (60, 2) and p.dtype == np.float32
    t = projection.project(z, "tsne", cache_dir=tmp_path, perplexity=10)
    files = sorted(f.name for f in tmp_path.iterdir())
    assert len([f for f in files if f.endswith(".npy")]) == 2
    meta = json.loads(next(tmp_path.glob("tsne-*.json")).read_text())
    assert meta["params"]["perplexity"] == 10 and meta["n"] == 60

    monkeypatch.setattr(projection, "_compute", _refuse)
    assert np.array_equal(projection.project(z, "pca", cache_dir=tmp_path), p)
    assert np.array_equal(projection.project(z, "tsne", cache_dir=tmp_path, perplexity=10), t)
    with pytest.raises(AssertionError, match="recomputed"):  # other data: a new key
        projection.project(z + 1e-3, "pca", cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="recomputed"):  # other parameters: a new key
        projection.project(z, "tsne", cache_dir=tmp_path, perplexity=12)


def test_umap_once_on_200_points(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(0, 1, (100, 8)), rng.normal(8, 1, (100, 8))])
    u = projection.project(z, "umap", cache_dir=tmp_path)
    assert u.shape == (200, 2) and np.isfinite(u).all()
    # the two groups stay apart in the map
    gap = np.linalg.norm(u[:100].mean(0) - u[100:].mean(0))
    assert gap > 3 * max(u[:100].std(0).max(), u[100:].std(0).max())
    monkeypatch.setattr(projection, "_compute", _refuse)
    assert np.array_equal(projection.project(z, "umap", cache_dir=tmp_path), u)


def test_projection_input_errors():
    with pytest.raises(ValueError, match="unknown projection"):
        projection.project(np.zeros((5, 2)), "mds")
    with pytest.raises(ValueError, match="NaN"):
        projection.project(np.full((5, 2), np.nan))


def test_identification_top1_top5_by_hand():
    # 1-D positions; patients A, B, C have two records, D one (never a query).
    emb = np.array([[0.0], [0.1], [5.0], [5.3], [10.0], [12.0], [11.0]])
    pid = ["A", "A", "B", "B", "C", "C", "D"]
    r = identification_accuracy(emb, pid, metric="euclidean", ks=(1, 5))
    # C1's nearest is D (1.0) before C2 (2.0); C2's nearest is D before C1: rank 2 each.
    assert r["rank"].tolist() == [1, 1, 1, 1, 2, 2]
    assert r["top1"] == pytest.approx(4 / 6) and r["top5"] == 1.0
    assert (r["n_queries"], r["n_patients"]) == (6, 3)


def test_identification_cosine_and_references():
    ang = np.deg2rad([0, 5, 90, 95, 45])
    emb = np.column_stack([np.cos(ang), np.sin(ang)]) * np.array([[1], [3], [2], [5], [1]])
    pid = pd.Series([1, 1, 2, 2, 3])
    assert identification_accuracy(emb, pid, "cosine")["top1"] == 1.0
    shuffled = emb[[0, 2, 1, 3, 4]]
    rep = identification_report({"model": emb, "features": shuffled}, pid,
                                standardize={"features": True})
    assert rep["embedding"].tolist() == ["model", "features"]
    assert rep.loc[0, "top1"] == 1.0 and rep.loc[1, "top1"] < 1.0
    assert rep["standardized"].tolist() == [False, True]
