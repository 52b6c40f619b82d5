"""One patient's ECG read against a trained run: the Patient view's science, headless.

An ECG comes either from files of any format :func:`ecgcore.io.formats.read_ecg` reads
(uploads are written by :func:`save_uploads` under neutral names into a private folder)
or from a record of the run's own dataset. Files are preprocessed with the **run's
cohort pipeline** (:func:`patient_cache`: the same rate, filters, beat window and arrays
as the cache the run was trained on), so ``run.preprocessing.dataset(cache)`` gives the
model exactly the input it was trained on — there is no second way of building it.

:func:`explain_patient` then gives, for one record of that cache:

- its intervals as the pipeline measures them (what ``ecgwb measure`` prints), each
  flagged against adult reference limits (:data:`REFERENCE_LIMITS`) and, through
  :meth:`RecordDelineation.confidence`, as *uncertain* when its beats disagree; beside
  them the device's own measurements stored in the file, labelled by their source;
- its place on the run's latent map: PCA is refitted on the cohort's latent means,
  checked to reproduce the stored map, and the new point projected with it; t-SNE and
  UMAP cannot place a new point, so it is put at the mean map position of its k nearest
  cohort neighbours in latent space (``placement`` says which);
- its k nearest cohort neighbours (Euclidean in latent means) with their labels;
- its factor profile: each unit in cohort SDs, with the unit's annotation when asked;
- its reconstruction with the RMS error per wave (P/QRS/ST/T, µV) for decoding models;
- for a task head: the predicted probability, the latent counterfactual (task VAEs) and
  the Integrated-Gradients saliency summed over P/QRS/ST/T;
- for ECG-SL: its attention weight over each beat, and where those beats lie on the
  record (:func:`attention_beats`: the record re-read from the cache's source, run through
  the cache's own pipeline and cut as the cache's beat sequence was, checked sample for
  sample against that stored sequence).

**Leads.** The model reads a fixed lead set (``run.leads``). When the ECG lacks one of
those leads the model is *not* run on it: :class:`LeadMismatch` says which leads are
missing, and the intervals and the device's measurements are still shown. No lead is
derived or invented for it (a single lead is never made into twelve). A lead the file has
but that the pipeline left out as noise is fed as zeros, as such leads were in training,
and ``warnings`` says so.

Identifiers (names, IDs, birth dates) never reach a :class:`~ecgcore.io.record.Record`
(the readers keep them apart), and uploads are stored as ``upload-<n><suffix>``, so a
file name that carries a patient's name is never written, cached or shown.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.data.store import ECGCache
from ecgcore.io.formats.raw import MAX_FILE_BYTES
from ecgcore.runs.run import Run, RunError

#: Largest upload accepted (the readers' own limit).
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
#: Intervals shown, with their labels and units.
MEASURES = {"hr_bpm": ("Heart rate", "bpm"), "p_ms": ("P duration", "ms"),
            "pr_ms": ("PR interval", "ms"), "qrs_ms": ("QRS duration", "ms"),
            "qt_ms": ("QT interval", "ms"), "qtc_ms": ("QTc (Bazett)", "ms"),
            "axis_deg": ("QRS axis", "°")}
#: Adult resting limits (low, high) outside which a value is flagged: heart rate 50–100
#: bpm, PR 120–200 ms, QRS < 120 ms, QTc ≤ 460 ms (AHA/ACCF/HRS 2009 recommendations for
#: the standardization and interpretation of the ECG, parts III–IV), axis −30…+90°.
REFERENCE_LIMITS = {"hr_bpm": (50.0, 100.0), "pr_ms": (120.0, 200.0), "qrs_ms": (None, 120.0),
                    "qtc_ms": (None, 460.0), "axis_deg": (-30.0, 90.0)}
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class LeadMismatch(RunError):
    """The ECG lacks leads the run's model reads; the message names them."""


def save_uploads(files: Sequence[tuple[str, bytes]], folder: str | Path,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> list[Path]:
    """Write uploaded ``(file name, content)`` pairs into ``folder`` (created private,
    0700) as ``upload-<n><suffix>`` (files 0600): the user's file names, which may carry
    a patient's name, are never written. ValueError names the upload when it is empty or
    over ``max_bytes``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, stat.S_IRWXU)
    paths = []
    for n, (name, data) in enumerate(files, start=1):
        if not data:
            raise ValueError(f"upload {n} ({Path(name).suffix or 'no suffix'}): the file is empty")
        if len(data) > max_bytes:
            raise ValueError(f"upload {n}: {len(data) / 1e6:.1f} MB is over the "
                             f"{max_bytes / 1e6:.0f} MB limit")
        suffixes = "".join(s for s in Path(name).suffixes[-2:] if _SAFE_SUFFIX.match(s))
        path = folder / f"upload-{n}{suffixes.lower()}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


def read_upload(path: str | Path) -> tuple[Any, dict | None]:
    """(The file's Record, the measurements its device stored: ``{"source": …, "qrs_ms":
    …}`` or None); (None, None) when it cannot be read (the cache's manifest says why)."""
    from ecgcore.io.formats import read_ecg
    from ecgcore.io.record import RecordError

    try:
        record = read_ecg(path, validate=False)
    except (RecordError, ValueError, OSError):
        return None, None
    found = record.metadata.get("device_measurements")
    return record, (dict(found) if found else None)


def patient_cache(run: Run, files: str | Path, out: str | Path) -> tuple[ECGCache | None, pd.DataFrame]:
    """Preprocess ECG file ``files`` (or the ECG exports of folder ``files``; a folder's
    delimited text is not scanned, as label tables sit beside records: give a CSV
    file by itself) into ``out`` with the run's cohort pipeline and arrays. Returns (the
    cache, or None when no file could be used; the manifest: one row per file with its
    ``status`` and ``reason``)."""
    from ecgcore.data.cache import CacheOptions, preprocess
    from ecgcore.signal.pipeline import PipelineConfig

    info = run.cache.info
    pipeline = PipelineConfig(**info["pipeline"])
    options = CacheOptions(**info.get("options", {}))
    try:
        summary = preprocess(files, out, pipeline, options, workers=1, progress=False)
    except (ValueError, OSError) as exc:  # nothing readable as an ECG there
        return None, pd.DataFrame([{"record_id": Path(files).stem, "status": "skipped",
                                    "reason": str(exc)}])
    manifest = pd.read_csv(Path(out) / "manifest.csv", keep_default_na=False)
    return (ECGCache(out) if summary.n_ok else None), manifest


def _needed_leads(run: Run) -> tuple[str, ...]:
    """The recorded leads the model's input is made of (Kors X, Y, Z: the 8 independent)."""
    from ecgcore.leads import INDEPENDENT_LEADS

    return tuple(INDEPENDENT_LEADS) if run.preprocessing.lead_set == "xyz" else tuple(run.leads)


def _bad_leads(text: Any) -> set[str]:
    """Lead names of a records table's ``bad_leads`` text (``"V3: why; V4: why"``)."""
    return {part.split(":")[0].strip() for part in str(text or "").split(";") if ":" in part}


def lead_problem(run: Run, cache: ECGCache, row: int) -> tuple[str | None, list[str]]:
    """(Why the run's model cannot read record ``row`` of ``cache`` — leads the file lacks
    — or None; the leads it has but the pipeline left out as unusable)."""
    rec = cache.records.iloc[int(row)]
    beat = np.asarray(cache.median[int(row)])
    bad = _bad_leads(rec.get("bad_leads"))
    present = [lead for k, lead in enumerate(cache.leads) if np.isfinite(beat[k]).any()]
    left_out = [lead for lead in _needed_leads(run) if lead in bad and lead not in present]
    missing = [lead for lead in _needed_leads(run) if lead not in present and lead not in bad]
    if missing:
        return (f"this ECG has leads {', '.join(present) or 'none usable'}; run {run.name} "
                f"reads {', '.join(run.leads)}: {', '.join(missing)} missing. The model is not "
                "run on it (no lead is derived or invented); its intervals are measured all "
                "the same."), left_out
    return None, left_out


@dataclass
class PatientResult:
    """Everything the Patient view shows for one ECG (see the module docstring)."""

    record_id: str
    leads: tuple[str, ...]
    fs: float
    intervals: pd.DataFrame  # measure, label, unit, value, flag, uncertain, device
    device_source: str | None
    beat: np.ndarray  # median beat µV [cache leads, W]
    fiducials: np.ndarray  # [7] in the beat window
    lead_problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    z: np.ndarray | None = None
    profile: pd.DataFrame | None = None  # unit, value, sd, annotation
    xy: np.ndarray | None = None  # [2] on the run's map
    placement: str = ""
    projection: str = "pca"
    neighbours: pd.DataFrame | None = None  # row, record_id, distance, labels…
    model_beat: np.ndarray | None = None  # the model's input leads, µV [leads, W]
    reconstruction: np.ndarray | None = None  # µV [leads, W]
    wave_error: pd.DataFrame | None = None  # region, rms_uv, n_samples
    probabilities: pd.DataFrame | None = None  # label, probability
    counterfactual: Any = None  # ecgcore.explain.counterfactual.Counterfactual
    saliency: pd.DataFrame | None = None  # label, P, QRS, ST, T, other (share of |attr|)
    attention: np.ndarray | None = None  # [beats] ECG-SL weights
    attention_anchors: np.ndarray | None = None  # beat anchors (samples of attention_signal)
    attention_spans: np.ndarray | None = None  # [beats, 2] start, stop (excl.) samples
    attention_signal: np.ndarray | None = None  # the cleaned signal they were cut from µV
    #                                             [cache leads, samples] at ``fs``


def _flag(key: str, value: float) -> str:
    low, high = REFERENCE_LIMITS.get(key, (None, None))
    if not np.isfinite(value):
        return "not measured"
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return ""


def _intervals(records: pd.Series, device: dict | None, uncertain: dict[str, bool]) -> pd.DataFrame:
    rows = []
    for key, (label, unit) in MEASURES.items():
        value = pd.to_numeric(pd.Series([records.get(key)]), errors="coerce").iloc[0]
        value = float(value) if pd.notna(value) else float("nan")
        dev = (device or {}).get(key)
        rows.append({"measure": key, "label": label, "unit": unit, "value": value,
                     "flag": _flag(key, value), "uncertain": bool(uncertain.get(key, False)),
                     "device": float(dev) if dev is not None else float("nan")})
    return pd.DataFrame(rows)


def _uncertain(cache: ECGCache, row: int, record: Any = None) -> dict[str, bool]:
    """Per interval, True when the record's beats disagree (RecordDelineation.confidence),
    on ``record`` (a Record) or else the cache's stored signal (when it has one)."""
    from ecgcore.signal.record_delineation import delineate_signal

    if record is not None:
        signal, fs, leads = record.signal, record.fs, tuple(record.leads)
    elif (cache.path / "signals.npy").exists():
        signal, fs, leads = cache.array("signals")[row], cache.fs, tuple(cache.leads)
    else:
        return {}
    try:
        d = delineate_signal(np.nan_to_num(np.asarray(signal, dtype=np.float64)), fs, leads,
                             per_lead=False)
        return {k: v["uncertain"] for k, v in d.confidence().items()}
    except (ValueError, RuntimeError):
        return {}


def _pca_place(run: Run, means: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, str]:
    from sklearn.decomposition import PCA

    stored = run.projection("pca")
    pca = PCA(n_components=2, random_state=0).fit(means)
    again = pca.transform(means)
    scale = float(np.abs(stored).max()) or 1.0
    for sign in ([1, 1], [1, -1], [-1, 1], [-1, -1]):  # SVD signs are arbitrary
        if np.allclose(again * sign, stored, atol=1e-3 * scale):
            return (pca.transform(z[None])[0] * sign).astype(np.float64), \
                "projected with the run's PCA"
    raise RunError(f"run {run.name}: the refitted PCA does not reproduce the stored map")


def _wave_error(beat: np.ndarray, recon: np.ndarray, fid: np.ndarray) -> pd.DataFrame:
    from ecgcore.signal.regions import REGIONS, region_masks

    masks = region_masks(fid[None], beat.shape[-1])
    err = recon - beat
    rows = []
    for name in (*REGIONS, "other"):
        m = masks[name][0]
        rows.append({"region": name, "rms_uv": float(np.sqrt(np.mean(err[:, m] ** 2)))
                     if m.any() else float("nan"), "n_samples": int(m.sum())})
    rows.append({"region": "whole beat", "rms_uv": float(np.sqrt(np.mean(err ** 2))),
                 "n_samples": int(beat.shape[-1])})
    return pd.DataFrame(rows)


def _extra(run: Run, cache: ECGCache, row: int) -> np.ndarray | None:
    cols = list(run.preprocessing.extra)
    if not cols:
        return None
    cohort = run.cache.records[cols].apply(pd.to_numeric, errors="coerce").median()
    mine = cache.records.iloc[row].reindex(cols)
    mine = pd.to_numeric(mine, errors="coerce").fillna(cohort).fillna(0.0)
    return mine.to_numpy(dtype=np.float32)


def explain_patient(run: Run, cache: ECGCache, row: int = 0, *, k: int = 5,
                    projection: str = "pca", annotate: bool = False,
                    saliency: bool = True, label_columns: Sequence[str] = (),
                    device: dict | None = None, record: Any = None) -> PatientResult:
    """Read record ``row`` of ``cache`` (a :func:`patient_cache`, or the run's own cache)
    against ``run``. ``k`` neighbours; ``projection`` the map (pca, tsne, umap: computed
    and cached by the run when absent); ``annotate`` adds the factor annotation (decodes
    traversals once per run); ``label_columns``: the cohort's columns shown beside each
    neighbour (default: every diagnostic superclass flag the records table has);
    ``device``: the file's own measurements (:func:`read_upload`); ``record``:
    the file's :class:`~ecgcore.io.record.Record`, for the flags of beat-to-beat spread."""
    import torch

    from ecgcore.models.capabilities import BeatAttention, LatentTaskHead, PredictsLabels

    rec = cache.records.iloc[int(row)]
    result = PatientResult(
        record_id=str(rec["record_id"]), leads=tuple(cache.leads), fs=cache.fs,
        intervals=_intervals(rec, device, _uncertain(cache, int(row), record)),
        device_source=(device or {}).get("source"),
        beat=np.asarray(cache.median[int(row)], dtype=np.float64),
        fiducials=np.asarray(cache.fiducials[int(row)], dtype=np.float64), projection=projection)
    problem, dropped = lead_problem(run, cache, int(row))
    if problem:
        result.lead_problem = problem
        return result
    if dropped:
        result.warnings.append(f"lead(s) {', '.join(dropped)} were left out as unusable: the "
                               "model reads them as zeros, as it did such leads in training")

    ds = run.preprocessing.dataset(cache, [int(row)])
    item = ds[0]
    with torch.inference_mode():
        from ecgcore.models.encode import encode_dataset

        z, _ = encode_dataset(run.model, ds, 1)
    z = z[0].astype(np.float64)
    result.z = z

    means = run.means()
    mu, sd = means.mean(axis=0), means.std(axis=0)
    prof = pd.DataFrame({"unit": np.arange(len(z)), "value": z,
                         "sd": np.where(sd > 0, (z - mu) / np.where(sd > 0, sd, 1.0), np.nan)})
    prof["annotation"] = ""
    if annotate:
        try:
            sentences = run.annotation().sentences
            prof["annotation"] = [sentences.get(int(u), "") for u in prof["unit"]]
        except RunError as exc:
            result.warnings.append(f"no factor annotation: {exc}")
    result.profile = prof

    dist = np.sqrt(((means - z) ** 2).sum(axis=1))
    order = np.argsort(dist, kind="stable")[:k]
    records = run.cache.records.reset_index(drop=True)
    if not label_columns:
        from ecgcore.data.spec import SUPERCLASS_COLUMNS

        label_columns = [c for c in SUPERCLASS_COLUMNS if c in records.columns]
    neigh = pd.DataFrame({"row": order, "record_id": records["record_id"].iloc[order].astype(str).to_numpy(),
                          "distance": dist[order]})
    for c in label_columns:
        neigh[c] = records[c].iloc[order].to_numpy()
    result.neighbours = neigh

    if projection == "pca":
        result.xy, result.placement = _pca_place(run, means, z)
    else:
        xy = run.projection(projection)
        result.xy = xy[order].astype(np.float64).mean(axis=0)
        result.placement = (f"{projection.upper()} cannot place a new point: shown at the mean "
                            f"position of its {len(order)} nearest cohort neighbours (latent space)")

    result.model_beat = run.preprocessing.dataset(cache, [int(row)], array="median",
                                                  scale_uv=1.0)[0]["x"].numpy().astype(np.float64)
    try:
        result.reconstruction = run.decode(z[None])[0]
        result.wave_error = _wave_error(result.model_beat, result.reconstruction, result.fiducials)
    except RunError as exc:
        result.warnings.append(str(exc))

    model, task = run.model, list(run.preprocessing.task)
    extra = _extra(run, cache, int(row))
    if task and isinstance(model, (LatentTaskHead, PredictsLabels)):
        from ecgcore.data.label_columns import label_name

        x = item["x"][None]
        mask = item.get("mask")
        with torch.inference_mode():
            f_args = {"extra": None if extra is None else torch.as_tensor(extra)[None]}
            if isinstance(model, LatentTaskHead):
                logits = model.task_logits(model.encode(x).mean, f_args["extra"])
            else:
                kw = {"mask": mask[None]} if mask is not None else {}
                logits = model.predict_logits(x, extra=f_args["extra"], **kw)
        probs = torch.sigmoid(logits[0]).double().numpy()
        result.probabilities = pd.DataFrame({"label": task, "name": [label_name(t) for t in task],
                                             "probability": probs})
        if isinstance(model, LatentTaskHead):
            from ecgcore.explain.counterfactual import latent_counterfactual

            try:
                result.counterfactual = latent_counterfactual(
                    model, item["x"].numpy(), run.fs, run.r_index, extra=extra, output=0,
                    scale_to_uv=run.scale_uv, leads=run.leads, z_cohort=means)
            except (ValueError, NotImplementedError) as exc:
                result.warnings.append(f"no counterfactual: {exc}")
        if saliency:
            result.saliency = _saliency(run, item, extra, task, result.fiducials)
    if isinstance(model, BeatAttention) and item.get("mask") is not None:
        with torch.inference_mode():
            w = model.attention(item["x"][None], item["mask"][None])[0].numpy()
        valid = item["mask"].numpy().astype(bool)
        result.attention = np.asarray(w, dtype=np.float64)[valid]
        try:
            result.attention_signal, result.attention_spans, result.attention_anchors = \
                attention_beats(cache, int(row))
        except (RunError, KeyError, OSError, ValueError) as exc:
            result.warnings.append(f"attention not drawn on the record: {exc}")
    return result


def attention_beats(cache: ECGCache, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(The cleaned signal µV ``[cache leads, samples]`` at ``cache.fs``; ``[beats, 2]``
    start, stop samples; their anchors) of the beat sequence a beat-token model (ECG-SL) read for record
    ``row``. The cache keeps the beats but not where they were cut, so the record is read
    again from the cache's source and run through the cache's own pipeline (deterministic),
    then cut by :func:`~ecgcore.signal.sequences.beat_sequence_spans`, the same cut as the
    cache's; the beats so cut must equal the stored sequence, else RunError."""
    from ecgcore.io.folder import open_source
    from ecgcore.signal.pipeline import PipelineConfig, process_record
    from ecgcore.signal.sequences import beat_sequence_spans

    info = cache.info
    if not (cache.path / "sequences.npy").exists():
        raise RunError(f"{cache.path}: the cache keeps no beat sequences")
    config = PipelineConfig(**info["pipeline"])
    lead_map = info.get("options", {}).get("lead_map") or None
    record_id = str(cache.records["record_id"].iloc[int(row)])
    source = open_source(info["source"], lead_map=lead_map)
    res = process_record(source.read(record_id), config)
    spans = beat_sequence_spans(res.signal, res.anchors, res.fs, config.beat_window,
                                config.max_beats)
    signal = np.full((len(cache.leads), res.signal.shape[1]), np.nan, dtype=np.float32)
    for k, lead in enumerate(res.leads):
        if lead in cache.leads:
            signal[list(cache.leads).index(lead)] = res.signal[k]
    stored = np.asarray(cache.array("sequences")[int(row)])
    mask = np.asarray(cache.array("sequence_mask")[int(row)]).astype(bool)
    cut = np.stack([signal[:, a:b] for a, b in spans]) if len(spans) else stored[:0]
    if int(mask.sum()) != len(spans) or not np.allclose(cut, stored[mask], atol=1e-3,
                                                        equal_nan=True):
        raise RunError(f"record {record_id}: re-reading {info['source']} does not give the "
                       "beats the cache stored (the file changed since the cache was built?)")
    return signal, spans, spans[:, 0] + config.beat_window.offsets(res.fs)[0]


def _saliency(run: Run, item: dict, extra: np.ndarray | None, task: list[str],
              fid: np.ndarray) -> pd.DataFrame | None:
    """Integrated Gradients of each task output, |attribution| shares over P/QRS/ST/T."""
    import torch

    from ecgcore.data.label_columns import label_name
    from ecgcore.explain.saliency import attribute, region_attribution
    from ecgcore.runs.saliency import Predictor, is_signal_model, predictor_function

    if is_signal_model(run):
        return None  # whole-signal models: their maps are the Saliency view's (cohort rows)
    rows = []
    for i, t in enumerate(task):
        f = predictor_function(run, Predictor("head", i, t), extra, item.get("mask"))
        with torch.enable_grad():
            a = attribute(f, item["x"][None], "integrated_gradients")[0]
        a = a.sum(axis=0) if a.ndim == 3 else a
        table = region_attribution(a[None], fid[None], run.leads, absolute=True)
        total = float(table["total"].iloc[0]) or 1.0
        rows.append({"label": t, "name": label_name(t),
                     **{r: float(table[r].iloc[0]) / total for r in ("P", "QRS", "ST", "T", "other")}})
    return pd.DataFrame(rows)
