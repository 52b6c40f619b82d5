"""ECG identification (seed 003's ECG-ID): find a patient's other recordings by nearest
neighbour in embedding space.

Every record whose patient has at least two records is a query; the gallery is every other
record (the query itself excluded). Top-k accuracy is the share of queries with a record of
the same patient among their k nearest neighbours (cosine or Euclidean distance). Missing
values are replaced by the column mean; ``standardize=True`` z-scores each dimension first
(advisable for classical features, whose units differ). Any other embedding — PCA, the
classical features — goes through the same function as a reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._model_io import to_numpy


def _prepare(x: Any, metric: str, standardize: bool) -> np.ndarray:
    a = np.asarray(to_numpy(x), dtype=np.float64)
    a = a.reshape(len(a), -1)
    col_mean = np.nanmean(np.where(np.isfinite(a), a, np.nan), axis=0)
    col_mean = np.where(np.isfinite(col_mean), col_mean, 0.0)
    a = np.where(np.isfinite(a), a, col_mean[None, :])
    if standardize:
        sd = a.std(axis=0)
        a = (a - a.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if metric == "cosine":
        n = np.linalg.norm(a, axis=1, keepdims=True)
        a = a / np.where(n > 0, n, 1.0)
    return a


def identification_accuracy(
    embedding: Any,
    patient_id: Any,
    metric: str = "cosine",
    ks: Sequence[int] = (1, 5),
    standardize: bool = False,
    chunk: int = 1024,
) -> dict[str, Any]:
    """Top-k identification accuracy of ``embedding`` ``[N, d]`` for ``patient_id`` ``[N]``.

    Returns ``{"top1": .., "top5": .., "n_queries", "n_patients", "rank"}`` where ``rank``
    ``[n_queries]`` is the 1-based rank of the first same-patient record for each query.
    """
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    a = _prepare(embedding, metric, standardize)
    pid = pd.Series(np.asarray(patient_id, dtype=object)).astype(str).to_numpy()
    if len(pid) != len(a):
        raise ValueError(f"{len(pid)} patient ids for {len(a)} records")
    counts = pd.Series(pid).value_counts()
    queries = np.flatnonzero(pd.Series(pid).map(counts).to_numpy() >= 2)
    out: dict[str, Any] = {"n_queries": int(queries.size),
                           "n_patients": int((counts >= 2).sum()), "metric": metric}
    if queries.size == 0:
        out.update({f"top{k}": float("nan") for k in ks})
        out["rank"] = np.zeros(0, dtype=int)
        return out
    sq = (a * a).sum(axis=1)
    ranks = np.empty(queries.size, dtype=int)
    for s in range(0, queries.size, chunk):
        q = queries[s : s + chunk]
        if metric == "cosine":
            d = 1.0 - a[q] @ a.T
        else:
            d = np.maximum(sq[q, None] + sq[None, :] - 2.0 * a[q] @ a.T, 0.0)
        d[np.arange(q.size), q] = np.inf  # never match the query itself
        same = pid[None, :] == pid[q, None]
        same[np.arange(q.size), q] = False
        # rank of the nearest same-patient record = 1 + number of records strictly closer
        best_same = np.where(same, d, np.inf).min(axis=1)
        ranks[s : s + q.size] = 1 + (d < best_same[:, None]).sum(axis=1)
    for k in ks:
        out[f"top{k}"] = float((ranks <= k).mean())
    out["rank"] = ranks
    return out


def identification_report(
    embeddings: Mapping[str, Any],
    patient_id: Any,
    metric: str = "cosine",
    ks: Sequence[int] = (1, 5),
    standardize: bool | Mapping[str, bool] = False,
) -> pd.DataFrame:
    """One row per embedding (the model's, PCA, classical features …): top-k accuracies.

    ``standardize``: one flag for all, or {name: flag} (e.g. ``{"features": True}``).
    """
    rows = []
    for name, emb in embeddings.items():
        std = standardize.get(name, False) if isinstance(standardize, Mapping) else standardize
        res = identification_accuracy(emb, patient_id, metric, ks, bool(std))
        rows.append({"embedding": name, "metric": metric, "standardized": bool(std),
                     **{f"top{k}": res[f"top{k}"] for k in ks},
                     "n_queries": res["n_queries"], "n_patients": res["n_patients"]})
    return pd.DataFrame(rows)
