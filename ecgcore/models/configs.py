"""Typed configs, one per family, inheriting pythae-style.

    ModelConfig            name, input_shape, latent_dim
    ├── PCAConfig          + whiten
    └── AEConfig           + backbone, wave_weights, recon_loss, recon_reduction, recon_sigma
                             (deterministic)
        └── VAEConfig      sampled z, KL with β = 1
            ├── BetaVAEConfig           + beta
            │   └── TaskVAEConfig       + gamma, n_task_latents, n_extra, n_outputs
            └── ScheduledBetaVAEConfig  + schedule (cyclical / annealed / constant)
    └── TransformerConfig  + dim, depth, heads, mlp_ratio; latent_dim = latent_width()
        ├── SignalPatchConfig  + fs, patch_seconds, patch_size: 10-s signals in time patches
        │   ├── STMEMConfig, ECGJEPAConfig
        ├── LeadMAEConfig, ECGSLConfig

Configs are frozen pydantic models with ``extra="forbid"``; ``model_dump(mode="json")`` is
what a checkpoint's config.json holds, and ``ecgcore.models.model_from_config`` rebuilds
the model from it. ``name`` is the registered model name.

The field defaults here are the general ones, not the shipped recipes: a family's recipe
(``ecgcore.models.registry.Recipe``, registered with its factory) sets what its shipped
training uses, and ``create_model(name)`` applies it (docs/ARCHITECTURE.md, "Add a model
family"). Stored configs are complete and rebuild without it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .backbones import BackboneSpec, SmallConfig
from .schedules import BetaSchedule, ConstantBeta, CyclicalBeta, ScheduleSpec


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registered model name")
    input_shape: tuple[int, int] = Field((12, 400), description="(leads, samples)")
    latent_dim: int = Field(10, ge=1)

    @field_validator("input_shape")
    @classmethod
    def _positive_shape(cls, v: tuple[int, int]) -> tuple[int, int]:
        if min(v) < 1:
            raise ValueError(f"input_shape must be positive (leads, samples), got {v}")
        return v


class PCAConfig(ModelConfig):
    """PCA on the flattened ``leads × samples`` signal; ``latent_dim`` = n_components."""

    whiten: bool = False


class WaveWeights(BaseModel):
    """Seed 000's region weights for the reconstruction loss (used when fiducials are given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theta_p: float = Field(20.0, ge=0)
    theta_qrs: float = Field(10.0, ge=0)
    theta_t: float = Field(15.0, ge=0)


class AEConfig(ModelConfig):
    """Deterministic autoencoder: no sampling, no KL."""

    stochastic: ClassVar[bool] = False

    backbone: BackboneSpec = Field(default_factory=SmallConfig)
    wave_weights: WaveWeights | None = Field(
        default_factory=WaveWeights,
        description="region weights applied when the loss receives fiducials; None: unweighted",
    )
    recon_loss: Literal["mse", "l1"] = Field(
        "mse", description="squared error (a Gaussian decoder, seeds 000/001) or absolute error "
        "(a Laplace decoder: fits the median, the error in µV that is reported)",
    )
    recon_reduction: Literal["sum", "mean"] = Field(
        "sum", description="sum over leads×time (mean over batch), or mean over all elements"
    )
    pca_init: bool = Field(
        False, description="start at PCA of the training split: a fixed, whitened PCA path "
        "plus zero-gated nonlinear corrections (ecgcore.models.pca_path)",
    )
    recon_sigma: float = Field(
        1.0, gt=0, description="σ of the Gaussian decoder (or scale b of the Laplace decoder) in "
        "input units (the signal divided by the scaler's µV): the squared error is divided by "
        "σ² (the absolute error by b), which sets how strongly the KL (β) weighs against "
        "reconstruction; 1 is the plain summed error",
    )

    @field_validator("backbone", mode="before")
    @classmethod
    def _backbone_by_name(cls, v: Any) -> Any:
        return {"kind": v} if isinstance(v, str) else v  # backbone="kors000" shorthand

    def beta_schedule(self) -> BetaSchedule:
        return ConstantBeta(value=0.0)


class VAEConfig(AEConfig):
    """Variational autoencoder: z sampled by reparameterisation, KL weighted by β = 1."""

    stochastic: ClassVar[bool] = True

    def beta_schedule(self) -> BetaSchedule:
        return ConstantBeta(value=1.0)


class BetaVAEConfig(VAEConfig):
    beta: float = Field(3.0, ge=0)

    def beta_schedule(self) -> BetaSchedule:
        return ConstantBeta(value=self.beta)


class ScheduledBetaVAEConfig(VAEConfig):
    schedule: ScheduleSpec = Field(default_factory=CyclicalBeta)

    def beta_schedule(self) -> BetaSchedule:
        return self.schedule


class TaskVAEConfig(BetaVAEConfig):
    """β-VAE with one linear prediction layer on the first ``n_task_latents`` latent means
    (all when None) plus ``n_extra`` scalar inputs (RR mean and SD in seed 001)."""

    beta: float = Field(4.0, ge=0)
    gamma: float = Field(500.0, ge=0, description="weight of the task BCE")
    n_task_latents: int | None = Field(None, ge=1)
    n_extra: int = Field(2, ge=0)
    n_outputs: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _task_latents_fit(self) -> TaskVAEConfig:
        if self.n_task_latents is not None and self.n_task_latents > self.latent_dim:
            raise ValueError(
                f"n_task_latents={self.n_task_latents} exceeds latent_dim={self.latent_dim}"
            )
        return self

    @property
    def task_latents(self) -> int:
        return self.latent_dim if self.n_task_latents is None else self.n_task_latents


class TransformerConfig(ModelConfig):
    """The transformer families (ST-MEM, ECG-JEPA, lead MAE, ECG-SL): one width, depth,
    number of heads and MLP ratio. ``latent_dim`` follows from the other fields
    (:meth:`latent_width`: the width unless a family adds to it); giving another is an error."""

    dim: int = Field(64, ge=8, description="transformer width")
    depth: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    mlp_ratio: float = Field(2.0, gt=0)

    @staticmethod
    def latent_width(fields: dict[str, Any]) -> int:
        return int(fields["dim"])

    @model_validator(mode="before")
    @classmethod
    def _latent(cls, data: Any) -> Any:
        from .staged import derived_latent_dim  # torch; configs stay importable without it

        return derived_latent_dim(cls, data, cls.latent_width)


class SignalPatchConfig(TransformerConfig):
    """Transformers of whole 10-s signals cut into time patches (ST-MEM, ECG-JEPA)."""

    input_array: ClassVar[str] = "signals"

    input_shape: tuple[int, int] = Field((12, 5000), description="(leads, samples)")
    fs: float = Field(500.0, gt=0, description="sampling rate of the input, Hz")
    patch_seconds: float = Field(0.3, gt=0)
    patch_size: int | None = Field(None, ge=1, description="samples per patch; None: patch_seconds·fs")

    @property
    def patch(self) -> int:
        return self.patch_size or max(1, round(self.patch_seconds * self.fs))
