"""External validation: a trained run scored on every record of another cohort (another
hospital, device or database), written to ``<run>/external/<cohort>/evaluation.json``
(`ecgwb evaluate RUN --data OTHER`). The run's own ``evaluation.json`` is never touched
and its split is never applied: the other cohort's record ids are not the training
cohort's (LUDB's record "1" is not PTB-XL's ecg_id 1).

Keys of the external ``evaluation.json``:

- ``run``, ``model``, ``latent_dim``, ``cohort`` (its name), ``external`` (true),
  ``dataset`` (the cohort's cache folder), ``n_records`` (every record of the cohort that
  could be read), ``left_out`` (id and reason of each record that could not);
- ``reconstruction``: µV metrics of every record (``mae``, ``mse``, ``correlation``, per
  lead, ``mae_per_wave``); ``in_cohort.reconstruction``: the same metrics on the training
  cohort's held-out test split; ``reconstruction_ratio``: external / in-cohort (MAE, MSE,
  and ``relative_mae``: each MAE divided by its cohort's mean |signal| ``mean_abs_uv``);
- ``shift``: how far the cohort's latent means sit from the training cohort's
  (:func:`ecgcore.evaluate.shift.embedding_shift`: Fréchet distance, domain AUROC,
  standardised mean difference per unit);
- ``clustering``: DBI / silhouette / CHI of the cohort's latents (its labels where it has
  them, k-means), beside a PCA of its median beats of the same size;
- ``downstream``: where the cohort has the labels, probes fitted on the whole training
  cohort (latent means → labels: L2 logistic regression, LightGBM) and the run's own
  prediction head, applied to every labelled record of the cohort, with AUROC (95% CI)
  and macro F1 (threshold: the training cohort's prevalence);
- ``identification``: same-patient retrieval when the cohort has patients with ≥ 2 records;
- ``reasons``: for every section that is null, why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.checkpoint import write_json_atomic
from ecgcore.data.spec import SUPERCLASS_COLUMNS
from ecgcore.files import EVALUATION, EXTERNAL
from ecgcore.runs.evaluation import _clean, head_probabilities, reconstruction_section
from ecgcore.runs.run import Run, RunError

#: The probes fitted on the training cohort and applied to the external one.
PROBES = ("logreg_l2", "lgbm")


def cohort_name(data: str | Path) -> str:
    """A folder-safe name for a cohort: its cache's ``name`` when ``data`` is a cache,
    else the folder's name."""
    path = Path(data).expanduser().resolve()
    name = path.name
    try:
        name = json.loads((path / "cache.json").read_text()).get("name") or name
    except (OSError, ValueError, AttributeError):
        pass
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_.")[:60] or "cohort"


def external_path(run: str | Path, cohort: str) -> Path:
    """``<run>/external/<cohort>/evaluation.json``."""
    return Path(run) / EXTERNAL / cohort / EVALUATION


def external_evaluations(run: str | Path) -> dict[str, dict]:
    """Every external evaluation of a run, by cohort name (unreadable files are skipped)."""
    out = {}
    for path in sorted((Path(run) / EXTERNAL).glob(f"*/{EVALUATION}")):
        try:
            out[path.parent.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return out


def _left_out(cache_path: Path) -> list[dict]:
    """The cohort's records that preprocessing could not use: id and reason (manifest)."""
    path = Path(cache_path) / "manifest.csv"
    if not path.exists():
        return []
    manifest = pd.read_csv(path, dtype={"record_id": str, "status": str, "reason": str})
    bad = manifest[manifest["status"].astype(str) != "ok"]
    return [{"record_id": str(r.record_id), "reason": str(r.reason)} for r in bad.itertuples()]


def _label_columns(run: Run, task: Sequence[str] | None) -> list[str]:
    if task:
        return list(task)
    return list(run.data_config.task) or list(SUPERCLASS_COLUMNS)


def _downstream(own: Run, z_own: np.ndarray, ext: Run, z_ext: np.ndarray, labels: list[str],
                cohort: str, n_boot: int, seed: int) -> tuple[dict | None, str | None]:
    """Probes fitted on the training cohort, scored on the external cohort's labelled
    records, and the run's own head where it predicts these labels."""
    from ecgcore.evaluate.downstream import OOF, infer_task, oof_predict, score_predictions

    rec_own = own.cache.records.reset_index(drop=True)
    rec_ext = ext.cache.records.reset_index(drop=True)
    missing = [c for c in labels if c not in rec_ext.columns]
    if missing:
        return None, (f"cohort {cohort} has no label column(s) {missing}: give --task with "
                      "label columns it has, or a labels table when preprocessing it")
    missing = [c for c in labels if c not in rec_own.columns]
    if missing:
        return None, f"the training cohort has no label column(s) {missing}: nothing to fit a probe on"
    y_own = rec_own[labels].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    y_ext = rec_ext[labels].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    own_rows = np.flatnonzero(np.isfinite(y_own).all(axis=1))
    ext_rows = np.flatnonzero(np.isfinite(y_ext).all(axis=1))
    if len(ext_rows) < 2:
        return None, f"cohort {cohort} has {len(ext_rows)} record(s) with every label of {labels}"
    task = infer_task(pd.concat([rec_own[labels], rec_ext[labels]], ignore_index=True), labels)
    # one split: train = the training cohort, test = the external cohort (patients are
    # named per cohort so that no group spans both)
    X = np.vstack([z_own[own_rows], z_ext[ext_rows]])
    y = np.concatenate([y_own[own_rows], y_ext[ext_rows]])
    y = y[:, 0] if task != "multilabel" else y
    meta = pd.DataFrame({"patient_id": [f"own_{i}" for i in own_rows] + [f"ext_{i}" for i in ext_rows]})
    n_own = len(own_rows)
    folds = [(np.arange(n_own), np.arange(n_own, len(X)))]
    y_test = y[n_own:]
    rows = []
    base = {"task": task, "label": "+".join(labels), "n_train": n_own}
    for model in PROBES:
        oof = oof_predict(X, y, folds, model, task, meta, seed=seed)
        test = OOF(oof.score[n_own:], None if oof.hard is None else oof.hard[n_own:], oof.failed_fits)
        rows.append({"input": "latent", "model": model, **base, "failed_fits": oof.failed_fits,
                     **score_predictions(y_test, test, task, labels, n_boot, seed)})
    head = head_probabilities(ext, labels, ext_rows)
    if head is not None:
        prevalence = np.nanmean(y_own[own_rows], axis=0)
        thr = prevalence[0] if len(labels) == 1 else prevalence
        test = OOF(head, (head >= thr).astype(float), 0)
        rows.append({"input": "own_head", "model": own.model_name, **base, "failed_fits": 0,
                     **score_predictions(y_test, test, task, labels, n_boot, seed)})
    main = next((r for r in rows if r["input"] == "own_head"), rows[0])
    return {"label": labels, "task": task, "n": len(ext_rows), "rows": rows, "main": main}, None


def evaluate_external(run: Run | str | Path, data: str | Path | None = None,
                      task: Sequence[str] | None = None, name: str | None = None,
                      n_boot: int = 500, seed: int = 0) -> dict:
    """Score a run on every record of another cohort and write
    ``<run>/external/<cohort>/evaluation.json`` (keys in the module docstring).

    ``run``: a :class:`Run` opened on the other cohort, or a run folder with ``data``.
    ``name``: the cohort's name (default: :func:`cohort_name` of its folder). RunError when
    ``data`` is the run's own cohort (use :func:`ecgcore.runs.evaluation.evaluate_run`).
    Sections that cannot be computed are null, with the reason in ``reasons``.
    """
    from ecgcore.evaluate.clustering import clustering_report
    from ecgcore.evaluate.shift import embedding_shift
    from ecgcore.explain.identification import identification_accuracy

    ext = run if isinstance(run, Run) else Run(run, data, progress=True)
    if isinstance(run, Run) and data is not None:
        raise ValueError("give data when opening the Run, not to evaluate_external")
    if ext.data is None or ext.on_own_data:
        raise RunError(f"run {ext.name}: {ext.data or 'its data'} is the cohort it was trained on; "
                       "`ecgwb evaluate RUN` evaluates it there")
    cohort = name or cohort_name(ext.data)
    reasons: dict[str, str] = {}
    z_ext, _ = ext.encode()
    records = ext.cache.records.reset_index(drop=True)
    out: dict = {"run": ext.name, "model": ext.model_name, "latent_dim": int(z_ext.shape[1]),
                 "cohort": cohort, "external": True, "dataset": str(ext.cache.path),
                 "n_records": len(z_ext), "left_out": _left_out(ext.cache.path)}
    if out["left_out"]:
        reasons["records"] = (f"{len(out['left_out'])} record(s) of the cohort could not be "
                              "preprocessed and are not scored (left_out: id and reason)")

    rec, why = reconstruction_section(ext, z_ext, np.arange(len(z_ext)))
    out["reconstruction"] = rec
    if why:
        reasons["reconstruction"] = why

    # the training cohort, for the in-cohort reference, the shift and the probes
    own = Run(ext.path, cache_root=ext.cache_root)
    try:
        z_own = own.means()
    except RunError as exc:
        own, z_own = None, None
        why = f"the training cohort cannot be opened: {exc}"
        for key in ("in_cohort", "shift", "downstream"):
            reasons[key] = why
    out["in_cohort"] = out["reconstruction_ratio"] = out["shift"] = None
    if own is not None:
        own_rec, why = reconstruction_section(own, z_own, own.split_rows("test"))
        out["in_cohort"] = {"dataset": str(own.cache.path), "n_records": len(z_own),
                            "reconstruction": own_rec}
        if rec and own_rec:
            ratio = {k: rec[k] / own_rec[k] for k in ("mae", "mse") if own_rec.get(k)}
            if rec.get("mean_abs_uv") and own_rec.get("mean_abs_uv") and own_rec.get("mae"):
                # MAE relative to each cohort's mean |signal|: smaller beats shrink the µV MAE
                ratio["relative_mae"] = ((rec["mae"] / rec["mean_abs_uv"])
                                         / (own_rec["mae"] / own_rec["mean_abs_uv"]))
            out["reconstruction_ratio"] = ratio
        elif why and not rec:
            pass  # the reason is already given for the external cohort
        elif why:
            reasons["reconstruction_ratio"] = f"in-cohort reconstruction: {why}"
        if len(z_own) >= 2 and len(z_ext) >= 2:
            out["shift"] = embedding_shift(z_own, z_ext, seed=seed)
        else:
            reasons["shift"] = "needs at least two records in each cohort"

    labels = _label_columns(ext, task)
    beats = np.nan_to_num(np.asarray(ext.cache.median, dtype=np.float32))
    present = [c for c in labels if c in records.columns]
    cluster_labels = {}
    if present:
        meta = records[present].apply(pd.to_numeric, errors="coerce")
        primary = meta.fillna(0).to_numpy().argmax(axis=1).astype(object)
        primary[meta.isna().all(axis=1).to_numpy()] = None
        cluster_labels = {"label": primary}
    if len(z_ext) >= 6:
        clus = clustering_report({"latent": z_ext}, cluster_labels, k=min(5, len(z_ext) - 1),
                                 beats=beats, seed=seed)
        out["clustering"] = clus.to_dict(orient="records")
    else:
        out["clustering"] = None
        reasons["clustering"] = f"{len(z_ext)} records: too few to cluster"

    out["downstream"] = None
    if own is not None:
        down, why = _downstream(own, z_own, ext, z_ext, labels, cohort, n_boot, seed)
        out["downstream"] = down
        if why:
            reasons["downstream"] = why

    out["identification"] = None
    pid = records["patient_id"] if "patient_id" in records.columns else None
    if pid is not None and pid.notna().any() and pid.dropna().astype(str).duplicated().any():
        ident = identification_accuracy(z_ext, pid.to_numpy())
        ident.pop("rank", None)
        out["identification"] = ident
    else:
        reasons["identification"] = f"cohort {cohort} has no patient with two or more records"
    out["reasons"] = reasons
    out = _clean(out)
    path = external_path(ext.path, cohort)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, out)
    return out


def cohort_table(runs: Sequence[str | Path]) -> pd.DataFrame:
    """In-cohort and external figures side by side (the Compare view): one row per run
    and cohort — first the run's own evaluation (``evaluation.json``; its test split for
    reconstruction), then each external cohort. Columns: ``run``, ``model``, ``cohort``,
    ``external``, ``n_records``, ``mae_uv``, ``correlation``, ``mae_ratio`` (external /
    in-cohort), ``relative_mae_ratio`` (the same, each MAE over its cohort's mean
    |signal|), ``domain_auroc``, ``auroc`` (with ``auroc_low``/``auroc_high``),
    ``f1_macro``, ``probe`` (the row the AUROC is from), ``id_top1``/``id_top5``/
    ``id_queries``/``id_patients`` (same-patient re-identification) and ``why``
    (sections not computed, and why). Runs without any evaluation are skipped."""
    rows = []
    for run in map(Path, runs):
        own_path = run / EVALUATION
        evals: list[tuple[str, bool, dict]] = []
        if own_path.exists():
            try:
                own = json.loads(own_path.read_text())
                evals.append((Path(own.get("dataset", "")).name or "training cohort", False, own))
            except (OSError, ValueError):
                pass
        evals += [(name, True, ev) for name, ev in external_evaluations(run).items()]
        for cohort, external, ev in evals:
            rec = ev.get("reconstruction") or {}
            main = (ev.get("downstream") or {}).get("main") or {}
            ident = ev.get("identification") or {}
            reasons = dict(ev.get("reasons") or {})
            if not external:  # the run's own evaluation.json says nothing of its gaps
                if not rec:
                    reasons["reconstruction"] = "the model does not reconstruct median beats"
                if not main:
                    reasons["downstream"] = "no label to probe in the training cohort"
                if not ident:
                    reasons["identification"] = "no patient with two or more records"
            ratio = ev.get("reconstruction_ratio") or {}
            rows.append({
                "run": ev.get("run", run.name), "model": ev.get("model"), "cohort": cohort,
                "external": external, "n_records": ev.get("n_records"),
                "mae_uv": rec.get("mae"), "correlation": rec.get("correlation"),
                "mae_ratio": ratio.get("mae") if external else (1.0 if rec else None),
                "relative_mae_ratio": ratio.get("relative_mae") if external
                else (1.0 if rec else None),
                "domain_auroc": (ev.get("shift") or {}).get("domain_auroc"),
                "auroc": main.get("auroc"), "auroc_low": main.get("auroc_low"),
                "auroc_high": main.get("auroc_high"), "f1_macro": main.get("f1_macro"),
                "probe": f"{main['input']} {main['model']}" if main else None,
                "id_top1": ident.get("top1"), "id_top5": ident.get("top5"),
                "id_queries": ident.get("n_queries"), "id_patients": ident.get("n_patients"),
                "why": "; ".join(f"{k}: {v}" for k, v in reasons.items()) or None,
            })
    return pd.DataFrame(rows)
