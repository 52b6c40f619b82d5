"""What an input must look like for a trained model: the transform that travels with its
checkpoint (``preprocessing.json``, beside :mod:`ecgcore.checkpoint`).

:class:`Preprocessing` is the typed form of that file: the sampling rate and beat window the
cache was built with, the cache array the model eats (median beats, beat sequences or 10-s
signals), the lead set, the global scale fitted on the training split (inputs are µV /
``scale_uv``), the scalar inputs of hybrid models and the task labels. Its
:meth:`~Preprocessing.dataset` turns a cache into exactly the model's input, so every
caller (encode, evaluate, the views, the benchmarks) feeds a model the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgcore.data.spec import input_lead_names
from ecgcore.files import PREPROCESSING
from ecgcore.signal.beats import WINDOWS

if TYPE_CHECKING:  # torch is imported only where a dataset is built
    from ecgcore.data.datasets import CachedDataset
    from ecgcore.data.store import ECGCache

SCALER_KIND = "global_max"  # max |x| over the training split's inputs (µV)
UNITS = "µV / scale_uv"


class PreprocessingError(ValueError):
    """A preprocessing.json that is missing a field or holds a bad value; names the file."""


def _lead_set(value: Any) -> str | tuple[str, ...]:
    """A lead set from JSON: a name (all, independent, xyz) or a list of lead names."""
    return str(value) if isinstance(value, str) else tuple(str(v) for v in value)


@dataclass(frozen=True)
class Preprocessing:
    """The input transform of one trained model (see the module docstring)."""

    fs: float
    window: str  # a key of ecgcore.signal.beats.WINDOWS
    array: str  # the cache array: median, sequences or signals
    lead_set: str | tuple[str, ...]  # all, independent, xyz, or named leads ([I], [II, V5])
    leads: tuple[str, ...]  # the input's lead names, in order
    scale_uv: float  # inputs are µV / scale_uv
    extra: tuple[str, ...] = ()  # scalar inputs (records-table columns) of hybrid models
    extra_stats: dict[str, tuple[float, float]] = field(default_factory=dict)  # train mean, SD
    task: tuple[str, ...] = ()  # the labels the model's head was trained on
    pipeline: dict | None = None  # the cache's signal pipeline
    source: Any = None  # the dataset the cache was built from

    def __post_init__(self) -> None:
        if self.window not in WINDOWS:
            raise PreprocessingError(f"unknown beat window {self.window!r}; known: {sorted(WINDOWS)}")
        if not self.scale_uv > 0:
            raise PreprocessingError(f"scale_uv must be positive, got {self.scale_uv}")

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def fitted(cls, *, fs: float, window: str, array: str, lead_set: str | Sequence[str],
               cache_leads: Sequence[str],
               scale_uv: float, extra: Sequence[str] = (),
               extra_stats: dict[str, Sequence[float]] | None = None, task: Sequence[str] = (),
               pipeline: dict | None = None, source: Any = None) -> Preprocessing:
        """The transform fitted by training: the lead names follow from the cache's leads."""
        named = lead_set if isinstance(lead_set, str) else tuple(lead_set)
        return cls(fs=float(fs), window=window, array=array, lead_set=named,
                   leads=tuple(input_lead_names(list(cache_leads), lead_set)), scale_uv=float(scale_uv),
                   extra=tuple(extra),
                   extra_stats={k: (float(v[0]), float(v[1])) for k, v in (extra_stats or {}).items()},
                   task=tuple(task), pipeline=pipeline, source=source)

    @classmethod
    def from_dict(cls, data: dict, where: str | Path = PREPROCESSING) -> Preprocessing:
        """From the JSON form; PreprocessingError names ``where`` and the bad field."""
        if not isinstance(data, dict):
            raise PreprocessingError(f"{where}: not a JSON object")
        try:
            scaler = data["scaler"]
            if scaler.get("kind", SCALER_KIND) != SCALER_KIND:
                raise PreprocessingError(f"{where}: unknown scaler kind {scaler.get('kind')!r}")
            return cls(fs=float(data["fs"]), window=str(data["window"]), array=str(data["array"]),
                       lead_set=_lead_set(data["lead_set"]), leads=tuple(data["leads"]),
                       scale_uv=float(scaler["scale_uv"]), extra=tuple(data.get("extra") or ()),
                       extra_stats={k: (float(v[0]), float(v[1]))
                                    for k, v in (data.get("extra_stats") or {}).items()},
                       task=tuple(data.get("task") or ()), pipeline=data.get("pipeline"),
                       source=data.get("source"))
        except KeyError as exc:
            raise PreprocessingError(f"{where}: missing field {exc}") from None
        except PreprocessingError as exc:
            if str(where) in str(exc):
                raise
            raise PreprocessingError(f"{where}: {exc}") from None
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise PreprocessingError(f"{where}: bad value ({exc})") from None

    @classmethod
    def read(cls, folder: str | Path) -> Preprocessing:
        """From ``<folder>/preprocessing.json``."""
        path = Path(folder) / PREPROCESSING
        if not path.exists():
            raise PreprocessingError(f"{path}: missing")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PreprocessingError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, path)

    def to_dict(self) -> dict:
        """The JSON form written as ``preprocessing.json``."""
        window = WINDOWS[self.window]
        before, _ = window.offsets(self.fs)
        return {
            "fs": self.fs, "window": self.window, "window_ms": [window.before_ms, window.after_ms],
            "anchor": window.anchor, "anchor_index": before, "array": self.array,
            "lead_set": self.lead_set if isinstance(self.lead_set, str) else list(self.lead_set),
            "leads": list(self.leads), "units": UNITS,
            "scaler": {"kind": SCALER_KIND, "scale_uv": self.scale_uv},
            "extra": list(self.extra), "extra_stats": {k: list(v) for k, v in self.extra_stats.items()},
            "task": list(self.task), "pipeline": self.pipeline, "source": self.source,
        }

    # -- the window ---------------------------------------------------------------------------
    @property
    def anchor(self) -> str:
        """What the beat window is centred on: ``r`` or ``qrs_onset``."""
        return WINDOWS[self.window].anchor

    @property
    def anchor_index(self) -> int:
        """Sample of the anchor (R peak or QRS onset) in the beat window."""
        return WINDOWS[self.window].offsets(self.fs)[0]

    @property
    def window_samples(self) -> int:
        return WINDOWS[self.window].n_samples(self.fs)

    # -- the model's input ----------------------------------------------------------------------
    def dataset(self, cache: ECGCache, rows: Sequence[int] | None = None, *, array: str | None = None,
                scale_uv: float | None = None, label_columns: Sequence[str] = ()) -> CachedDataset:
        """The records ``rows`` of ``cache`` (all when None) as the model reads them: its
        array, lead set, scale and scalar inputs. ``array``/``scale_uv`` override those
        (e.g. median beats in µV with ``array="median", scale_uv=1.0`` for display)."""
        from ecgcore.data.datasets import CachedDataset

        self.check(cache)
        return CachedDataset(cache, rows, array=array or self.array, leads=self.lead_set,
                             scale_uv=self.scale_uv if scale_uv is None else scale_uv,
                             label_columns=label_columns, extra_columns=self.extra)

    def check(self, cache: ECGCache) -> None:
        """PreprocessingError when ``cache`` cannot give this model's input (another rate or
        beat window, or no column for a scalar input)."""
        if float(cache.fs) != self.fs:
            raise PreprocessingError(f"{cache.path}: cache at {cache.fs:g} Hz, the model reads {self.fs:g} Hz")
        window = (cache.info.get("pipeline") or {}).get("window")
        if window is not None and window != self.window:
            raise PreprocessingError(f"{cache.path}: cache has beat window {window}, the model "
                                     f"reads {self.window}")
        missing = [c for c in self.extra if c not in cache.records.columns]
        if missing:
            raise PreprocessingError(f"{cache.path}: the records table has no column(s) {missing}, "
                                     "which the model takes as inputs")
        absent = self.absent_leads(cache)
        if absent:
            raise PreprocessingError(
                f"{cache.path}: the model reads leads {', '.join(self.recorded_leads)}; this "
                f"dataset has {', '.join(self.present_leads(cache)) or 'none of them'} "
                f"({', '.join(absent)} absent). No lead is derived or invented: use a run "
                "trained on the dataset's own leads (data.leads).")

    @property
    def recorded_leads(self) -> tuple[str, ...]:
        """The recorded leads the input is made of (Kors X, Y, Z: the 8 independent leads)."""
        from ecgcore.leads import INDEPENDENT_LEADS

        return tuple(INDEPENDENT_LEADS) if self.lead_set == "xyz" else tuple(self.leads)

    @staticmethod
    def present_leads(cache: ECGCache) -> tuple[str, ...]:
        """The cache's leads that at least one record has (its layout may name leads that
        every record lacks: a single lead read as I in the 12-lead layout)."""
        records = cache.records
        if "missing_leads" not in records.columns or records.empty:
            return tuple(cache.leads)
        lists = records["missing_leads"].fillna("").astype(str).str.split(",")
        missing_everywhere = set.intersection(*({m.strip() for m in x} for x in lists))
        return tuple(lead for lead in cache.leads if lead not in missing_everywhere)

    def absent_leads(self, cache: ECGCache) -> list[str]:
        """The model's recorded leads that no record of ``cache`` has."""
        present = set(self.present_leads(cache))
        return [lead for lead in self.recorded_leads if lead not in present]
