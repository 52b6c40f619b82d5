"""The built-in models. Each factory takes config overrides and returns a fresh model.

Defaults are the CPU-friendly 12 leads × 400 samples, latent 10, ``small`` backbone; seed
000's setting is ``backbone="kors000", input_shape=(3, 375), latent_dim=30``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .configs import (
    AEConfig,
    BetaVAEConfig,
    PCAConfig,
    ScheduledBetaVAEConfig,
    TaskVAEConfig,
    VAEConfig,
)
from .pca import PCAModel
from .registry import register_model
from .schedules import AnnealedBeta, CyclicalBeta
from .task_vae import TaskVAE
from .vae import VAE


def _config(
    cls: type[BaseModel], name: str, defaults: dict[str, Any], overrides: dict[str, Any]
) -> Any:
    return cls(**{**defaults, **overrides, "name": name})


@register_model(
    "pca", description="PCA baseline: scikit-learn PCA on the flattened beat, closed-form fit"
)
def pca(**overrides: Any) -> PCAModel:
    return PCAModel(_config(PCAConfig, "pca", {}, overrides))


@register_model("ae", description="Deterministic autoencoder: no sampling, no KL (seed 000 AE)")
def ae(**overrides: Any) -> VAE:
    return VAE(_config(AEConfig, "ae", {}, overrides))


@register_model("sae", description="Stochastic autoencoder: sampled z, beta = 0 (seed 000 SAE)")
def sae(**overrides: Any) -> VAE:
    return VAE(_config(BetaVAEConfig, "sae", {"beta": 0.0}, overrides))


@register_model("vae", description="Variational autoencoder, beta = 1")
def vae(**overrides: Any) -> VAE:
    return VAE(_config(VAEConfig, "vae", {}, overrides))


@register_model(
    "beta_vae", description="beta-VAE, constant beta = 3 (seed 000); seed 001 uses beta = 4"
)
def beta_vae(**overrides: Any) -> VAE:
    return VAE(_config(BetaVAEConfig, "beta_vae", {"beta": 3.0}, overrides))


@register_model(
    "cyclical_beta_vae",
    description="Cyclical beta-VAE: beta ramps 0 -> 5 and resets, 4 cycles (Fu et al. 2019; seed 000)",
)
def cyclical_beta_vae(**overrides: Any) -> VAE:
    defaults = {"schedule": CyclicalBeta(n_cycles=4, max_beta=5.0, ratio=0.5, length=100)}
    return VAE(_config(ScheduledBetaVAEConfig, "cyclical_beta_vae", defaults, overrides))


@register_model(
    "annealed_beta_vae",
    description="Annealed beta-VAE: beta falls linearly 10 -> 0 over 100 epochs (seed 000)",
)
def annealed_beta_vae(**overrides: Any) -> VAE:
    defaults = {"schedule": AnnealedBeta(start=10.0, end=0.0, length=100, shape="linear")}
    return VAE(_config(ScheduledBetaVAEConfig, "annealed_beta_vae", defaults, overrides))


@register_model(
    "task_vae",
    description="Task-specific beta-VAE (seed 001): linear head on all latent means + RR mean/SD, gamma = 500",
)
def task_vae(**overrides: Any) -> TaskVAE:
    return TaskVAE(_config(TaskVAEConfig, "task_vae", {}, overrides))


@register_model(
    "split_task_vae",
    description="Split-task beta-VAE (seed 001): linear head on 2 of 10 latent means + RR mean/SD, gamma = 500",
)
def split_task_vae(**overrides: Any) -> TaskVAE:
    return TaskVAE(
        _config(TaskVAEConfig, "split_task_vae", {"latent_dim": 10, "n_task_latents": 2}, overrides)
    )
