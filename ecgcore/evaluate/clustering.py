"""Cluster quality of embeddings: Davies–Bouldin, silhouette, Calinski–Harabasz (seed 004).

Two clusterings of each space: a label (the grouping clinicians care about: a superclass,
a diagnosis) and k-means with k clusters. Every number has its reference: the same three
scores for a PCA of the input beats with as many components as the embedding has
dimensions. Scores are computed on the vectors as given (no rescaling; pass
``standardize=True`` to z-score each dimension first).

Lower Davies–Bouldin is better; higher silhouette (−1..1) and Calinski–Harabasz are better.
Silhouette is O(N²): above ``silhouette_sample`` records it is estimated on a seeded
random subset (scikit-learn's ``sample_size``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def cluster_scores(
    X: Any, labels: Any, silhouette_sample: int | None = 5000, seed: int = 0
) -> dict[str, float]:
    """DBI, silhouette and CHI of points ``X`` ``[N, d]`` grouped by ``labels`` ``[N]``.

    Records whose label is missing (NaN / None) are left out; NaN scores when fewer than
    two clusters (or as many clusters as points) remain.
    """
    from sklearn.metrics import (
        calinski_harabasz_score,
        davies_bouldin_score,
        silhouette_score,
    )

    X = np.asarray(X, dtype=float)
    lab = pd.Series(np.asarray(labels, dtype=object))
    ok = lab.notna().to_numpy() & np.isfinite(X).all(axis=1)
    X, lab = X[ok], lab[ok].astype(str).to_numpy()
    n_clusters = len(np.unique(lab))
    out = {"n": len(lab), "n_clusters": int(n_clusters)}
    if n_clusters < 2 or n_clusters >= len(lab):
        return {**out, "dbi": np.nan, "silhouette": np.nan, "chi": np.nan}
    sample = silhouette_sample if silhouette_sample and len(lab) > silhouette_sample else None
    return {
        **out,
        "dbi": float(davies_bouldin_score(X, lab)),
        "silhouette": float(silhouette_score(X, lab, sample_size=sample, random_state=seed)),
        "chi": float(calinski_harabasz_score(X, lab)),
    }


def kmeans_labels(X: Any, k: int = 5, seed: int = 0) -> np.ndarray:
    """k-means cluster ids ``[N]`` (10 initialisations, seeded)."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(np.asarray(X, float))


def clustering_report(
    embeddings: Mapping[str, Any],
    labels: Mapping[str, Any] | None = None,
    k: int = 5,
    beats: Any = None,
    standardize: bool = False,
    silhouette_sample: int | None = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (space, clustering) with ``dbi``, ``silhouette``, ``chi``.

    ``embeddings``: {name: [N, d]}. ``labels``: {name: [N]} label clusterings (e.g.
    ``{"superclass": meta.superclasses}``). ``k``: k-means clusters (0 skips k-means).
    ``beats`` ``[N, leads, W]``: adds ``beats_pca<d>`` reference rows, one per distinct
    embedding size d, fitted on the flattened beats.
    """
    from ecgcore.evaluate.downstream import pca_embedding

    spaces: dict[str, tuple[np.ndarray, str | None]] = {}
    for name, emb in embeddings.items():
        arr = np.asarray(emb.detach().cpu().numpy() if hasattr(emb, "detach") else emb, float)
        spaces[name] = (arr.reshape(len(arr), -1), None)
    if beats is not None:
        n_beats = len(beats)
        for d in sorted({v[0].shape[1] for v in spaces.values()}):
            d = min(d, n_beats - 1)  # PCA needs more records than components
            spaces[f"beats_pca{d}"] = (pca_embedding(beats, d, seed), "reference")
    rows = []
    for name, (X, role) in spaces.items():
        if standardize:
            sd = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        clusterings: dict[str, np.ndarray] = {}
        for lname, lab in (labels or {}).items():
            clusterings[f"label:{lname}"] = np.asarray(lab, dtype=object)
        if k and k > 1:
            clusterings[f"kmeans{k}"] = kmeans_labels(X, k, seed)
        for cname, lab in clusterings.items():
            if len(lab) != len(X):
                raise ValueError(f"clustering {cname!r} has {len(lab)} entries, space "
                                 f"{name!r} {len(X)} rows")
            row = {"space": name, "dim": X.shape[1], "clustering": cname,
                   "reference": role == "reference"}
            row.update(cluster_scores(X, lab, silhouette_sample, seed))
            rows.append(row)
    return pd.DataFrame(rows)
