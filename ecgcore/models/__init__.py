"""Models: one registry (each family with its shipped recipe), one protocol (encode /
decode), every family behind it; training is the trainer's one loop.

    from ecgcore.models import create_model, list_models
    model = create_model("annealed_beta_vae", backbone="kors000", input_shape=(3, 375), latent_dim=30)
    enc = model.eval().encode(x)          # Encoding(mean [B, 30], scale [B, 30])
    x_hat = model.decode(enc.mean)        # [B, 3, 375]

Models see scaled inputs (the data pipeline divides µV by a constant it keeps for the
inverse), so nothing here depends on units.
"""

from __future__ import annotations

from . import cnn_baseline, ecg_jepa, ecg_sl, lead_mae, st_mem, triplet, vq_vae  # noqa: F401  (register)
from . import zoo as _zoo  # noqa: F401  (registers the built-in models)
from .backbones import BackboneConfig, FactorECGConfig, Kors000Config, SmallConfig, list_backbones
from .configs import (
    AEConfig,
    BetaVAEConfig,
    ModelConfig,
    PCAConfig,
    ScheduledBetaVAEConfig,
    TaskVAEConfig,
    VAEConfig,
    WaveWeights,
)
from .losses import kl_divergence, task_bce, vae_loss, wave_weight_mask, weighted_error
from .pca import PCAModel
from .protocol import Encoding, LatentModel, ModelOutput, count_parameters
from .registry import create_model, describe_models, list_models, model_from_config, register_model
from .schedules import AnnealedBeta, BetaSchedule, ConstantBeta, CyclicalBeta
from .task_vae import TaskVAE
from .vae import VAE

__all__ = [
    "VAE",
    "AEConfig",
    "AnnealedBeta",
    "BackboneConfig",
    "BetaSchedule",
    "BetaVAEConfig",
    "ConstantBeta",
    "CyclicalBeta",
    "Encoding",
    "FactorECGConfig",
    "Kors000Config",
    "LatentModel",
    "ModelConfig",
    "ModelOutput",
    "PCAConfig",
    "PCAModel",
    "ScheduledBetaVAEConfig",
    "SmallConfig",
    "TaskVAE",
    "TaskVAEConfig",
    "VAEConfig",
    "WaveWeights",
    "count_parameters",
    "create_model",
    "describe_models",
    "kl_divergence",
    "list_backbones",
    "list_models",
    "model_from_config",
    "register_model",
    "task_bce",
    "vae_loss",
    "wave_weight_mask",
    "weighted_error",
]
