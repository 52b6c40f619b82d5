"""One trained run: open its folder, rebuild its dataset the way it was trained, encode,
decode, and keep every result the views show cached on disk next to the run.

Headless (no Streamlit, no trainer). Every command, view and benchmark opens a run through
:class:`Run`; problems surface as :class:`RunError` naming the run and the file::

    <run>/cache/<dataset>-<key>/
        embedding.parquet      record_id, z0…z{L-1}, z0_scale… (when the model has them),
                               then every column of the dataset's records table
        projection-<m>.npy     2-D map of the latent means (m = pca, tsne, umap)
        traversal-u<u>-n<n>-s<span>.npz   values and decoded beats (µV) along unit u
        cohort-measurements.parquet       the measurements the records table lacks
        annotation-n<n>-s<span>[-steps|-cohort].parquet, .json   factor annotation
        clustering-*.parquet, kmeans-*.npy  (ecgcore.runs.clustering)
        saliency/              (ecgcore.runs.saliency)

The key covers the dataset's cache (its path and ``cache.json``) and the weights file (size
and modification time), so a retrained run or another dataset gets fresh files. Each file
is written atomically; one that cannot be read back is recomputed. UMAP is computed only by
:meth:`Run.projection` with ``method="umap"``, never implicitly.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecgcore.data.spec import DataConfig
from ecgcore.files import PREPROCESSING, RESULTS, RUN_CONFIG, SPLIT, WEIGHTS
from ecgcore.preprocessing import Preprocessing, PreprocessingError
from ecgcore.runs.atomic import read_or_none, write_atomic
from ecgcore.runs.listing import run_problem

if TYPE_CHECKING:
    from ecgcore.data.datasets import CachedDataset
    from ecgcore.data.store import ECGCache
    from ecgcore.explain.annotation import FactorAnnotation

RESULTS_VERSION = 1
#: Projections offered, cheapest first (UMAP imports numba: seconds to a minute at first).
PROJECTIONS = ("pca", "tsne", "umap")


class RunError(ValueError):
    """A run (or its dataset) that cannot be used; the message names both."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:40] or "data"


def _source(path: Path) -> Path:
    """The folder of records behind ``path``: a cache's ``source``, else ``path`` itself."""
    path = path.resolve()
    try:
        source = json.loads((path / "cache.json").read_text()).get("source")
    except (OSError, ValueError, AttributeError):
        return path
    return Path(source).resolve() if source else path


class Run:
    """One trained run on one dataset: its model, its input transform, its results.

    ``path``: a run folder (written by ``trainer.run``). ``data``: a dataset folder or
    preprocessed cache; ``None`` uses the run's own ``data.path`` from ``config.yaml``.
    ``cache_root``: where a dataset that is not yet a cache is preprocessed (default: the
    runs folder's ``.cache``, as the trainer does). ``lead_map``: what the lead names of
    ``data`` mean (``{'ECG': 'I'}``) when it is a folder preprocessed here (ignored for a
    cache, and for the run's own data, which keeps its config's map). Everything is loaded
    lazily.
    """

    def __init__(self, path: str | Path, data: str | Path | None = None,
                 cache_root: str | Path | None = None, threads: int | None = None,
                 progress: bool = False, lead_map: dict[str, str] | None = None):
        self.path = Path(path).resolve()
        self.data = None if data is None else Path(data).expanduser().resolve()
        self.lead_map = dict(lead_map) if lead_map else None
        self.cache_root = Path(cache_root) if cache_root else self.path.parent / ".cache"
        self.threads = threads  # BLAS/OpenMP threads for t-SNE / UMAP (None: library default)
        self.progress = progress  # progress bars while a dataset is preprocessed
        # One computation at a time per object (a view's sessions share it).
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return (f"Run({str(self.path)!r}, data={str(self.data) if self.data else None!r}"
                + (f", lead_map={self.lead_map!r})" if self.lead_map else ")"))

    @property
    def name(self) -> str:
        return self.path.name

    # -- the checkpoint -------------------------------------------------------------------------
    @cached_property
    def _loaded(self) -> tuple[Any, Preprocessing]:
        from ecgcore.checkpoint import CheckpointError, load_model

        if not self.path.is_dir():
            raise RunError(f"{self.path}: no such run folder")
        problem = run_problem(self.path)
        if problem:
            raise RunError(f"run {self.name} cannot be loaded: {problem} (in {self.path})")
        try:
            model, prep = load_model(self.path)
            return model, Preprocessing.from_dict(prep, self.path / PREPROCESSING)
        except (CheckpointError, PreprocessingError) as exc:
            raise RunError(f"run {self.name} cannot be loaded: {exc}") from None

    @property
    def model(self) -> Any:
        """The model in eval mode."""
        return self._loaded[0]

    @property
    def preprocessing(self) -> Preprocessing:
        """What the model's input must look like (``preprocessing.json``)."""
        return self._loaded[1]

    @property
    def model_name(self) -> str:
        return str(getattr(getattr(self.model, "config", None), "name", type(self.model).__name__))

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def fs(self) -> float:
        return self.preprocessing.fs

    @property
    def leads(self) -> list[str]:
        return list(self.preprocessing.leads)

    @property
    def scale_uv(self) -> float:
        return self.preprocessing.scale_uv

    # -- the dataset ------------------------------------------------------------------------------
    @cached_property
    def data_config(self) -> DataConfig:
        """The ``data`` section of the run's ``config.yaml`` (the path replaced by ``data``)."""
        import yaml
        from pydantic import ValidationError

        path = self.path / RUN_CONFIG
        if not path.exists():
            raise RunError(f"run {self.name}: missing {RUN_CONFIG} (in {self.path})")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
            spec = DataConfig.model_validate(raw.get("data") or {})
        except (yaml.YAMLError, ValidationError, AttributeError, OSError) as exc:
            raise RunError(f"run {self.name}: {path} has no valid data section ({exc})") from None
        if self.data is not None:
            spec.path = str(self.data)
            spec.lead_map = self.lead_map
        return spec

    @cached_property
    def cache(self) -> ECGCache:
        """The dataset's cache (:class:`~ecgcore.data.store.ECGCache`), built if needed."""
        from ecgcore.data.resolve import resolve_cache

        spec = self.data_config
        if spec.train_on == "beats" and self.preprocessing.array == "median":
            # Single beats are read in training only; the model reads median beats, so a run
            # opened here needs the median cache alone (a tenth of the size and shared with
            # the median-beat runs of the same data), not the cache of single beats.
            spec = spec.model_copy(update={"train_on": "median"})
        try:
            cache = resolve_cache(spec, self.preprocessing.array, self.cache_root,
                                  progress=self.progress)
            self.preprocessing.check(cache)
        except (FileNotFoundError, OSError, KeyError, ValueError) as exc:  # ConfigError too
            raise RunError(f"run {self.name}: its dataset cannot be used: {exc}") from None
        return cache

    @property
    def n_records(self) -> int:
        return len(self.cache)

    def dataset(self, rows: Sequence[int] | None = None, *, array: str | None = None,
                scale_uv: float | None = None, label_columns: Sequence[str] = ()) -> CachedDataset:
        """Records ``rows`` of the dataset (all when None) as the model reads them
        (:meth:`ecgcore.preprocessing.Preprocessing.dataset`)."""
        return self.preprocessing.dataset(self.cache, rows, array=array, scale_uv=scale_uv,
                                          label_columns=label_columns)

    @property
    def window(self) -> int:
        """Samples of the median-beat window."""
        return int(self.cache.median.shape[-1])

    @property
    def r_index(self) -> int:
        """Sample of the R peak in the model's beat window."""
        prep = self.preprocessing
        if prep.anchor == "r":
            return prep.anchor_index
        r = pd.to_numeric(self.cache.records.get("fid_r"), errors="coerce")
        return int(np.nanmedian(r)) if r is not None and r.notna().any() else prep.anchor_index

    @cached_property
    def on_own_data(self) -> bool:
        """True when the Run is opened on the cohort it was trained on: no ``data``, or
        ``data`` is the run's ``data.path`` or a cache built from the same source folder.
        Record ids are only unique within a cohort (LUDB's "1" is not PTB-XL's "1")."""
        if self.data is None:
            return True
        import yaml

        try:
            raw = ((yaml.safe_load((self.path / RUN_CONFIG).read_text()) or {}).get("data") or {}).get("path")
        except (OSError, yaml.YAMLError, AttributeError):
            raw = None
        if not raw:
            return False
        return _source(self.data) == _source(Path(raw).expanduser())

    def split_rows(self, split: str) -> np.ndarray:
        """Row indices (into the dataset) of the run's ``train``/``val``/``test``/
        ``labelled_train`` records (``split.json``; empty when the dataset lacks them).
        RunError on another cohort: the split's ids name the training cohort's records."""
        if not self.on_own_data:
            raise RunError(f"run {self.name}: its split ({SPLIT}) names records of its training "
                           f"cohort; {self.data} is another cohort (score it as an external "
                           "cohort: `ecgwb evaluate RUN --data DIR`)")
        path = self.path / SPLIT
        try:
            ids = set(json.loads(path.read_text()).get(split, []))
        except (OSError, ValueError, AttributeError) as exc:
            raise RunError(f"run {self.name}: {path} cannot be read ({exc})") from None
        records = self.cache.records["record_id"].astype(str)
        return np.flatnonzero(records.isin(ids).to_numpy())

    # -- embeddings ---------------------------------------------------------------------------
    def encode(self, rows: Sequence[int] | None = None, batch_size: int = 256
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """Latent means ``[N, L]`` and scales (or None) of records ``rows`` (all when None),
        computed now (:attr:`embedding` is the cached table)."""
        import torch

        from ecgcore.models.encode import encode_dataset

        try:
            with torch.inference_mode():
                mean, scale = encode_dataset(self.model, self.dataset(rows), batch_size)
        except (RuntimeError, ValueError, TypeError, KeyError) as exc:
            raise RunError(f"run {self.name}: encoding {self.cache.path} failed: {exc}") from None
        if not np.isfinite(mean).all():
            raise RunError(f"run {self.name}: the encoder gave NaN or inf latent means")
        return mean, scale

    def embedding_table(self) -> pd.DataFrame:
        """Every record's latent means ``z*`` (and scales ``z*_scale``) joined with the
        records table, in the cache's row order, computed now."""
        mean, scale = self.encode()
        parts = [pd.DataFrame(mean, columns=[f"z{i}" for i in range(mean.shape[1])])]
        if scale is not None:
            parts.append(pd.DataFrame(scale, columns=[f"z{i}_scale" for i in range(scale.shape[1])]))
        records = self.cache.records.reset_index(drop=True)
        return pd.concat([records[["record_id"]], *parts, records.drop(columns=["record_id"])], axis=1)

    @cached_property
    def folder(self) -> Path:
        """``<run>/cache/<dataset>-<key>``: this run × dataset's results folder."""
        cache = self.cache
        weights = (self.path / WEIGHTS).stat()
        h = hashlib.sha256()
        h.update(json.dumps({
            "cache": str(cache.path.resolve()), "info": (cache.path / "cache.json").read_text(),
            "weights": [weights.st_size, weights.st_mtime_ns], "version": RESULTS_VERSION,
        }, sort_keys=True).encode())
        folder = self.path / RESULTS / f"{_slug(cache.path.name)}-{h.hexdigest()[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _read_embedding(self, path: Path) -> pd.DataFrame | None:
        table = read_or_none(lambda: pd.read_parquet(path))
        if table is None:
            return None
        cols = self.latent_columns
        if len(table) != self.n_records or not set(cols) <= set(table.columns):
            return None
        if not np.isfinite(table[cols].to_numpy(dtype=float)).all():
            return None
        return table

    @cached_property
    def embedding(self) -> pd.DataFrame:
        """:meth:`embedding_table`, cached on disk (read back when there)."""
        with self._lock:
            path = self.folder / "embedding.parquet"
            if path.exists():
                table = self._read_embedding(path)
                if table is not None:
                    return table
            table = self.embedding_table()
            write_atomic(path, lambda p: table.to_parquet(p, index=False))
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
            write_atomic(path, lambda p: np.save(p, xy))
            return xy

    def units_by_spread(self) -> list[tuple[int, float]]:
        """``(unit, SD of its mean across records)``, widest first: the order in which the
        raw-axis view offers units (:func:`ecgcore.explain.projection.unit_spread`)."""
        from ecgcore.explain.projection import unit_spread, units_by_spread

        means = self.means()
        sd = unit_spread(means)
        return [(u, float(sd[u])) for u in units_by_spread(means)]

    def task_units(self) -> list[int]:
        """The latent units a task head reads when they are some of the units, not all: the
        first ``n_task_latents`` of a split-task VAE (2 of 10 in seed 001, whose Fig. 3
        plots exactly these two against each other); ``[]`` otherwise."""
        config = getattr(self.model, "config", None)
        n = getattr(config, "task_latents", None)
        if not isinstance(n, int) or not 0 < n < self.latent_dim:
            return []
        return list(range(n))

    def unit_axes(self, x_unit: int, y_unit: int) -> np.ndarray:
        """Raw axes ``[N, 2]`` (float32): latent means of units ``x_unit`` and ``y_unit``,
        row i = record i of the cache (no projection; a unit may be on both axes)."""
        for unit in (x_unit, y_unit):
            if not 0 <= int(unit) < self.latent_dim:
                raise RunError(f"run {self.name} has latent units z0…z{self.latent_dim - 1}; "
                               f"there is no z{unit}")
        return self.means()[:, [int(x_unit), int(y_unit)]].astype(np.float32)

    # -- beats ----------------------------------------------------------------------------------
    def beat(self, row: int) -> np.ndarray:
        """The median beat of record ``row`` in µV ``[leads, W]`` (the model's lead set)."""
        ds = self.dataset([int(row)], array="median", scale_uv=1.0)
        return ds[0]["x"].numpy().astype(np.float64)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoded beats in µV ``[n, leads, W]`` of latents ``z`` ``[n, L]``; RunError when
        the model cannot decode median beats."""
        from ecgcore.explain import decode_latents

        try:
            out = decode_latents(self.model, z)
        except NotImplementedError as exc:
            raise RunError(f"run {self.name} ({self.model_name}) has no decoder: {exc}") from None
        want = (len(z), len(self.leads), self.window)
        if out.shape != want:
            raise RunError(f"run {self.name} ({self.model_name}): its decoder gives "
                           f"{list(out.shape)}, not beats {list(want)}")
        return out * self.scale_uv

    def reconstruction(self, row: int) -> np.ndarray:
        """The model's reconstruction (decoded latent mean) of record ``row``, µV
        ``[leads, W]``. RunError for models without a beat decoder."""
        z = self.embedding.loc[int(row), self.latent_columns].to_numpy(dtype=np.float64)
        return self.decode(z[None])[0]

    # -- traversals and their annotation --------------------------------------------------------
    def traversal(self, unit: int, n_steps: int = 7, span: float = 3.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(σ steps ``[n]``, unit values ``[n]``, decoded beats µV ``[n, leads, W]``) of the
        −span σ … +span σ traversal of ``unit`` (others at the cohort mean)."""
        from ecgcore.explain.traversal import traversal_latents

        if not 0 <= int(unit) < self.latent_dim:
            raise RunError(f"unit {unit} out of range: run {self.name} has "
                           f"{self.latent_dim} latent units")
        sigmas = np.linspace(-span, span, n_steps)
        path = self.folder / f"traversal-u{int(unit)}-n{n_steps}-s{span:g}.npz"

        def read() -> tuple[np.ndarray, np.ndarray]:
            with np.load(path, allow_pickle=False) as f:
                return f["values"], f["beats"]

        with self._lock:
            cached = read_or_none(read) if path.exists() else None
            if cached is not None and cached[1].shape == (n_steps, len(self.leads), self.window) \
                    and np.isfinite(cached[1]).all():
                return (sigmas, *cached)
            values, latents = traversal_latents(self.means(), int(unit), n_steps, span)
            beats = self.decode(latents)
            write_atomic(path, lambda p: np.savez(p, values=values, beats=beats))
            return sigmas, values, beats

    def cohort_measurements(self, max_measured: int = 5000, seed: int = 0) -> pd.DataFrame:
        """The cohort's classical measurements (:func:`default_measurements`), one row per
        record: from the records table where it has them; the others (ST levels, Kors
        amplitudes…) measured on at most ``max_measured`` records drawn at random (NaN for
        the rest: the annotation's Spearman ρ and SDs skip NaN)."""
        from ecgcore.explain.annotation import default_measurements, measure_beats

        names = default_measurements(self.leads)
        path = self.folder / "cohort-measurements.parquet"
        table = read_or_none(lambda: pd.read_parquet(path)) if path.exists() else None
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
                ds = self.dataset(chunk, array="median", scale_uv=1.0)
                beats = np.stack([ds[i]["x"].numpy() for i in range(len(ds))])
                measured = measure_beats(beats, self.fs, self.r_index, self.leads, missing)
                table.loc[chunk, missing] = measured.to_numpy()
        table = table.astype(float)
        write_atomic(path, lambda p: table.to_parquet(p, index=False))
        return table

    def annotation(self, n_steps: int = 7, span: float = 3.0) -> FactorAnnotation:
        """The factor annotation of every latent unit
        (:class:`ecgcore.explain.annotation.FactorAnnotation`: table, sentences, cohort
        correlations, measurements at each step), cached on disk."""
        from ecgcore.explain.annotation import annotate_factors
        from ecgcore.runs.annotation_files import (
            annotation_paths,
            read_annotation_files,
            write_annotation_files,
        )

        with self._lock:
            paths = annotation_paths(self.folder / f"annotation-n{n_steps}-s{span:g}")
            if all(p.exists() for p in paths.values()):
                cached = read_or_none(lambda: read_annotation_files(paths, self.latent_dim))
                if cached is not None:
                    return cached
            cohort = self.cohort_measurements()
            # The cohort is given as latents + measurements: no beats need to be loaded.
            empty = np.zeros((0, len(self.leads), self.window), dtype=np.float32)
            ann = annotate_factors(MicrovoltDecoder(self), empty, fs=self.fs, r_index=self.r_index,
                                   scale_to_uv=1.0, leads=self.leads, n_steps=n_steps, span=span,
                                   z_cohort=self.means(), cohort_measurements=cohort)
            ann.sentences = {int(k): v for k, v in ann.sentences.items()}
            write_annotation_files(paths, ann)
            return ann


class MicrovoltDecoder:
    """A run's decoder answering in µV (what annotate_factors measures), with the same
    clear error for models that cannot decode."""

    def __init__(self, run: Run):
        self._run = run

    def decode(self, z: Any) -> np.ndarray:
        return self._run.decode(np.asarray(z, dtype=np.float64))
