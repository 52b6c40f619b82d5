"""The built-in models. Each factory takes config overrides and returns a fresh model.

Each is registered with its shipped :class:`~ecgcore.models.registry.Recipe` (the one
home of its defaults; ``trainer/configs/<name>.yaml`` only names it). The beat
autoencoders share one recipe, measured on a few hundred training records
(docs/BENCHMARKS.md, reconstruction section): 12 leads × 400 samples (``r400``), latent 10,
every single beat with random amplitude, absolute error (``recon_loss: l1``), no batch
norm, linear paths beside the convolutions (x → z: ``linear_encoder``; z → output:
``linear_skip``), cosine learning rate over ~3,000 optimiser steps (~107 an epoch).
``pca_init=True`` starts at PCA instead (the latents then stay PCA's: docs/BENCHMARKS.md,
reconstruction).
Seed 000's setting is ``backbone="kors000", input_shape=(3, 375), latent_dim=30``.
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
from .registry import Recipe, register_model
from .schedules import AnnealedBeta, CyclicalBeta
from .task_vae import TaskVAE
from .vae import VAE

#: the beat autoencoders' data and optimiser sections (see the module docstring)
_AE_DATA = {"window": "r400", "leads": "all", "train_on": "beats", "amplitude_jitter": 0.2,
            "batch_size": 32}
_AE_OPTIM = {"lr": 0.002, "schedule": "cosine", "max_epochs": 28, "patience": 28}
_AE_MODEL = {
    "latent_dim": 10,
    "backbone": {"kind": "small", "norm": "none", "linear_skip": True, "linear_encoder": True},
    "wave_weights": None,
    "recon_loss": "l1",
}
#: the stochastic ones add the scale of the Laplace decoder in input units (signal / the
#: scaler's ~5,500 µV): ~28 µV, the noise level, so that β weighs the KL against a
#: likelihood of real ECG precision; at 1 (5,500 µV) a β-VAE with β = 4 barely encodes
_VAE_MODEL = {**_AE_MODEL, "recon_sigma": 0.005}
AE_RECIPE = Recipe(model=_AE_MODEL, data=_AE_DATA, optim=_AE_OPTIM,
                   source="docs/BENCHMARKS.md, reconstruction section")
VAE_RECIPE = Recipe(model=_VAE_MODEL, data=_AE_DATA, optim=_AE_OPTIM,
                    source="docs/BENCHMARKS.md, reconstruction section")
#: seed 001 §2.4 with the autoencoders' recipe: the same Laplace scale, so that γ = 500
#: weighs the task against a likelihood of real ECG precision (at scale 1 the task term
#: swamped the reconstruction: MAE 114 µV on fold 0, docs/BENCHMARKS.md, evaluation
#: report). Optim epochs count per stage (pre-train, head alone, end to end).
TASK_VAE_RECIPE = Recipe(
    model={"latent_dim": 10, "beta": 4.0, "gamma": 500.0, **{k: v for k, v in _VAE_MODEL.items()
                                                             if k != "latent_dim"}},
    data={**_AE_DATA, "task": ["superclass_MI"], "extra": ["rr_mean_ms", "rr_sd_ms"]},
    optim=_AE_OPTIM,
    source="seed 001 §2.4; docs/BENCHMARKS.md, evaluation report",
)
PCA_RECIPE = Recipe(model={"latent_dim": 10}, data={"window": "r400", "leads": "all", "batch_size": 64},
                    optim={"lr": 0.001, "max_epochs": 100, "patience": 25}, source="seed 000 baseline")


def _config(
    cls: type[BaseModel], name: str, defaults: dict[str, Any], overrides: dict[str, Any]
) -> Any:
    return cls(**{**defaults, **overrides, "name": name})


@register_model(
    "pca", description="PCA baseline: scikit-learn PCA on the flattened beat, closed-form fit",
    recipe=PCA_RECIPE,
)
def pca(**overrides: Any) -> PCAModel:
    return PCAModel(_config(PCAConfig, "pca", {}, overrides))


@register_model("ae", description="Deterministic autoencoder: no sampling, no KL (seed 000 AE)",
                recipe=AE_RECIPE)
def ae(**overrides: Any) -> VAE:
    return VAE(_config(AEConfig, "ae", {}, overrides))


@register_model("sae", description="Stochastic autoencoder: sampled z, beta = 0 (seed 000 SAE)",
                recipe=VAE_RECIPE)
def sae(**overrides: Any) -> VAE:
    return VAE(_config(BetaVAEConfig, "sae", {"beta": 0.0}, overrides))


@register_model("vae", description="Variational autoencoder, beta = 1", recipe=VAE_RECIPE)
def vae(**overrides: Any) -> VAE:
    return VAE(_config(VAEConfig, "vae", {}, overrides))


@register_model(
    "beta_vae", description="beta-VAE, constant beta = 3 (seed 000); seed 001 uses beta = 4",
    recipe=VAE_RECIPE,
)
def beta_vae(**overrides: Any) -> VAE:
    return VAE(_config(BetaVAEConfig, "beta_vae", {"beta": 3.0}, overrides))


@register_model(
    "cyclical_beta_vae",
    description="Cyclical beta-VAE: beta ramps 0 -> 5 and resets, 4 cycles (Fu et al. 2019; seed 000)",
    recipe=VAE_RECIPE,
)
def cyclical_beta_vae(**overrides: Any) -> VAE:
    # length: the recipe's epochs (the trainer spreads the schedule over the whole training)
    defaults = {"schedule": CyclicalBeta(n_cycles=4, max_beta=5.0, ratio=0.5,
                                         length=_AE_OPTIM["max_epochs"])}
    return VAE(_config(ScheduledBetaVAEConfig, "cyclical_beta_vae", defaults, overrides))


@register_model(
    "annealed_beta_vae",
    description="Annealed beta-VAE: beta falls linearly 10 -> 0 over the training (seed 000)",
    recipe=VAE_RECIPE,
)
def annealed_beta_vae(**overrides: Any) -> VAE:
    defaults = {"schedule": AnnealedBeta(start=10.0, end=0.0, length=_AE_OPTIM["max_epochs"],
                                         shape="linear")}
    return VAE(_config(ScheduledBetaVAEConfig, "annealed_beta_vae", defaults, overrides))


@register_model(
    "task_vae",
    description="Task-specific beta-VAE (seed 001): linear head on all latent means + RR mean/SD, gamma = 500",
    recipe=TASK_VAE_RECIPE,
)
def task_vae(**overrides: Any) -> TaskVAE:
    return TaskVAE(_config(TaskVAEConfig, "task_vae", {}, overrides))


@register_model(
    "split_task_vae",
    description="Split-task beta-VAE (seed 001): linear head on 2 of 10 latent means + RR mean/SD, gamma = 500",
    recipe=TASK_VAE_RECIPE,
)
def split_task_vae(**overrides: Any) -> TaskVAE:
    return TaskVAE(
        _config(TaskVAEConfig, "split_task_vae", {"latent_dim": 10, "n_task_latents": 2}, overrides)
    )
