"""Saliency of one trained run, computed on demand and cached next to the run.

A run offers the predictors its model can differentiate: each output of a trained task
head (task_vae, split_task_vae, cnn_baseline, ecg_sl, …: the labels of
``preprocessing.json``'s ``task``) and each latent unit of a neural encoder (PCA is
linear and has no saliency worth the name). :func:`record_saliency` explains one record,
:func:`class_saliency` a capped, seeded sample of records for the class average; both
use :func:`ecgcore.explain.saliency.attribute` one record at a time (so that each record
keeps its own RR extras and beat mask) and write their maps under
``<run>/cache/<dataset>-<key>/saliency/`` (see :class:`~ecgcore.runs.Run`).

Maps are in the model's input units per sample, ``[leads, W]`` on the median-beat window;
beat-sequence models (ecg_sl) are summed over their beats, whose windows are centred like
the median beat. Models that read raw 10-s signals (cnn_baseline, st_mem, ecg_jepa) are
explained on the cached cleaned signal, ``[leads, T]``: their region sums place the median
beat's regions at every R peak of the signal (:mod:`ecgcore.explain.signal_regions`), so
:func:`region_table` gives the same columns for every kind of model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.data.label_columns import label_name
from ecgcore.explain.saliency import METHODS, attribute, region_attribution
from ecgcore.explain.signal_regions import signal_rpeaks
from ecgcore.models.capabilities import LatentTaskHead, PredictsLabels
from ecgcore.runs.atomic import read_or_none, write_atomic
from ecgcore.runs.run import Run, RunError

#: Readable method names, in :data:`METHODS` order.
METHOD_NAMES = {"integrated_gradients": "Integrated Gradients", "saliency": "Saliency",
                "gradient_shap": "GradientSHAP", "occlusion": "Occlusion"}
#: Input arrays whose windows share the median beat's fiducials.
BEAT_ARRAYS = ("median", "sequences")
#: The input array of models of whole signals.
SIGNAL_ARRAY = "signals"
MAX_CLASS_RECORDS = 200
OCCLUSION_MS = 40.0  # occlusion window: about a QRS third; stride half of it


@dataclass(frozen=True)
class Predictor:
    """One differentiable output of a run: ``kind`` 'head' (output ``index`` of the task
    head) or 'unit' (latent mean ``index``)."""

    kind: str
    index: int
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}{self.index}"


def predictors(run: Run) -> list[Predictor]:
    """The run's predictors: task-head outputs first, then latent units (neural models)."""
    import torch

    model, task = run.model, list(run.preprocessing.task)
    out: list[Predictor] = []
    if task and isinstance(model, (LatentTaskHead, PredictsLabels)):
        out += [Predictor("head", i, f"{label_name(t)}: task head logit")
                for i, t in enumerate(task)]
    if isinstance(model, torch.nn.Module) and any(True for _ in model.parameters()) \
            and run.model_name != "pca":
        out += [Predictor("unit", i, f"Latent unit z{i} (mean)") for i in range(run.latent_dim)]
    return out


def predictor_by_key(run: Run, key: str) -> Predictor:
    for p in predictors(run):
        if p.key == key:
            return p
    raise RunError(f"run {run.name} ({run.model_name}) has no predictor {key!r}")


def _extras(run: Run) -> np.ndarray | None:
    """The records' extra inputs (RR mean/SD…) ``[N, n]``, NaN filled by the median."""
    cols = list(run.preprocessing.extra)
    if not cols:
        return None
    records = run.cache.records.reset_index(drop=True)
    missing = [c for c in cols if c not in records.columns]
    if missing:
        raise RunError(f"run {run.name} needs extra inputs {missing}, which the records "
                       f"table of {run.cache.path} lacks")
    table = records[cols].apply(pd.to_numeric, errors="coerce")
    return table.fillna(table.median()).fillna(0.0).to_numpy(dtype=np.float32)


def predictor_function(run: Run, pred: Predictor, extra: Any, mask: Any) -> Callable:
    """``f(x) -> [B]`` for one record's extras/mask (broadcast over captum's batches)."""
    import torch

    from ecgcore.models.triplet import call_encode

    model = run.model
    ex = None if extra is None else torch.as_tensor(extra, dtype=torch.float32)[None]
    mk = None if mask is None else torch.as_tensor(mask, dtype=torch.bool)[None]

    def expand(t, n):
        return None if t is None else t.expand(n, *t.shape[1:])

    def kwargs(n: int) -> dict:
        return {"mask": expand(mk, n)} if mk is not None else {}

    if pred.kind == "unit":  # extras only where encode takes them (hybrid ecg_jepa)
        return lambda x: call_encode(model, x, expand(mk, len(x)),
                                     expand(ex, len(x))).mean[:, pred.index]
    if isinstance(model, LatentTaskHead):  # task VAEs: the head reads the latent means + extras
        def head(x):
            logits = model.task_logits(model.encode(x).mean, expand(ex, len(x)))
            if logits is None:
                raise RunError(f"run {run.name}: its head needs extra inputs")
            return logits[:, pred.index]
        return head
    return lambda x: model.predict_logits(x, extra=expand(ex, len(x)),
                                          **kwargs(len(x)))[:, pred.index]


@dataclass(frozen=True)
class PredictorOutput:
    """What a predictor says about one record: ``value`` (the head's logit, or the unit's
    latent mean), ``probability`` (a head's sigmoid of the logit: its heads are trained
    with binary cross-entropy, one per label, so the classes are not exclusive; None for
    a unit), ``name`` (the class's readable label, or 'z3') and ``recorded`` (the record's
    own value of that label when the records table has it, else None)."""

    value: float
    probability: float | None
    name: str
    recorded: float | None = None


def predictor_output(run: Run, pred: Predictor, row: int) -> PredictorOutput:
    """The predictor's output on cache row ``row`` (one forward pass; the same function
    the attribution explains, extras and beat mask included)."""
    import torch

    row = int(row)
    if not 0 <= row < run.n_records:
        raise RunError(f"run {run.name}: no record at row {row} of {run.cache.path} "
                       f"({run.n_records} records)")
    item = run.dataset([row])[0]
    extras = _extras(run)
    f = predictor_function(run, pred, None if extras is None else extras[row], item.get("mask"))
    try:
        with torch.inference_mode():
            value = float(f(item["x"][None])[0])
    except (RuntimeError, ValueError, TypeError) as exc:
        raise RunError(f"run {run.name}: {pred.label} failed on record "
                       f"{run.cache.records['record_id'].iloc[row]}: {exc}") from None
    if pred.kind != "head":
        return PredictorOutput(value, None, f"z{pred.index}")
    column = run.preprocessing.task[pred.index]
    records = run.cache.records.reset_index(drop=True)
    recorded = None
    if column in records.columns:
        v = pd.to_numeric(pd.Series([records[column].iloc[row]]), errors="coerce").iloc[0]
        recorded = float(v) if np.isfinite(v) else None
    return PredictorOutput(value, float(1.0 / (1.0 + np.exp(-value))), label_name(column),
                           recorded)


def is_signal_model(run: Run) -> bool:
    """True when the run's model reads whole 10-s signals (not median beats or sequences)."""
    array = run.preprocessing.array
    if array not in (*BEAT_ARRAYS, SIGNAL_ARRAY):
        raise RunError(f"run {run.name} ({run.model_name}) reads {array!r}: saliency knows "
                       f"{(*BEAT_ARRAYS, SIGNAL_ARRAY)}")
    return array == SIGNAL_ARRAY


def map_width(run: Run) -> int:
    """Samples per lead of the run's maps: the median window, or the signal's length."""
    return int(run.cache.array(SIGNAL_ARRAY).shape[-1]) if is_signal_model(run) \
        else run.window


def record_signal(run: Run, row: int) -> np.ndarray:
    """The cleaned 10-s signal of record ``row`` in µV ``[leads, T]`` (the model's leads)."""
    return run.dataset([int(row)], array=SIGNAL_ARRAY, scale_uv=1.0)[0]["x"].numpy() \
        .astype(np.float64)


def record_rpeaks(run: Run, rows: Sequence[int]) -> list[np.ndarray]:
    """R-peak samples of the records' cached signals (all leads; the pipeline's detector)."""
    signals = run.cache.array(SIGNAL_ARRAY)
    return signal_rpeaks(np.stack([signals[int(r)] for r in rows]), run.fs) if len(rows) \
        else []


def region_table(run: Run, maps: np.ndarray, rows: Sequence[int],
                 absolute: bool = True, rpeaks: Sequence[np.ndarray] | None = None
                 ) -> pd.DataFrame:
    """:func:`region_attribution` of the maps ``[n, leads, W or T]`` of cache ``rows``, on
    the median beat's regions (placed at every beat for signal models; ``rpeaks`` saves
    detecting them again)."""
    rows = [int(r) for r in rows]
    fid = np.asarray(run.cache.fiducials)[rows]
    if is_signal_model(run) and rpeaks is None:
        rpeaks = record_rpeaks(run, rows)
    return region_attribution(maps, fid, run.leads, absolute,
                              rpeaks if is_signal_model(run) else None)


def _attribute_rows(run: Run, pred: Predictor, method: str, rows: Sequence[int],
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Maps ``[len(rows), leads, W]`` (sequence models summed over beats; signal models
    ``[len(rows), leads, T]``)."""
    import torch

    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {METHODS}")
    is_signal_model(run)  # a clear error for an input array saliency does not know
    ds = run.dataset(list(rows))
    extras = _extras(run)
    window = max(2, round(OCCLUSION_MS * run.fs / 1000.0))
    maps = []
    for i, row in enumerate(rows):
        item = ds[i]
        f = predictor_function(run, pred, None if extras is None else extras[int(row)], item.get("mask"))
        try:
            with torch.enable_grad():
                a = attribute(f, item["x"][None], method, occlusion_window=window)[0]
        except (RuntimeError, ValueError, TypeError) as exc:
            raise RunError(f"run {run.name}: {METHOD_NAMES[method]} of {pred.label} "
                           f"failed on record {run.cache.records['record_id'].iloc[int(row)]}: "
                           f"{exc}") from None
        maps.append(a.sum(axis=0) if a.ndim == 3 else a)  # sequences: sum over beats
        if progress:
            progress(i + 1, len(rows))
    return np.stack(maps).astype(np.float32)


def _folder(run: Run) -> Path:
    folder = run.folder / "saliency"
    folder.mkdir(exist_ok=True)
    return folder


def _shape_ok(maps: np.ndarray, n: int, run: Run) -> bool:
    return maps.shape == (n, len(run.leads), map_width(run)) and bool(np.isfinite(maps).all())


def record_saliency(run: Run, pred: Predictor, method: str, row: int) -> np.ndarray:
    """The attribution map ``[leads, W]`` (signal models: ``[leads, T]``) of record ``row``
    (cached)."""
    path = _folder(run) / f"{pred.key}-{method}-r{int(row)}.npy"
    if path.exists():
        cached = read_or_none(lambda: np.load(path, allow_pickle=False))
        if cached is not None and _shape_ok(cached[None], 1, run):
            return cached
    a = _attribute_rows(run, pred, method, [int(row)])[0]
    write_atomic(path, lambda p: np.save(p, a))
    return a


def has_record_saliency(run: Run, pred: Predictor, method: str, row: int) -> bool:
    return (_folder(run) / f"{pred.key}-{method}-r{int(row)}.npy").exists()


def class_rows(labels: pd.Series, max_records: int = MAX_CLASS_RECORDS,
               seed: int = 0) -> np.ndarray:
    """At most ``max_records`` rows with a label, drawn per class in proportion (every
    class keeps at least one record), seeded; sorted."""
    lab = labels.reset_index(drop=True)
    ok = lab[lab.notna()]
    if len(ok) <= max_records:
        return np.sort(ok.index.to_numpy())
    rng = np.random.default_rng(seed)
    picked = []
    for idx in ok.groupby(ok.astype(str)).groups.values():
        k = max(1, round(max_records * len(idx) / len(ok)))
        picked.append(rng.choice(np.asarray(idx), min(k, len(idx)), replace=False))
    rows = np.concatenate(picked)
    if len(rows) > max_records:
        rows = rng.choice(rows, max_records, replace=False)
    return np.sort(rows)


@dataclass
class ClassSaliency:
    """Maps of a sample of records with their class: ``rows`` (cache rows), ``classes``
    (names), ``maps`` ``[n, leads, W]`` (signal models: ``[n, leads, T]`` and ``rpeaks``,
    each record's R peaks)."""

    rows: np.ndarray
    classes: np.ndarray
    maps: np.ndarray
    rpeaks: list[np.ndarray] | None = None

    def regions(self, run: Run, absolute: bool = True) -> pd.DataFrame:
        """Per-class means of :func:`region_table` (+ a column ``n``)."""
        table = region_table(run, self.maps, self.rows, absolute, self.rpeaks)
        cls = pd.Series(self.classes, name="class")
        means = table.groupby(cls).mean()
        means.insert(0, "n", cls.value_counts().reindex(means.index).to_numpy())
        return means

    def mean_map(self, cls: str) -> np.ndarray:
        return self.maps[self.classes == cls].mean(axis=0)


def class_saliency(run: Run, pred: Predictor, method: str, labels: pd.Series,
                   label_key: str, max_records: int = MAX_CLASS_RECORDS, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> ClassSaliency:
    """Maps of at most ``max_records`` records with a label (``labels``: one class name per
    cache row, NaN = none), for class averages; cached under ``label_key`` (with the R
    peaks of signal models, stored flat with their counts)."""
    rows = class_rows(labels, max_records, seed)
    if not len(rows):
        raise RunError(f"no record of {run.cache.path} has a value for {label_key}")
    classes = labels.reset_index(drop=True).iloc[rows].astype(str).to_numpy()
    stem = _class_stem(pred, method, label_key, max_records, seed)
    path = _folder(run) / f"{stem}.npz"
    signal = is_signal_model(run)

    def read():
        with np.load(path, allow_pickle=False) as f:
            peaks = np.split(f["rpeaks"], np.cumsum(f["rpeak_counts"])[:-1]) if signal \
                else None
            return f["rows"], f["maps"], peaks

    if path.exists():
        cached = read_or_none(read)
        if cached is not None and np.array_equal(cached[0], rows) \
                and _shape_ok(cached[1], len(rows), run):
            return ClassSaliency(rows, classes, cached[1], cached[2])
    maps = _attribute_rows(run, pred, method, rows, progress)
    peaks = record_rpeaks(run, rows) if signal else None
    extra = {} if peaks is None else {
        "rpeaks": np.concatenate(peaks).astype(np.int64),
        "rpeak_counts": np.array([len(p) for p in peaks], dtype=np.int64)}
    write_atomic(path, lambda p: np.savez(p, rows=rows, maps=maps, **extra))
    (_folder(run) / f"{stem}.json").write_text(json.dumps(
        {"predictor": pred.label, "method": method, "label": label_key, "n": len(rows)}))
    return ClassSaliency(rows, classes, maps, peaks)


def has_class_saliency(run: Run, pred: Predictor, method: str, label_key: str,
                       max_records: int = MAX_CLASS_RECORDS, seed: int = 0) -> bool:
    stem = _class_stem(pred, method, label_key, max_records, seed)
    return (_folder(run) / f"{stem}.npz").exists()


def _class_stem(pred: Predictor, method: str, label_key: str, max_records: int,
                seed: int) -> str:
    """The class average's file stem; ``label_key`` may be a user's column name (an
    attached labels table: 'LVEF < 40%'), so only safe characters go into the name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label_key)).strip("_") or "label"
    return f"{pred.key}-{method}-class-{safe}-n{max_records}-s{seed}"
