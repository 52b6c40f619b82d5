"""Latent counterfactuals for the task VAE's linear head (seed 001).

The head reads the first k latent means: logit = w·z[:k] (+ w_extra·extra) + b. Moving the
record's latent z along û = (w[:k], 0, …, 0)/‖w[:k]‖ changes the logit linearly by
‖w[:k]‖ per latent unit of distance, so the distance at which the predicted probability
crosses ``threshold`` is exact: t* = (logit(threshold) − logit₀)/‖w[:k]‖ (signed; negative
moves toward the other class). The counterfactual goes ``margin`` logits past the
threshold, is decoded, and both beats are measured with
:func:`ecgcore.explain.annotation.measure_beats`, so its report speaks the same
measurements as the factor annotation.

A change is reported when it exceeds a small tolerance: two samples for intervals
(4 ms at 500 Hz), 5° for the axis, 20 µV for amplitudes and ST levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.leads import STANDARD_LEADS

from ._model_io import decode_latents, encode_means, to_numpy
from .annotation import describe_measurement, measure_beats


@dataclass
class Counterfactual:
    """One record's counterfactual. Beats in µV ``[leads, W]``; ``distance``: signed latent
    distance along ``direction``; ``distance_sd``: the same in cohort SDs along the
    direction (when a cohort was given); ``path``: probability along the way."""

    z_original: np.ndarray
    z_counterfactual: np.ndarray
    direction: np.ndarray
    distance: float
    distance_sd: float
    prob_original: float
    prob_counterfactual: float
    threshold: float
    path: pd.DataFrame
    beat_original: np.ndarray
    beat_counterfactual: np.ndarray
    measurements: pd.DataFrame
    changes: list[str]


def _tolerance(name: str, fs: float) -> float:
    uom = describe_measurement(name)[2]
    return {"ms": 2 * 1000.0 / fs, "°": 5.0}.get(uom, 20.0)


def _logit(model: Any, z: np.ndarray, extra: Any, output: int) -> np.ndarray:
    import torch

    zt = torch.as_tensor(np.atleast_2d(z), dtype=torch.float32)
    ex = None
    if extra is not None:
        ex = torch.as_tensor(np.asarray(extra, dtype=np.float32)).reshape(1, -1)
        ex = ex.expand(zt.shape[0], -1)
    with torch.no_grad():
        out = model.task_logits(zt, ex)
    if out is None:
        raise ValueError(f"this model needs extra [{model.config.n_extra}] inputs (RR mean, SD)")
    return out[:, output].double().cpu().numpy()


def latent_counterfactual(
    model: Any,
    x: Any,
    fs: float,
    r_index: int,
    extra: Any = None,
    output: int = 0,
    threshold: float = 0.5,
    scale_to_uv: float = 1.0,
    leads: Sequence[str] = STANDARD_LEADS,
    margin: float = 0.1,
    n_path: int = 11,
    z_cohort: Any = None,
) -> Counterfactual:
    """Move record ``x`` ``[leads, W]`` (model input scale) across the head's threshold.

    ``model``: a task VAE (``head``, ``task_logits``, ``config.task_latents``) in eval mode.
    ``extra``: its extra inputs for this record (RR mean and SD) when it has any.
    ``margin``: logits beyond the threshold. ``z_cohort``: latent means of a cohort, to
    express the distance in cohort SDs along the direction.
    """
    if not (0.0 < threshold < 1.0):
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    xa = np.asarray(to_numpy(x), dtype=np.float32)
    if xa.ndim == 2:
        xa = xa[None]
    if xa.shape[0] != 1:
        raise ValueError(f"one record at a time: x must be [leads, W], got {list(xa.shape)}")
    z0 = encode_means(model, xa)[0]
    k = int(model.config.task_latents)
    w = to_numpy(model.head.weight)[output, :k].astype(np.float64)
    norm = float(np.linalg.norm(w))
    if norm == 0:
        raise ValueError("the head's latent weights are zero: there is no direction to move")
    u = np.zeros_like(z0)
    u[:k] = w / norm
    logit0 = float(_logit(model, z0, extra, output)[0])
    target = float(np.log(threshold / (1 - threshold)))
    sign = 1.0 if logit0 < target else -1.0
    t_cf = (target + sign * margin - logit0) / norm
    z_cf = z0 + t_cf * u

    ts = np.linspace(0.0, t_cf, max(2, n_path))
    probs = 1.0 / (1.0 + np.exp(-_logit(model, z0[None] + ts[:, None] * u[None], extra, output)))
    path = pd.DataFrame({"distance": ts, "probability": probs})

    beats = decode_latents(model, np.stack([z0, z_cf])) * scale_to_uv
    meas = measure_beats(beats, fs, r_index, leads)
    table = pd.DataFrame({"before": meas.iloc[0], "after": meas.iloc[1]})
    table["change"] = table["after"] - table["before"]
    table["label"] = [describe_measurement(n)[1] for n in table.index]
    table["uom"] = [describe_measurement(n)[2] for n in table.index]
    table["changed"] = [bool(np.isfinite(c) and abs(c) >= _tolerance(n, fs))
                        for n, c in zip(table.index, table["change"])]
    changes = []
    for name, row in table[table["changed"]].iterrows():
        short, _, uom = describe_measurement(name)
        changes.append(f"{short} {row['change']:+.0f}{'' if uom == '°' else ' '}{uom}")

    distance_sd = float("nan")
    if z_cohort is not None:
        proj = np.asarray(to_numpy(z_cohort), dtype=np.float64) @ u
        if proj.std() > 0:
            distance_sd = float(t_cf / proj.std())
    p0 = 1.0 / (1.0 + np.exp(-logit0))
    return Counterfactual(z0, z_cf, u, float(t_cf), distance_sd, float(p0), float(probs[-1]),
                          threshold, path, beats[0], beats[1], table, changes)
