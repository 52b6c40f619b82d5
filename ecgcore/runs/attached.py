"""How well a run's latent space predicts a label of the user's own table (LVEF, an
outcome…), attached in memory to the run's records (the Compare view's "Your labels" rows).

The probe is :func:`ecgcore.evaluate.downstream.evaluate_downstream`'s L2-regularised
linear model on the latent means (logistic regression for a yes/no label, ridge regression
for a number), predicted out of fold (5 folds grouped by patient, stratified by the
label) over every record of the run's data that carries the label, beside the same probe
on a PCA of the median beats with as many components. Nothing is written: an attached
table lives in the session only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgcore.runs.run import Run, RunError

#: Fewest labelled records a probe is fitted on (5 folds need a few per fold).
MIN_RECORDS = 20


def attached_label_scores(run: Run, records: pd.DataFrame, column: str, kind: str,
                          n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """One row per input (``latent``, ``pca<d>``): ``run``, ``label``, ``task`` (binary /
    continuous), ``scope``, ``n`` (records scored), ``n_pos``, ``auroc`` with 95 % CI and
    ``f1_macro`` (binary) or ``r2`` with 95 % CI and ``mae`` (continuous).

    ``records``: the run's records table, row for row with its latent means, with
    ``column`` attached; ``kind``: the column's kind in the labels table (``binary``,
    ``continuous``; a categorical label of several classes is refused). RunError when
    fewer than :data:`MIN_RECORDS` records carry the label.
    """
    from ecgcore.evaluate.downstream import evaluate_downstream, pca_embedding

    if kind not in ("binary", "continuous"):
        raise ValueError(f"{column!r} is {kind}: a probe needs a yes/no label or a number")
    if len(records) != run.n_records:
        raise ValueError(f"{len(records)} records for run {run.name}'s {run.n_records}")
    if column not in records.columns:
        raise KeyError(f"no column {column!r} in run {run.name}'s records")
    y = pd.to_numeric(records[column].astype("Float64"), errors="coerce").astype(float)
    n = int(np.isfinite(y.to_numpy()).sum())
    if n < MIN_RECORDS:
        raise RunError(f"{n} of run {run.name}'s {len(records):,} records carry {column!r}: "
                       f"a probe needs at least {MIN_RECORDS}")
    if kind == "binary" and y.dropna().nunique() < 2:
        raise RunError(f"every labelled record of run {run.name} has the same {column!r}")
    meta = records.reset_index(drop=True).assign(**{column: y.to_numpy()})
    z = run.means()
    beats = np.nan_to_num(np.asarray(run.cache.median, dtype=np.float32))
    pca = pca_embedding(beats, min(z.shape[1], len(beats) - 1), seed)
    group = "patient_id" if "patient_id" in meta.columns else None
    res = evaluate_downstream(meta, column, embeddings={"latent": z, f"pca{pca.shape[1]}": pca},
                              hybrid=False, sex_age=False, models=("logreg_l2",),
                              task=kind, group_col=group, n_boot=n_boot, seed=seed)
    table = res.table.drop(columns=["fraction", "failed_fits", "n_features"], errors="ignore")
    table.insert(0, "run", run.name)
    table["scope"] = "all labelled records (out-of-fold)"
    return table
