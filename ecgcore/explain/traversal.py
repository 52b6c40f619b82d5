"""Latent factor traversals (seed 001 §2.5).

For a unit f, every other unit is held at its cohort mean while f goes from μ_f − span·σ_f
to μ_f + span·σ_f (μ, σ of that unit over the cohort's encodings; σ is the population
standard deviation, ``ddof=0``); the decoder turns each point into a beat. Works for any
model with ``decode`` — PCA, the VAEs, the task VAEs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._model_io import decode_latents, to_numpy


def traversal_latents(
    z_cohort: Any, unit: int, n_steps: int = 7, span: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """(values ``[n_steps]`` of the unit, latents ``[n_steps, L]``) of the traversal."""
    z = np.asarray(to_numpy(z_cohort), dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"z_cohort must be [N >= 2, latent_dim], got {list(z.shape)}")
    if not 0 <= unit < z.shape[1]:
        raise IndexError(f"unit {unit} out of range for latent_dim {z.shape[1]}")
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}")
    mu = z.mean(axis=0)
    sigma = float(z[:, unit].std())
    values = mu[unit] + np.linspace(-span, span, n_steps) * sigma
    latents = np.repeat(mu[None, :], n_steps, axis=0)
    latents[:, unit] = values
    return values, latents


def factor_traversal(
    model: Any, z_cohort: Any, unit: int, n_steps: int = 7, span: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """(values ``[n_steps]``, decoded beats ``[n_steps, leads, W]``) along latent ``unit``.

    ``z_cohort``: the cohort's latent means ``[N, latent_dim]`` (e.g.
    ``encode_means(model, x)``). Decoded beats are in the model's input scale.
    """
    values, latents = traversal_latents(z_cohort, unit, n_steps, span)
    return values, decode_latents(model, latents)
