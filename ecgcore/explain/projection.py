"""2-D projections of embeddings (PCA, UMAP, t-SNE), cached on disk.

A projection is stored in ``cache_dir`` as ``<method>-<key>.npy`` (float32 ``[N, 2]``)
beside ``<method>-<key>.json``, where the key is a SHA-256 over the embedding's bytes,
shape and dtype and the method's parameters. A later call with the same embedding and
parameters reads the file instead of recomputing (UMAP and t-SNE take seconds to
minutes). umap is imported only when UMAP is asked for.

Defaults: PCA (2 components); UMAP ``n_neighbors=15, min_dist=0.1``, Euclidean; t-SNE
``perplexity=min(30, (N − 1) / 3)``, PCA initialisation. All seeded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

METHODS: tuple[str, ...] = ("pca", "umap", "tsne")
CACHE_VERSION = 1


def _params(method: str, n: int, seed: int, params: dict[str, Any]) -> dict[str, Any]:
    if method == "pca":
        base: dict[str, Any] = {}
    elif method == "umap":
        # a seeded UMAP runs on one thread anyway; saying so silences umap's warning
        base = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "n_jobs": 1}
    else:
        base = {"perplexity": float(min(30.0, max(1.0, (n - 1) / 3.0))), "init": "pca"}
    return {**base, **params, "seed": seed}


def projection_key(embedding: np.ndarray, method: str, params: dict[str, Any]) -> str:
    """SHA-256 of the embedding (bytes, shape, dtype), the method and its parameters."""
    h = hashlib.sha256()
    arr = np.ascontiguousarray(embedding)
    h.update(arr.tobytes())
    h.update(json.dumps({"shape": list(arr.shape), "dtype": str(arr.dtype), "method": method,
                         "params": params, "version": CACHE_VERSION},
                        sort_keys=True, default=str).encode())
    return h.hexdigest()


def _compute(x: np.ndarray, method: str, params: dict[str, Any]) -> np.ndarray:
    p = dict(params)
    seed = p.pop("seed")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed, **p).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, random_state=seed, **p).fit_transform(x)
    import umap  # slow first import (numba): only here

    return umap.UMAP(n_components=2, random_state=seed, **p).fit_transform(x)


def project(
    embedding: Any,
    method: str = "pca",
    cache_dir: str | Path | None = None,
    seed: int = 0,
    threads: int | None = None,
    **params: Any,
) -> np.ndarray:
    """2-D coordinates ``[N, 2]`` (float32) of ``embedding`` ``[N, d]``.

    ``method``: ``"pca"``, ``"umap"`` or ``"tsne"``; ``params`` go to the estimator.
    With ``cache_dir`` the result is read from / written to disk (see module docstring).
    ``threads`` caps the OpenMP/BLAS threads while computing (not part of the cache key):
    on a busy shared CPU, t-SNE's OpenMP threads can spin ~50× slower than one thread.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose from {METHODS}")
    x = embedding.detach().cpu().numpy() if hasattr(embedding, "detach") else embedding
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"embedding must be [N >= 3, d], got shape {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError("embedding contains NaN or inf")
    full = _params(method, x.shape[0], seed, params)
    key = projection_key(x, method, full)
    if cache_dir is not None:
        folder = Path(cache_dir)
        npy, meta = folder / f"{method}-{key[:16]}.npy", folder / f"{method}-{key[:16]}.json"
        if npy.exists() and meta.exists():
            try:
                info = json.loads(meta.read_text())
                if info.get("key") == key:
                    out = np.load(npy)
                    if out.shape == (x.shape[0], 2):
                        return out
            except (OSError, ValueError):
                pass  # a damaged entry is recomputed and overwritten
    if threads is None:
        out = _compute(x.astype(np.float64), method, full)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            out = _compute(x.astype(np.float64), method, full)
    out = np.asarray(out, dtype=np.float32)
    if cache_dir is not None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{npy.name}.{os.getpid()}.tmp.npy"
        np.save(tmp, out)
        os.replace(tmp, npy)  # atomic: readers never see half a file
        meta.write_text(json.dumps({"key": key, "method": method, "params": full,
                                    "n": int(x.shape[0]), "dim": int(x.shape[1]),
                                    "version": CACHE_VERSION}, indent=1, default=str))
    return out


def unit_spread(means: Any) -> np.ndarray:
    """SD across records of each latent unit's mean ``[L]`` (from ``means`` ``[N, L]``).

    The raw-axis view (two units against each other, no projection) offers the units in
    this order: a unit whose mean barely moves between records carries no information
    (an inactive VAE unit; Burda et al. 2016 call a unit active when this variance
    exceeds 0.01), so the widest units come first.
    """
    x = np.asarray(means, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"latent means must be [N >= 2, L], got shape {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError("latent means contain NaN or inf")
    return x.std(axis=0, ddof=1)


def units_by_spread(means: Any) -> list[int]:
    """Unit indices, widest :func:`unit_spread` first (ties: lower index first)."""
    sd = unit_spread(means)
    return [int(i) for i in np.argsort(-sd, kind="stable")]
