"""The evaluation of a trained run (no training): what its latent space keeps, predicts and
how it clusters, written to ``evaluation.json`` in the run (`ecgwb evaluate`), and the rows
of one comparison table over runs (`ecgwb report`).

``evaluation.json`` keys:

- ``run``, ``model``, ``latent_dim``, ``dataset`` (cache folder), ``n_records``;
- ``reconstruction``: µV metrics of the run's held-out test split (``mse``, ``mae``,
  ``correlation``, per lead, ``mae_per_wave`` for P/QRS/ST/T) — null when the model cannot
  decode median beats;
- ``downstream``: ``label`` (columns), ``task`` (binary/multilabel/continuous), ``scope``
  (``all`` records with patient-grouped out-of-fold predictions for label-free encoders;
  only the run's ``test`` split for runs trained with labels, so no label leaks),
  ``rows`` (one per input × model: AUROC with 95% CI, macro F1 …; ``pca<d>`` is a PCA of
  the median beats as large as the latent space, capped below the number of records) and
  ``main`` (the latent space with L2 logistic regression, the row the report shows);
- ``clustering``: Davies–Bouldin, silhouette and Calinski–Harabasz of the latent means with
  the label as clustering and of k-means clusters, beside a PCA of the same size;
- ``identification``: same-patient retrieval top-1/top-5 (patients with ≥ 2 records).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecgcore.checkpoint import write_json_atomic
from ecgcore.data.spec import SUPERCLASS_COLUMNS
from ecgcore.files import EVALUATION
from ecgcore.models.capabilities import PredictsLabels
from ecgcore.runs.run import Run, RunError


def _clean(obj):
    """JSON-safe: numpy scalars to floats, NaN to None, arrays dropped."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items() if not isinstance(v, np.ndarray)}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _labels(records: pd.DataFrame, cfg_task: list[str], task: Sequence[str] | None) -> list[str]:
    if task:
        missing = [c for c in task if c not in records.columns]
        if missing:
            raise KeyError(f"no label column(s) {missing} in the records table")
        return list(task)
    return list(cfg_task) or [c for c in SUPERCLASS_COLUMNS if c in records.columns]


#: The probes ``ecgwb evaluate`` fits by default (``models=``: any of
#: :data:`ecgcore.evaluate.downstream.MODELS`, e.g. knn and linear_probe for seed 004,
#: logreg_l1 for seed 001).
DEFAULT_PROBES = ("lgbm", "logreg_l2")
#: Seed 001's extra inputs beside the latents: mean and SD of the RR intervals.
RR_COLUMNS = ("rr_mean_ms", "rr_sd_ms")


@torch.no_grad()
def evaluate_run(run: Run | str | Path, data: Path | None = None, task: Sequence[str] | None = None,
                 n_boot: int = 500, seed: int = 0, scope: str = "auto",
                 models: Sequence[str] = DEFAULT_PROBES, rr: bool = False) -> dict:
    """Evaluate a run and write ``evaluation.json`` (keys in the module docstring).

    ``run``: a :class:`~ecgcore.runs.Run` or a run folder (opened on ``data``, None: its
    own dataset). ``scope``: ``all`` predicts every record out of fold (patient-grouped
    5-fold CV, for label-free encoders); ``test`` scores only the run's test split, with
    every probe fitted on the other records; ``auto`` (default) is ``test`` for runs
    trained with labels, so that no label they saw is scored, else ``all``. Runs compared
    in one table should share ``test`` and the same split (``data.cv_folds``/``data.fold``).
    ``models``: the probes fitted on each input. ``rr``: also the input ``latent+rr``, the
    latent means with the mean and SD of the RR intervals (seed 001's features).
    """
    from ecgcore.evaluate.clustering import clustering_report
    from ecgcore.evaluate.downstream import (
        MODELS,
        OOF,
        evaluate_downstream,
        pca_embedding,
        score_predictions,
    )
    from ecgcore.explain.identification import identification_accuracy

    if not isinstance(run, Run):
        run = Run(run, data, progress=True)
    elif data is not None:
        raise ValueError("give data when opening the Run, not to evaluate_run")
    cache = run.cache
    test_rows = run.split_rows("test")  # RunError on another cohort: its ids are not ours
    z, _ = run.encode()
    records = cache.records.reset_index(drop=True)
    out: dict = {"run": run.name, "model": run.model_name, "latent_dim": int(z.shape[1]),
                 "dataset": str(cache.path), "n_records": len(z)}

    out["reconstruction"] = reconstruction_section(run, z, test_rows)[0]

    trained_on = list(run.data_config.task)
    labels = _labels(records, trained_on, task)
    beats = np.nan_to_num(np.asarray(cache.median, dtype=np.float32))
    # the same-size PCA reference; PCA needs more records than components (tiny datasets)
    pca = pca_embedding(beats, min(z.shape[1], len(records) - 1), seed)
    if scope == "auto":
        scope = "test" if trained_on else "all"
    if scope not in ("all", "test"):
        raise ValueError(f"scope must be 'auto', 'all' or 'test', got {scope!r}")
    if scope == "test" and not len(test_rows):
        raise ValueError(f"{run.path}: scope 'test' needs a test split, and split.json has none")
    rows = test_rows if scope == "test" else np.arange(len(records))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"unknown probe(s) {unknown}; choose from {MODELS}")
    extra_inputs = {}
    if rr:
        missing = [c for c in RR_COLUMNS if c not in records.columns]
        if missing:
            raise RunError(f"run {run.name}: {cache.path} has no {missing} column(s) for --rr")
        rr_values = records[list(RR_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        extra_inputs["latent+rr"] = np.hstack([z, rr_values])
    if labels and len(rows) >= 20:
        head = own_head_scores(run, labels, test_rows) if scope == "test" else None
        res = evaluate_downstream(records, labels if len(labels) > 1 else labels[0],
                                  embeddings={"latent": z, f"pca{pca.shape[1]}": pca},
                                  features="classical", hybrid=True, sex_age=True,
                                  inputs=extra_inputs, models=tuple(models), n_boot=n_boot, seed=seed,
                                  test_rows=test_rows if scope == "test" else None)
        table = res.table
        if head is not None:
            oof = OOF(np.full(res.y.shape, np.nan), np.full(res.y.shape, np.nan), 0)
            at = {int(r): i for i, r in enumerate(res.rows)}
            for k, r in enumerate(test_rows):
                if int(r) in at:  # records without the label are not scored
                    oof.score[at[int(r)]], oof.hard[at[int(r)]] = head[0][k], head[1][k]
            row = {"input": "own_head", "model": run.model_name, "task": res.task,
                   "label": "+".join(labels), "n_features": 0, "fraction": 1.0, "failed_fits": 0}
            row.update(score_predictions(res.y, oof, res.task, labels, n_boot, seed))
            table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
        # the row the report shows: the model's own prediction head where it has one for
        # these labels (a supervised model is judged as trained), else L2 logistic
        # regression on the latent means
        main = table[table["input"] == "own_head"]
        if main.empty:
            main = table[(table["input"] == "latent") & (table["model"] == "logreg_l2")]
        if main.empty:  # logreg_l2 not asked for: the first probe on the latents
            main = table[table["input"] == "latent"]
        out["downstream"] = {"label": labels, "task": res.task, "scope": scope,
                             "n": int(table["n"].iloc[0]), "rows": table.to_dict(orient="records"),
                             "main": main.iloc[0].to_dict() if len(main) else None}
        meta = records.iloc[rows].reset_index(drop=True)
        primary = meta[labels].fillna(0).to_numpy().argmax(axis=1) if len(labels) > 1 else meta[labels[0]]
        clus = clustering_report({"latent": z[rows]}, {"label": np.asarray(primary)}, k=5, beats=beats[rows])
        out["clustering"] = clus.to_dict(orient="records")
    if "patient_id" in records.columns:
        ident = identification_accuracy(z, records["patient_id"].to_numpy())
        ident.pop("rank", None)
        out["identification"] = ident
    out = _clean(out)
    write_json_atomic(run.path / EVALUATION, out)
    return out


@torch.no_grad()
def reconstruction_section(run: Run, z: np.ndarray, rows: np.ndarray
                           ) -> tuple[dict | None, str | None]:
    """µV reconstruction metrics of records ``rows`` decoded from their latent means
    ``z[rows]`` (``z``: every record's), or None and why not."""
    from ecgcore.evaluate.reconstruction import reconstruction_metrics

    model, prep, cache = run.model, run.preprocessing, run.cache
    if prep.array != "median":
        return None, f"{run.model_name} reads {prep.array}, not median beats: nothing to reconstruct"
    if not len(rows):
        return None, "no records to reconstruct"
    try:
        ds = run.dataset(rows, scale_uv=1.0)  # µV
        x = np.stack([ds[i]["x"].numpy() for i in range(len(ds))])
        zr = torch.as_tensor(np.asarray(z[rows], dtype=np.float32))  # a cached table is float64
        x_hat = np.asarray(model.decode(zr)) * prep.scale_uv
    except NotImplementedError as exc:
        return None, f"{run.model_name} cannot decode median beats ({exc})"
    fid = np.asarray(cache.fiducials[rows])
    rec = reconstruction_metrics(x, x_hat, fid, cache.fs, list(prep.leads))
    rec.pop("per_record", None)
    rec["mean_abs_uv"] = float(np.abs(np.nan_to_num(x)).mean())  # the scale the MAE is read against
    return rec, None


@torch.no_grad()
def head_probabilities(run: Run, labels: Sequence[str], rows: np.ndarray) -> np.ndarray | None:
    """A supervised model's own-head probabilities on ``rows`` (``[n]`` for one label, else
    ``[n, K]``) when it was trained on exactly ``labels``; None when it has no such head.
    A head that also reads scalar inputs (hybrid models, ``preprocessing.extra``) gets them
    from the records table, as in training."""
    model, prep = run.model, run.preprocessing
    if not isinstance(model, PredictsLabels) or list(prep.task) != list(labels):
        return None
    loader = torch.utils.data.DataLoader(run.dataset(rows), batch_size=128, shuffle=False)
    logits = []
    for batch in loader:
        kwargs = {k: batch[k] for k in ("mask", "extra") if k in batch}
        logits.append(model.predict_logits(batch["x"], **kwargs))
    p = torch.sigmoid(torch.cat(logits)).numpy().astype(float)
    return p[:, 0] if len(labels) == 1 else p


def own_head_scores(run: Run, labels: Sequence[str], rows: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """Probabilities and hard calls of a supervised model's own head on ``rows`` when it
    was trained on exactly ``labels`` (threshold: the label's prevalence in the other
    records); None when it has no such head."""
    p = head_probabilities(run, labels, rows)
    if p is None:
        return None
    prevalence = run.cache.records.reset_index(drop=True)[list(labels)].drop(index=rows).mean().to_numpy(dtype=float)
    return p, (p >= (prevalence[0] if len(labels) == 1 else prevalence)).astype(float)


def report_rows(runs: Sequence[Path], baselines: bool = True) -> list[dict]:
    """One result dict per run from its ``evaluation.json`` (for the comparison table),
    then, with ``baselines``, the sex-and-age row (L2 logistic regression, seed 001) of the
    first run's downstream table. ``scope`` and ``n`` say which records each AUROC is
    scored on: rows are comparable only where both agree."""
    rows, sex_age = [], None
    for run in runs:
        path = Path(run) / EVALUATION
        if not path.exists():
            raise FileNotFoundError(f"{path}: run `ecgwb evaluate {run}` first")
        ev = json.loads(path.read_text())
        row = {"model": ev["model"], "latent_dim": ev["latent_dim"], "run": ev["run"]}
        if ev.get("reconstruction"):
            row["reconstruction"] = ev["reconstruction"]
        down = ev.get("downstream") or {}
        main = down.get("main")
        if main:
            row["downstream"] = {k: v for k, v in main.items() if k in ("auroc", "auroc_low", "auroc_high", "f1_macro")}
            row.update(scope=down.get("scope"), n=main.get("n"), input=main.get("input"))
            if sex_age is None:
                sex_age = next(({"model": "sex + age", "latent_dim": 2, "run": ev["run"],
                                 "downstream": {k: r.get(k) for k in ("auroc", "auroc_low", "auroc_high", "f1_macro")},
                                 "scope": down.get("scope"), "n": r.get("n"), "input": "sex_age"}
                                for r in down.get("rows", [])
                                if r.get("input") == "sex_age" and r.get("model") == "logreg_l2"), None)
        own = [c for c in ev.get("clustering", []) if c.get("space") == "latent" and str(c.get("clustering", "")).startswith("label")]
        if own:
            row["clustering"] = {k: own[0][k] for k in ("dbi", "silhouette", "chi") if k in own[0]}
        rows.append(row)
    if baselines and sex_age is not None:
        rows.append(sex_age)
    return rows
