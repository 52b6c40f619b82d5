"""The dataset a model is trained and evaluated on: which records, at which rate, which
beat window and leads, which labels and scalar inputs, how they are split.

The ``data`` section of a training config (``config.yaml``). It lives in the library, not
in the trainer, because opening a trained run (:class:`ecgcore.runs.Run`) rebuilds the
dataset the run was trained on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecgcore.leads import selected_leads

#: The PTB-XL diagnostic superclass flags of a records table (default evaluation labels).
SUPERCLASS_COLUMNS = [f"superclass_{c}" for c in ("NORM", "MI", "STTC", "CD", "HYP")]


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file and the key."""


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="dataset folder, PTB-XL root or preprocessed cache")
    labels: str | None = Field(None, description="labels table (CSV/Parquet) joined on record id")
    lead_map: dict[str, str] | None = Field(
        None, description="what the records' lead names mean when a cache is built from a "
        "folder ({ECG: I}; see ecgcore.leads.parse_lead_map); a cache keeps the names it was "
        "built with")
    fs: float = Field(500.0, gt=0, description="sampling rate the beats are resampled to (Hz)")
    window: Literal["r400", "qrs750"] = Field("r400", description="±400 ms on R (001) or 750 ms on QRS onset (000)")
    leads: Literal["all", "independent", "xyz"] | list[str] = Field(
        "all", description="12 leads, 8 independent, Kors X, Y, Z, or lead names ([I], [II, V5])")
    task: list[str] = Field(default_factory=list, description="label column(s) for supervised stages")
    extra: list[str] = Field(default_factory=list, description="scalar inputs for task heads, e.g. rr_mean_ms")
    max_beats: int = Field(16, ge=1, description="beats per sequence for beat-token models")
    train_on: Literal["median", "beats"] = Field(
        "median", description="median-beat models: train on each record's median beat or on all "
        "its single beats (about 10× the examples); validation and test use median beats")
    amplitude_jitter: float = Field(
        0.0, ge=0, lt=0.5, description="training augmentation: each training example is "
        "multiplied by 1 + N(0, this²) (clipped to 0.5–1.5); 0: off")
    scaling: Literal["max_abs", "std"] = Field(
        "max_abs", description="the constant inputs are divided by, fitted on the training "
        "split: its largest |x|, or the standard deviation of all its samples (the PTB-XL "
        "benchmark's StandardScaler, without centring: cleaned signals are high-passed)")
    val_fraction: float = Field(0.15, gt=0, lt=0.5)
    val_in_train: bool = Field(
        False, description="also train on the validation split, so that every training "
        "record's label is used (only when nothing chooses on that split: optim.keep=last and "
        "no early stopping); its loss is then a training loss")
    test_fraction: float = Field(0.15, ge=0, lt=0.5)
    cv_folds: int = Field(0, ge=0, description="k-fold cross-validation grouped by patient (0: one split)")
    fold: int = Field(0, ge=0, description="which fold is held out as the test set")
    label_fraction: float = Field(1.0, gt=0, le=1, description="fraction of labelled training records")
    batch_size: int = Field(64, ge=1)
    num_workers: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _fold_in_range(self) -> DataConfig:
        if self.cv_folds and self.fold >= self.cv_folds:
            raise ValueError(f"fold {self.fold} is out of range for {self.cv_folds} folds")
        if self.cv_folds == 1:
            raise ValueError("cv_folds must be 0 (one split) or at least 2")
        return self


def input_lead_names(cache_leads: list[str] | tuple[str, ...], lead_set: str | list[str]) -> list[str]:
    """The lead names of a model's input: the cache's leads, the 8 independent ones, Kors
    X, Y, Z, or the named leads (each checked against the cache's)."""
    return list(selected_leads(lead_set, cache_leads))
