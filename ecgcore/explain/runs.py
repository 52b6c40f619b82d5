"""Trained runs for the views: a listing of a runs folder and each run's cached artefacts.

Headless (no Streamlit). :func:`list_runs` reads only small files, so a page can call it on
every rerun; a run folder with a missing or corrupt file is listed with its ``problem``
instead of raising. :class:`RunArtifacts` computes, for one run and one dataset, what the
views show, and caches every result on disk next to the run::

    <run>/cache/<dataset>-<key>/
        embedding.parquet      record_id, z0…z{L-1}, z0_scale… (when the model has them),
                               then every column of the dataset's records table
        projection-<m>.npy     2-D map of the latent means (m = pca, tsne, umap)
        traversal-u<u>-n<n>-s<span>.npz   values and decoded beats (µV) along unit u
        cohort-measurements.parquet       the measurements the records table lacks
        annotation-n<n>-s<span>[-steps|-cohort].parquet, .json   factor annotation:
                               table, measurements per step, cohort ρ, sentences

The key covers the dataset's cache (its path and ``cache.json``) and the weights file (size
and modification time), so a retrained run or another dataset gets fresh files. Each file
is written atomically; one that cannot be read back is recomputed. UMAP is computed only by
:meth:`RunArtifacts.projection` with ``method="umap"``, never implicitly.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The checkpoint's file names (as ecgcore.checkpoint; not imported from there, so that
# listing runs does not import torch).
WEIGHTS, CONFIG, PREPROCESSING, METRICS = (
    "weights.safetensors", "config.json", "preprocessing.json", "metrics.json")

#: Columns of :func:`list_runs`.
RUN_COLUMNS = ("name", "model", "latent_dim", "status", "epochs", "best_val", "path", "problem",
               "modified")
ARTIFACTS_VERSION = 1
#: Projections offered, cheapest first (UMAP imports numba: seconds to a minute at first).
PROJECTIONS = ("pca", "tsne", "umap")
#: Label columns shown first when present, in this order.
PREFERRED_LABELS = (
    "age", "sex", "hr_bpm", "qrs_ms", "qt_ms", "qtc_ms", "pr_ms", "p_ms", "axis_deg", "lvef",
    "superclass_NORM", "superclass_MI", "superclass_STTC", "superclass_CD", "superclass_HYP",
)
#: Readable names of the usual label columns (others are shown as they are).
LABEL_NAMES = {
    "age": "Age (years)", "sex": "Sex", "height": "Height (cm)", "weight": "Weight (kg)",
    "hr_bpm": "Heart rate (bpm)", "rr_mean_ms": "Mean RR (ms)", "rr_sd_ms": "SD of RR (ms)",
    "p_ms": "P duration (ms)", "pr_ms": "PR interval (ms)", "qrs_ms": "QRS duration (ms)",
    "qt_ms": "QT interval (ms)", "qtc_ms": "QTc Bazett (ms)",
    "qtc_fridericia_ms": "QTc Fridericia (ms)", "axis_deg": "QRS axis (°)", "lvef": "LVEF (%)",
    "superclass_NORM": "Normal ECG (NORM)", "superclass_MI": "Myocardial infarction (MI)",
    "superclass_STTC": "ST/T change (STTC)", "superclass_CD": "Conduction disturbance (CD)",
    "superclass_HYP": "Hypertrophy (HYP)", "heart_axis": "Heart axis (report)",
}
_AMPLITUDE = re.compile(r"^([rst])_amp_(\w+)_uv$")


def label_name(column: str) -> str:
    """'QRS duration (ms)' for ``qrs_ms``, 'R amplitude V5 (µV)' for ``r_amp_V5_uv``."""
    if column in LABEL_NAMES:
        return LABEL_NAMES[column]
    m = _AMPLITUDE.match(column)
    if m:
        return f"{m.group(1).upper()} amplitude {m.group(2)} (µV)"
    if column.startswith("subclass_"):
        return f"{column[len('subclass_'):]} (subclass)"
    return column


#: Columns that are bookkeeping, not labels.
_NOT_LABELS = re.compile(
    r"^(record_id|ecg_id|patient_id|path|filename|label_key|fid_.*|z\d+(_scale)?|nurse|"
    r"recording_date|report|scp_codes|validated_by|strat_fold|missing_leads)$")


class RunError(ValueError):
    """A run (or its dataset) that the views cannot use; the message names both."""


# -- listing -------------------------------------------------------------------------------

def _json(path: Path) -> tuple[dict | None, str]:
    """(content, problem) of a small JSON file."""
    if not path.exists():
        return None, f"missing {path.name}"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    return data, ""


def weights_problem(path: str | Path) -> str:
    """'' when a safetensors file's header parses and the file holds every tensor's bytes,
    else what is wrong (missing, truncated, bad header). Reads only the header."""
    path = Path(path)
    if not path.exists():
        return f"missing {path.name}"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                return f"{path.name} is truncated ({size} bytes)"
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                return f"{path.name} is truncated (header of {n} bytes, file of {size})"
            header = json.loads(fh.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"{path.name} is corrupt ({exc})"
    need = 8 + n + max(ends, default=0)
    if size < need:
        return f"{path.name} is truncated ({size} of {need} bytes)"
    return ""


def run_problem(run: str | Path) -> str:
    """Why a run folder cannot be loaded ('' when its checkpoint files look whole)."""
    run = Path(run)
    problems = []
    for name in (CONFIG, PREPROCESSING):
        data, problem = _json(run / name)
        if problem:
            problems.append(problem)
        elif name == CONFIG and not isinstance(data.get("model"), dict):
            problems.append(f"{CONFIG} has no 'model' section")
    problem = weights_problem(run / WEIGHTS)
    if problem:
        problems.append(problem)
    return "; ".join(problems)


def run_stamp(run: str | Path) -> tuple[int, int]:
    """(size, mtime in ns) of a run's weights, (0, 0) when absent: changes on retraining."""
    try:
        st = (Path(run) / WEIGHTS).stat()
    except OSError:
        return (0, 0)
    return (int(st.st_size), int(st.st_mtime_ns))


_RUN_FILES = ("config.yaml", CONFIG, PREPROCESSING, METRICS, "status.json", WEIGHTS)


def _is_run_folder(path: Path) -> bool:
    if not path.is_dir() or path.name.startswith(".") or path.name.endswith((".tmp", ".old")):
        return False
    return any((path / f).exists() for f in _RUN_FILES)


def _best_val(metrics: dict | None) -> float:
    value = (metrics or {}).get("best_val_total")
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def list_runs(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run folder in ``runs_dir``, newest first (columns :data:`RUN_COLUMNS`).

    ``status`` is ``finished`` / ``running`` / … from ``metrics.json`` or ``status.json``;
    ``best_val`` the best validation total loss (NaN where the run has none, e.g. PCA);
    ``problem`` says what is missing or corrupt ('' for a loadable run). A missing or
    empty folder gives an empty table; nothing here raises for a bad run.
    """
    root = Path(runs_dir)
    rows = []
    try:
        folders = sorted(p for p in root.iterdir() if _is_run_folder(p)) if root.is_dir() else []
    except OSError:
        folders = []
    for run in folders:
        config, _ = _json(run / CONFIG)
        metrics, _ = _json(run / METRICS)
        status_file, _ = _json(run / "status.json")
        model = (config or {}).get("model") if isinstance((config or {}).get("model"), dict) else {}
        status = (metrics or {}).get("status") or (status_file or {}).get("status") or "unknown"
        epochs = (metrics or {}).get("epochs")
        stamps = [f.stat().st_mtime for f in (run / n for n in _RUN_FILES) if f.exists()]
        modified = max(stamps, default=0.0)  # training files, not the view's cache
        rows.append({
            "name": run.name, "model": model.get("name") or (metrics or {}).get("model") or "?",
            "latent_dim": model.get("latent_dim"), "status": str(status),
            "epochs": int(epochs) if isinstance(epochs, (int, float)) else None,
            "best_val": _best_val(metrics), "path": str(run.resolve()),
            "problem": run_problem(run), "modified": float(modified),
        })
    table = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    table["latent_dim"] = table["latent_dim"].astype("Int64")
    table["epochs"] = table["epochs"].astype("Int64")
    return table.sort_values(["modified", "name"], ascending=[False, True], ignore_index=True)


# -- labels ----------------------------------------------------------------------------------

def label_kinds(table: pd.DataFrame, max_categories: int = 12) -> dict[str, str]:
    """``{column: "continuous" | "categorical"}`` of the label columns of a records table.

    Numbers with more than ``max_categories`` distinct values are continuous (age, heart
    rate, QRS duration…); booleans, 0/1 flags and short lists of values (sex, superclass
    flags) are categorical. Identifiers, fiducials, latent columns, free text and list
    columns are left out. The preferred clinical labels come first.
    """
    kinds: dict[str, str] = {}
    for col in table.columns:
        if _NOT_LABELS.match(str(col)):
            continue
        s = table[col]
        if s.dtype == object:
            sample = s.dropna()
            if not len(sample) or not sample.map(lambda v: isinstance(v, (str, bool))).all():
                continue  # lists, dicts, mixed objects
        try:
            n = s.nunique(dropna=True)
        except TypeError:
            continue
        if n < 2:
            continue
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if numeric and n > max_categories:
            kinds[str(col)] = "continuous"
        elif n <= max_categories:
            kinds[str(col)] = "categorical"
    first = [c for c in PREFERRED_LABELS if c in kinds]
    return {c: kinds[c] for c in first + [c for c in kinds if c not in first]}


def category_names(values: pd.Series | np.ndarray, column: str = "") -> pd.Series:
    """Readable category names: 0/1 flags as 'no'/'yes', missing as 'missing'."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, name=column)
    if pd.api.types.is_bool_dtype(s) or (
            pd.api.types.is_numeric_dtype(s) and set(s.dropna().unique()) <= {0, 1}):
        out = s.map({0: "no", 1: "yes"})  # False == 0 and True == 1 as dict keys
    elif pd.api.types.is_float_dtype(s):
        out = s.map(lambda v: f"{v:g}")
    else:
        out = s.astype("string")
    return out.astype(object).where(s.notna(), "missing")


def selection_summary(table: pd.DataFrame, rows: Sequence[int], kinds: dict[str, str],
                      columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The label mix of the selected rows against all rows.

    One row per label (categorical: each category's share in %, continuous: median and
    interquartile range), columns ``label``, ``selection``, ``all``.
    """
    sel = table.iloc[list(rows)]
    out = []
    for col in columns if columns is not None else kinds:
        if col not in kinds or col not in table.columns:
            continue
        if kinds[col] == "continuous":
            def fmt(s: pd.Series) -> str:
                s = pd.to_numeric(s, errors="coerce").dropna()
                if not len(s):
                    return "—"
                q1, med, q3 = np.percentile(s, [25, 50, 75])
                return f"{med:.4g} ({q1:.4g}–{q3:.4g})"

            out.append({"label": f"{label_name(col)}: median (IQR)", "selection": fmt(sel[col]),
                        "all": fmt(table[col])})
            continue
        names_all = category_names(table[col], col)
        names_sel = names_all.iloc[list(rows)]
        shares_all = names_all.value_counts(normalize=True)
        shares_sel = names_sel.value_counts(normalize=True)
        for cat in shares_all.index:
            if cat == "no" and "yes" in shares_all.index:
                continue  # a flag reads as its 'yes' share
            name = label_name(col)
            out.append({"label": name if cat == "yes" else f"{name}: {cat}",
                        "selection": f"{100 * shares_sel.get(cat, 0.0):.0f} %",
                        "all": f"{100 * shares_all[cat]:.0f} %"})
    return pd.DataFrame(out, columns=["label", "selection", "all"])


def units_by_effect(table: pd.DataFrame) -> list[int]:
    """The units of a factor-annotation table, strongest first: units with a monotonic
    measurement before the others, each group by its largest change from −3σ to +3σ in
    cohort SDs (``change_sd``); units with no measurable change last."""
    t = table.assign(size=table["change_sd"].abs().fillna(-1.0))
    mono = t[t["monotonic"].astype(bool)].groupby("unit")["size"].max()
    size = t.groupby("unit")["size"].max()
    key = {int(u): (u in mono.index, float(mono.get(u, size[u]))) for u in size.index}
    return sorted(key, key=lambda u: (not key[u][0], -key[u][1], u))


# -- one run's artefacts ---------------------------------------------------------------------

def _try_read(read: Callable[[], Any]) -> Any:
    """``read()``, or None when a cache file cannot be read back (it is then recomputed)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - a damaged cache file of any kind is recomputed
        return None


def _atomic(path: Path, write) -> None:
    # unique per process and thread: a Streamlit server runs sessions in threads
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:40] or "data"


class RunArtifacts:
    """What the views need from one run on one dataset, computed once and cached on disk.

    ``run``: a run folder (see :mod:`trainer.run`). ``data``: a dataset folder or
    preprocessed cache; ``None`` uses the run's own ``data.path`` from ``config.yaml``.
    ``cache_root``: where a dataset that is not yet a cache is preprocessed (default: the
    runs folder's ``.cache``, as the trainer does). Everything is loaded lazily; problems
    surface as :class:`RunError` naming the run and the file.
    """

    def __init__(self, run: str | Path, data: str | Path | None = None,
                 cache_root: str | Path | None = None, threads: int | None = None):
        self.run = Path(run).resolve()
        self.data = None if data is None else Path(data).expanduser().resolve()
        self.cache_root = Path(cache_root) if cache_root else self.run.parent / ".cache"
        self.threads = threads  # BLAS/OpenMP threads for t-SNE / UMAP (None: library default)
        # One computation at a time per object (a view's sessions share it).
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"RunArtifacts({str(self.run)!r}, data={str(self.data) if self.data else None!r})"

    # -- the run and its dataset --------------------------------------------------------------
    @cached_property
    def _loaded(self) -> tuple[Any, dict]:
        from ecgcore.checkpoint import CheckpointError, load_model

        if not self.run.is_dir():
            raise RunError(f"{self.run}: no such run folder")
        problem = run_problem(self.run)
        if problem:
            raise RunError(f"run {self.run.name} cannot be loaded: {problem} (in {self.run})")
        try:
            return load_model(self.run)
        except CheckpointError as exc:
            raise RunError(f"run {self.run.name} cannot be loaded: {exc}") from None

    @property
    def model(self) -> Any:
        return self._loaded[0]

    @property
    def preprocessing(self) -> dict:
        return self._loaded[1]

    @property
    def model_name(self) -> str:
        return str(getattr(getattr(self.model, "config", None), "name", type(self.model).__name__))

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def fs(self) -> float:
        return float(self.preprocessing["fs"])

    @property
    def leads(self) -> list[str]:
        return list(self.preprocessing["leads"])

    @property
    def scale_uv(self) -> float:
        return float(self.preprocessing["scaler"]["scale_uv"])

    @cached_property
    def config(self):
        import yaml

        from trainer.config import ConfigError, validate_config

        path = self.run / "config.yaml"
        if not path.exists():
            raise RunError(f"run {self.run.name}: missing config.yaml (in {self.run})")
        try:
            return validate_config(yaml.safe_load(path.read_text()) or {}, str(path))
        except (yaml.YAMLError, ConfigError) as exc:
            raise RunError(f"run {self.run.name}: {exc}") from None

    @cached_property
    def cache(self):
        """The dataset's cache (:class:`~ecgcore.data.store.ECGCache`), built if needed."""
        from trainer.config import ConfigError
        from trainer.data import resolve_cache

        data = self.config.data.model_copy()
        if self.data is not None:
            data.path = str(self.data)
        try:
            return resolve_cache(data, self.preprocessing["array"], self.cache_root,
                                 progress=False)
        except (ConfigError, FileNotFoundError, OSError, KeyError, ValueError) as exc:
            raise RunError(f"run {self.run.name}: its dataset cannot be used: {exc}") from None

    @property
    def n_records(self) -> int:
        return len(self.cache)

    @cached_property
    def folder(self) -> Path:
        """``<run>/cache/<dataset>-<key>``: this run × dataset's cache folder."""
        cache = self.cache
        weights = (self.run / WEIGHTS).stat()
        h = hashlib.sha256()
        h.update(json.dumps({
            "cache": str(cache.path.resolve()), "info": (cache.path / "cache.json").read_text(),
            "weights": [weights.st_size, weights.st_mtime_ns], "version": ARTIFACTS_VERSION,
        }, sort_keys=True).encode())
        folder = self.run / "cache" / f"{_slug(cache.path.name)}-{h.hexdigest()[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def r_index(self) -> int:
        """Sample of the R peak in the model's beat window."""
        prep = self.preprocessing
        if prep.get("anchor") == "r" and prep.get("anchor_index") is not None:
            return int(prep["anchor_index"])
        r = pd.to_numeric(self.cache.records.get("fid_r"), errors="coerce")
        return int(np.nanmedian(r)) if r is not None and r.notna().any() else int(
            prep.get("anchor_index", 0))

    def _dataset(self, rows: Sequence[int] | None = None, array: str | None = None,
                 scale_uv: float | None = None):
        from ecgcore.data.datasets import CachedDataset

        prep = self.preprocessing
        return CachedDataset(self.cache, rows, array=array or prep["array"],
                             leads=prep["lead_set"],
                             scale_uv=self.scale_uv if scale_uv is None else scale_uv,
                             extra_columns=prep.get("extra", ()))

    # -- embeddings ---------------------------------------------------------------------------
    def _read_embedding(self, path: Path) -> pd.DataFrame | None:
        table = _try_read(lambda: pd.read_parquet(path))
        if table is None:
            return None
        cols = [f"z{i}" for i in range(self.latent_dim)]
        if len(table) != self.n_records or not set(cols) <= set(table.columns):
            return None
        if not np.isfinite(table[cols].to_numpy(dtype=float)).all():
            return None
        return table

    @cached_property
    def embedding(self) -> pd.DataFrame:
        """Every record's latent means ``z*`` (and scales ``z*_scale``) joined with the
        records table, in the cache's row order (read from disk when cached)."""
        with self._lock:
            return self._embedding()

    def _embedding(self) -> pd.DataFrame:
        path = self.folder / "embedding.parquet"
        if path.exists():
            table = self._read_embedding(path)
            if table is not None:
                return table
        import torch

        from trainer.encode import encode_cache

        try:
            with torch.inference_mode():
                mean, scale = encode_cache(self.model, self._dataset())
        except (RuntimeError, ValueError, TypeError) as exc:
            raise RunError(f"run {self.run.name}: encoding {self.cache.path} failed: {exc}") \
                from None
        if not np.isfinite(mean).all():
            raise RunError(f"run {self.run.name}: the encoder gave NaN or inf latent means")
        parts = [pd.DataFrame(mean, columns=[f"z{i}" for i in range(mean.shape[1])])]
        if scale is not None:
            parts.append(pd.DataFrame(scale, columns=[f"z{i}_scale" for i in range(scale.shape[1])]))
        records = self.cache.records.reset_index(drop=True)
        table = pd.concat([records[["record_id"]], *parts, records.drop(columns=["record_id"])],
                          axis=1)
        _atomic(path, lambda p: table.to_parquet(p, index=False))
        return table

    @property
    def latent_columns(self) -> list[str]:
        return [f"z{i}" for i in range(self.latent_dim)]

    def means(self) -> np.ndarray:
        """Latent means ``[N, L]`` (float64), row i = record i of the cache."""
        return self.embedding[self.latent_columns].to_numpy(dtype=np.float64)

    # -- projections --------------------------------------------------------------------------
    def _projection_path(self, method: str) -> Path:
        if method not in PROJECTIONS:
            raise ValueError(f"unknown projection {method!r}; choose from {PROJECTIONS}")
        return self.folder / f"projection-{method}.npy"

    def _read_projection(self, path: Path) -> np.ndarray | None:
        try:
            xy = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if xy.shape != (self.n_records, 2) or not np.isfinite(xy).all():
            return None
        return xy

    def has_projection(self, method: str) -> bool:
        """True when the projection is on disk and readable (no computation)."""
        path = self._projection_path(method)
        return path.exists() and self._read_projection(path) is not None

    def projection(self, method: str = "pca") -> np.ndarray:
        """2-D coordinates ``[N, 2]`` (float32) of the latent means, cached on disk.

        PCA takes milliseconds; t-SNE about 20 s per 5,000 records; UMAP a minute the
        first time in a process (numba) — call it only when the user asks for it.
        """
        from ecgcore.explain.projection import project

        path = self._projection_path(method)
        with self._lock:
            if path.exists():
                xy = self._read_projection(path)
                if xy is not None:
                    return xy
            xy = project(self.means(), method, threads=self.threads)
            _atomic(path, lambda p: np.save(p, xy))
            return xy

    # -- beats ----------------------------------------------------------------------------------
    def beat(self, row: int) -> np.ndarray:
        """The median beat of record ``row`` in µV ``[leads, W]`` (the model's lead set)."""
        ds = self._dataset([int(row)], array="median", scale_uv=1.0)
        return ds[0]["x"].numpy().astype(np.float64)

    def _decode(self, z: np.ndarray) -> np.ndarray:
        """Decoded beats in µV ``[n, leads, W]``; RunError when the model cannot decode."""
        from ecgcore.explain import decode_latents

        try:
            out = decode_latents(self.model, z)
        except NotImplementedError as exc:
            raise RunError(f"run {self.run.name} ({self.model_name}) has no decoder: {exc}") \
                from None
        want = (len(z), len(self.leads), self._window)
        if out.shape != want:
            raise RunError(f"run {self.run.name} ({self.model_name}): its decoder gives "
                           f"{list(out.shape)}, not beats {list(want)}")
        return out * self.scale_uv

    @property
    def _window(self) -> int:
        return int(self.cache.median.shape[-1])

    def reconstruction(self, row: int) -> np.ndarray:
        """The model's reconstruction (decoded latent mean) of record ``row``, µV
        ``[leads, W]``. RunError for models without a beat decoder."""
        z = self.embedding.loc[int(row), self.latent_columns].to_numpy(dtype=np.float64)
        return self._decode(z[None])[0]

    # -- traversals and their annotation --------------------------------------------------------
    def traversal(self, unit: int, n_steps: int = 7, span: float = 3.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(σ steps ``[n]``, unit values ``[n]``, decoded beats µV ``[n, leads, W]``) of the
        −span σ … +span σ traversal of ``unit`` (others at the cohort mean)."""
        from ecgcore.explain.traversal import traversal_latents

        if not 0 <= int(unit) < self.latent_dim:
            raise RunError(f"unit {unit} out of range: run {self.run.name} has "
                           f"{self.latent_dim} latent units")
        sigmas = np.linspace(-span, span, n_steps)
        path = self.folder / f"traversal-u{int(unit)}-n{n_steps}-s{span:g}.npz"

        def read() -> tuple[np.ndarray, np.ndarray]:
            with np.load(path, allow_pickle=False) as f:
                return f["values"], f["beats"]

        with self._lock:
            cached = _try_read(read) if path.exists() else None
            if cached is not None and cached[1].shape == (n_steps, len(self.leads),
                                                          self._window) \
                    and np.isfinite(cached[1]).all():
                return (sigmas, *cached)
            values, latents = traversal_latents(self.means(), int(unit), n_steps, span)
            beats = self._decode(latents)
            _atomic(path, lambda p: np.savez(p, values=values, beats=beats))
            return sigmas, values, beats

    def cohort_measurements(self, max_measured: int = 5000, seed: int = 0) -> pd.DataFrame:
        """The cohort's classical measurements (:func:`default_measurements`), one row per
        record: from the records table where it has them; the others (ST levels, Kors
        amplitudes…) measured on at most ``max_measured`` records drawn at random (NaN for
        the rest: the annotation's Spearman ρ and SDs skip NaN)."""
        from ecgcore.explain.annotation import default_measurements, measure_beats

        names = default_measurements(self.leads)
        path = self.folder / "cohort-measurements.parquet"
        table = _try_read(lambda: pd.read_parquet(path)) if path.exists() else None
        if table is not None and list(table.columns) == names and len(table) == self.n_records:
            return table
        records = self.cache.records.reset_index(drop=True)
        table = records.reindex(columns=names).apply(pd.to_numeric, errors="coerce")
        missing = [n for n in names if n not in records.columns]  # e.g. ST, Kors X/Y/Z
        if missing:
            n = self.n_records
            rows = np.arange(n) if n <= max_measured else np.sort(
                np.random.default_rng(seed).choice(n, max_measured, replace=False))
            table.loc[:, missing] = np.nan
            for start in range(0, len(rows), 512):
                chunk = rows[start:start + 512]
                ds = self._dataset(chunk, array="median", scale_uv=1.0)
                beats = np.stack([ds[i]["x"].numpy() for i in range(len(ds))])
                measured = measure_beats(beats, self.fs, self.r_index, self.leads, missing)
                table.loc[chunk, missing] = measured.to_numpy()
        table = table.astype(float)
        _atomic(path, lambda p: table.to_parquet(p, index=False))
        return table

    def annotation(self, n_steps: int = 7, span: float = 3.0):
        """The factor annotation of every latent unit
        (:class:`ecgcore.explain.annotation.FactorAnnotation`: table, sentences, cohort
        correlations, measurements at each step), cached on disk."""
        with self._lock:
            return self._annotation(n_steps, span)

    def _annotation(self, n_steps: int, span: float):
        from ecgcore.explain.annotation import annotate_factors

        base = self.folder / f"annotation-n{n_steps}-s{span:g}"
        paths = {k: base.with_name(base.name + suffix) for k, suffix in (
            ("table", ".parquet"), ("steps", "-steps.parquet"), ("corr", "-cohort.parquet"),
            ("sentences", ".json"))}
        if all(p.exists() for p in paths.values()):
            cached = _try_read(lambda: _read_annotation_files(paths, self.latent_dim))
            if cached is not None:
                return cached
        cohort = self.cohort_measurements()
        # The cohort is given as latents + measurements: no beats need to be loaded.
        empty = np.zeros((0, len(self.leads), self._window), dtype=np.float32)
        ann = annotate_factors(_MicrovoltDecoder(self), empty, fs=self.fs, r_index=self.r_index,
                               scale_to_uv=1.0, leads=self.leads, n_steps=n_steps, span=span,
                               z_cohort=self.means(), cohort_measurements=cohort)
        ann.sentences = {int(k): v for k, v in ann.sentences.items()}
        steps = pd.concat([m.rename_axis("value").reset_index().assign(unit=u)
                           for u, m in ann.traversals.items()], ignore_index=True)
        corr = ann.cohort_correlation.astype(float)
        corr.columns = [str(c) for c in corr.columns]
        _atomic(paths["table"], lambda p: ann.table.to_parquet(p, index=False))
        _atomic(paths["steps"], lambda p: steps.to_parquet(p, index=False))
        _atomic(paths["corr"], lambda p: corr.to_parquet(p))
        _atomic(paths["sentences"], lambda p: p.write_text(json.dumps(ann.sentences, indent=1)))
        return ann


def _read_annotation_files(paths: dict[str, Path], latent_dim: int):
    """A FactorAnnotation from its four cache files; None when they disagree."""
    from ecgcore.explain.annotation import FactorAnnotation

    units = set(range(latent_dim))
    table = pd.read_parquet(paths["table"])
    steps = pd.read_parquet(paths["steps"])
    corr = pd.read_parquet(paths["corr"])
    sentences = {int(k): v for k, v in json.loads(paths["sentences"].read_text()).items()}
    if not set(sentences) == set(table["unit"]) == set(steps["unit"]) == units:
        return None
    traversals = {}
    for u, g in steps.groupby("unit"):
        traversals[int(u)] = g.drop(columns="unit").set_index("value").rename_axis(f"z{u}")
    return FactorAnnotation(table, sentences, corr, traversals)


class _MicrovoltDecoder:
    """The run's decoder answering in µV (what annotate_factors measures), with the
    same clear error for models that cannot decode."""

    def __init__(self, artifacts: RunArtifacts):
        self._a = artifacts

    def decode(self, z: Any) -> np.ndarray:
        return self._a._decode(np.asarray(z, dtype=np.float64))
