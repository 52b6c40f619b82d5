"""Cluster quality of one run's latent means, beside the PCA reference of the same size,
cached next to the run (the Clustering view's numbers).

:func:`run_clustering` calls :func:`ecgcore.evaluate.clustering.clustering_report` on the
run's latent means (the embedding of :class:`~ecgcore.runs.Run`), the
chosen label clusterings and k-means, with ``beats_pca<d>`` reference rows: a PCA of the
dataset's median beats (µV) with as many components as the run has latent units (capped
below the number of records). Results live in ``<run>/cache/<dataset>-<key>/`` as
``clustering-<hash>.parquet`` and ``kmeans-k<k>-s<seed>.npy``.

What each cluster is: :func:`cluster_mean_beats` (the mean of its records' median beats,
µV, with n) and :func:`cluster_label_table` (a cluster × label contingency for a
categorical label, per-cluster mean, SD, median and IQR for a continuous one), on any
records table, the sidebar's attached labels included (``run_clustering(records=…)``).
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


def _values_key(options: dict[str, pd.Series], labels: Sequence[str]) -> str:
    """A digest of the label values (an attached table's columns change with the file)."""
    h = hashlib.sha256()
    for name in labels:
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(options[name].astype(str), index=False).to_numpy()
                 .tobytes())
    return h.hexdigest()[:12]


def run_clustering(run: Run, labels: Sequence[str], k: int = 5, seed: int = 0,
                   standardize: bool = False, records: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """DBI, silhouette and CHI of the run's latent means per label in ``labels`` (names of
    :func:`clustering_labels`) and for k-means (``k`` clusters; 0 skips), with the PCA
    reference rows (``reference`` True). Columns as ``clustering_report`` plus ``run``.

    ``records``: the run's records table with more label columns (the sidebar's attached
    labels, row for row with ``run.embedding``); default ``run.embedding``."""
    from ecgcore.evaluate.clustering import clustering_report

    if records is None:
        records = run.embedding
    elif len(records) != run.n_records:
        raise ValueError(f"{len(records)} records for run {run.name}'s {run.n_records}")
    options = clustering_labels(records)
    unknown = [name for name in labels if name not in options]
    if unknown:
        raise RunError(f"no label {unknown} to cluster by in {run.cache.path}; "
                       f"available: {sorted(options)}")
    key = _key({"labels": list(labels), "k": k, "seed": seed, "std": standardize,
                "sample": SILHOUETTE_SAMPLE, "values": _values_key(options, labels)})
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


def cluster_mean_beats(beats_uv: np.ndarray, ids: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster ids ``[k]`` sorted, mean beats ``[k, leads, W]`` µV, n ``[k]``): each
    cluster's records' median beats ``beats_uv`` ``[N, leads, W]`` averaged sample by
    sample (a sample missing in a record, NaN, is left out of that sample's mean)."""
    beats = np.asarray(beats_uv, dtype=np.float64)
    ids = np.asarray(ids)
    if beats.ndim != 3 or len(ids) != len(beats):
        raise ValueError(f"{len(ids)} cluster ids for beats of shape {list(beats.shape)}")
    clusters = np.unique(ids)
    means = np.full((len(clusters), *beats.shape[1:]), np.nan, dtype=np.float64)
    counts = np.zeros(len(clusters), dtype=int)
    for i, c in enumerate(clusters):
        member = beats[ids == c]
        counts[i] = len(member)
        finite = np.isfinite(member)
        n = finite.sum(axis=0)
        total = np.where(finite, member, 0.0).sum(axis=0)
        means[i] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return clusters, means.astype(np.float32), counts


def run_cluster_beats(run: Run, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cluster_mean_beats` of the run's median beats (µV) for cluster ids ``[N]``."""
    return cluster_mean_beats(np.asarray(run.cache.median, dtype=np.float32), ids)


def cluster_label_table(records: pd.DataFrame, ids: np.ndarray, column: str,
                        kind: str | None = None, names: Sequence[str] | None = None
                        ) -> pd.DataFrame:
    """A label stratified by cluster, one row per cluster and a last row 'all records'.

    Categorical ``column`` (flags read 'no'/'yes', missing as 'missing'): the count of
    each category and, in ``<category> %``, its share of the cluster's records.
    Continuous: ``n`` with a value, ``mean``, ``sd``, ``median``, ``q1``, ``q3``.
    ``kind``: ``"categorical"``/``"continuous"`` (default: :func:`label_kinds`);
    ``names``: one name per cluster in sorted id order (default 'cluster <id + 1>').
    Always a ``records`` column (the cluster's size).
    """
    from ecgcore.data.label_columns import category_names

    ids = np.asarray(ids)
    if len(ids) != len(records):
        raise ValueError(f"{len(ids)} cluster ids for {len(records)} records")
    if column not in records.columns:
        raise KeyError(f"no column {column!r} in the records table")
    kind = kind or label_kinds(records).get(column)
    if kind not in ("categorical", "continuous"):
        raise ValueError(f"{column!r} is not a label column (no categories, no numbers)")
    clusters = np.unique(ids)
    names = list(names) if names is not None else [f"cluster {int(c) + 1}" for c in clusters]
    if len(names) != len(clusters):
        raise ValueError(f"{len(names)} names for {len(clusters)} clusters")
    groups = [(name, ids == c) for name, c in zip(names, clusters)]
    groups.append(("all records", np.ones(len(ids), dtype=bool)))
    rows = []
    if kind == "categorical":
        values = category_names(records[column].reset_index(drop=True), column)
        cats = [c for c in values.value_counts().index if c != "missing"]
        if (values == "missing").any():
            cats.append("missing")
        for name, member in groups:
            v = values[member]
            row = {"cluster": name, "records": int(member.sum())}
            for cat in cats:
                row[cat] = int((v == cat).sum())
            for cat in cats:
                row[f"{cat} %"] = 100.0 * row[cat] / max(row["records"], 1)
            rows.append(row)
        return pd.DataFrame(rows)
    values = pd.to_numeric(records[column], errors="coerce").to_numpy(dtype=float)
    for name, member in groups:
        v = values[member]
        v = v[np.isfinite(v)]
        q1, med, q3 = np.percentile(v, [25, 50, 75]) if len(v) else (np.nan,) * 3
        rows.append({"cluster": name, "records": int(member.sum()), "n": len(v),
                     "mean": float(v.mean()) if len(v) else np.nan,
                     "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
                     "median": float(med), "q1": float(q1), "q3": float(q3)})
    return pd.DataFrame(rows)
