"""Cluster quality of one run's latent means, beside the PCA reference of the same size,
cached next to the run (the Clustering view's numbers).

:func:`run_clustering` calls :func:`ecgcore.evaluate.clustering.clustering_report` on the
run's latent means (the embedding of :class:`~ecgcore.runs.Run`), the
chosen label clusterings and k-means, with ``beats_pca<d>`` reference rows: a PCA of the
dataset's median beats (µV) with as many components as the run has latent units (capped
below the number of records). Results live in ``<run>/cache/<dataset>-<key>/`` as
``clustering-<hash>.parquet`` and ``kmeans-k<k>-s<seed>.npy``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecgcore.data.label_columns import label_kinds
from ecgcore.runs.atomic import read_or_none, write_atomic
from ecgcore.runs.run import Run, RunError

SUPERCLASS = "superclass"  # the one diagnostic superclass of records that have exactly one
SILHOUETTE_SAMPLE = 5000


def clustering_labels(records: pd.DataFrame) -> dict[str, pd.Series]:
    """Label clusterings a records table offers: ``superclass`` (records with exactly one
    diagnostic superclass; others left out) first, then every categorical label column."""
    out: dict[str, pd.Series] = {}
    if "superclasses" in records.columns:
        def single(v):
            items = list(v) if isinstance(v, (list, tuple, np.ndarray)) else []
            return str(items[0]) if len(items) == 1 else None

        sc = records["superclasses"].map(single)
        if sc.nunique(dropna=True) >= 2:
            out[SUPERCLASS] = sc.rename(SUPERCLASS)
    for col, kind in label_kinds(records).items():
        if kind == "categorical":
            out[col] = records[col]
    return out


def _key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def run_clustering(run: Run, labels: Sequence[str], k: int = 5, seed: int = 0,
                   standardize: bool = False) -> pd.DataFrame:
    """DBI, silhouette and CHI of the run's latent means per label in ``labels`` (names of
    :func:`clustering_labels`) and for k-means (``k`` clusters; 0 skips), with the PCA
    reference rows (``reference`` True). Columns as ``clustering_report`` plus ``run``."""
    from ecgcore.evaluate.clustering import clustering_report

    records = run.embedding
    options = clustering_labels(records)
    unknown = [name for name in labels if name not in options]
    if unknown:
        raise RunError(f"no label {unknown} to cluster by in {run.cache.path}; "
                       f"available: {sorted(options)}")
    key = _key({"labels": list(labels), "k": k, "seed": seed, "std": standardize,
                "sample": SILHOUETTE_SAMPLE})
    path = run.folder / f"clustering-{key}.parquet"
    cached = read_or_none(lambda: pd.read_parquet(path)) if path.exists() else None
    if cached is not None and {"space", "clustering", "dbi"} <= set(cached.columns):
        return cached
    beats = np.nan_to_num(np.asarray(run.cache.median, dtype=np.float32))
    report = clustering_report(
        {"latent": run.means()}, {name: options[name].to_numpy(dtype=object) for name in labels},
        k=k, beats=beats, standardize=standardize, silhouette_sample=SILHOUETTE_SAMPLE,
        seed=seed)
    report.insert(0, "run", run.name)
    write_atomic(path, lambda p: report.to_parquet(p, index=False))
    return report


def run_kmeans(run: Run, k: int = 5, seed: int = 0) -> np.ndarray:
    """k-means cluster ids ``[N]`` of the run's latent means (cached)."""
    from ecgcore.evaluate.clustering import kmeans_labels

    path = run.folder / f"kmeans-k{k}-s{seed}.npy"
    cached = read_or_none(lambda: np.load(path, allow_pickle=False)) if path.exists() else None
    if cached is not None and cached.shape == (run.n_records,):
        return cached
    ids = kmeans_labels(run.means(), k, seed).astype(np.int32)
    write_atomic(path, lambda p: np.save(p, ids))
    return ids


def side_by_side(report: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, clustering): each score of the latent space with the PCA
    reference of the same size beside it (``dbi``, ``dbi_pca``, …, ``n``, ``pca_dim``)."""
    rows = []
    for (run, clustering), g in report.groupby(["run", "clustering"], sort=False):
        own = g[~g["reference"].astype(bool)]
        ref = g[g["reference"].astype(bool)]
        if own.empty:
            continue
        o = own.iloc[0]
        r = ref.iloc[0] if len(ref) else None
        row = {"run": run, "clustering": clustering, "dim": int(o["dim"]), "n": int(o["n"]),
               "n_clusters": int(o["n_clusters"])}
        for score in ("dbi", "silhouette", "chi"):
            row[score] = float(o[score])
            row[f"{score}_pca"] = float(r[score]) if r is not None else np.nan
        row["pca_dim"] = int(r["dim"]) if r is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
