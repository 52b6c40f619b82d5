"""Amplitude scaling for model inputs, with the constants kept for the inverse.

``GlobalMaxScaler`` divides every record by one constant, the largest absolute value seen
in the training set (000_373bb2e520864e4e.txt); ``PerRecordScaler`` divides each record by
its own largest absolute value and returns that value so the caller can invert it. Both
write their constants to a dict that travels with a checkpoint (``preprocessing.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class GlobalMaxScaler:
    scale_uv: float | None = None

    def fit(self, x: np.ndarray) -> GlobalMaxScaler:
        value = float(np.nanmax(np.abs(x)))
        if not np.isfinite(value) or value <= 0:
            raise ValueError("cannot fit a scaler on all-zero or non-finite data")
        self.scale_uv = value
        return self

    def _check(self) -> float:
        if self.scale_uv is None:
            raise RuntimeError("GlobalMaxScaler is not fitted")
        return self.scale_uv

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) / self._check()).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) * self._check()).astype(np.float32)

    def to_dict(self) -> dict:
        return {"kind": "global_max", "scale_uv": self._check()}


@dataclass
class PerRecordScaler:
    """Each record divided by its own max |x|; ``transform`` returns the scales too."""

    def fit(self, x: np.ndarray) -> PerRecordScaler:
        return self

    def transform(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        axes = tuple(range(1, x.ndim))
        scales = np.nanmax(np.abs(x), axis=axes, keepdims=True)
        scales = np.where(scales > 0, scales, 1.0)
        return (x / scales).astype(np.float32), scales.reshape(-1).astype(np.float32)

    def inverse_transform(self, x: np.ndarray, scales: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return (x * np.asarray(scales).reshape((-1,) + (1,) * (x.ndim - 1))).astype(np.float32)

    def to_dict(self) -> dict:
        return {"kind": "per_record"}


def scaler_from_dict(d: dict) -> GlobalMaxScaler | PerRecordScaler:
    kinds = {"global_max": lambda: GlobalMaxScaler(scale_uv=float(d["scale_uv"])),
             "per_record": PerRecordScaler}
    if d.get("kind") not in kinds:
        raise ValueError(f"unknown scaler kind {d.get('kind')!r}; known: {sorted(kinds)}")
    return kinds[d["kind"]]()
