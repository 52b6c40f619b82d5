"""Task-specific β-VAE of seed 001 (§2.3–2.4): joint reconstruction + prediction.

One linear layer reads the first ``n_task_latents`` latent *means* (all of them for
``task_vae``, 2 of 10 for ``split_task_vae``) with ``n_extra`` scalar inputs appended (RR
mean and SD), giving logits trained with γ-weighted binary cross-entropy (γ = 500).
Only one layer, so each latent unit's contribution stays readable.

Two-step fine-tuning: ``freeze_backbone()`` (encoder, decoder and latent heads fixed,
kept in eval mode so batch-norm statistics do not drift; only the head trains), then
``unfreeze_backbone()`` (everything trains).

The extra inputs are standardised inside the model by the buffers ``extra_loc`` and
``extra_scale`` (0 and 1 until ``set_extra_normalization`` is called, typically with the
training-set mean and SD); being buffers they travel with the checkpoint.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .backbones import he_init
from .configs import TaskVAEConfig
from .freezing import FreezableBackbone
from .protocol import ModelOutput
from .vae import VAE


class TaskVAE(FreezableBackbone, VAE):
    config: TaskVAEConfig

    def __init__(
        self,
        config: TaskVAEConfig,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
    ) -> None:
        super().__init__(config, encoder, decoder)
        self.head = nn.Linear(config.task_latents + config.n_extra, config.n_outputs)
        he_init(self.head)
        self.register_buffer("extra_loc", torch.zeros(config.n_extra))
        self.register_buffer("extra_scale", torch.ones(config.n_extra))
        self._backbone_frozen = False

    # -- prediction -----------------------------------------------------------------------
    def set_extra_normalization(self, loc: Any, scale: Any) -> None:
        """Standardise the extra inputs as ``(extra - loc) / scale`` from now on."""
        loc_t = torch.as_tensor(loc, dtype=torch.float32).reshape(self.config.n_extra)
        scale_t = torch.as_tensor(scale, dtype=torch.float32).reshape(self.config.n_extra)
        if (scale_t <= 0).any():
            raise ValueError(f"extra scale must be positive, got {scale_t.tolist()}")
        self.extra_loc.copy_(loc_t)
        self.extra_scale.copy_(scale_t)

    def task_logits(self, mean: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor | None:
        """Head logits [B, n_outputs] from latent means; None if required extras are missing."""
        feats = mean[:, : self.config.task_latents]
        if self.config.n_extra:
            if extra is None:
                return None
            if extra.ndim != 2 or extra.shape[1] != self.config.n_extra:
                raise ValueError(
                    f"extra must be [batch, {self.config.n_extra}] (e.g. RR mean, RR SD), "
                    f"got {list(extra.shape)}"
                )
            extra = (extra.to(feats.dtype) - self.extra_loc) / self.extra_scale
            feats = torch.cat([feats, extra], dim=1)
        return self.head(feats)

    def forward(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, *, sample: bool | None = None
    ) -> ModelOutput:
        out = super().forward(x, sample=sample)
        out.logits = self.task_logits(out.mean, extra)
        return out

    def predict_proba(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Sigmoid of the head's logits from the latent means, [B, n_outputs]."""
        logits = self.task_logits(self.encode(x).mean, extra)
        if logits is None:
            raise ValueError(f"this model needs extra [batch, {self.config.n_extra}] to predict")
        return torch.sigmoid(logits)

    def _train_forward(self, x: torch.Tensor, extra: torch.Tensor | None) -> ModelOutput:
        return self(x, extra)

    def _task_terms(self, out: ModelOutput, target: torch.Tensor | None) -> dict[str, Any]:
        return {"logits": out.logits, "target": target, "gamma": self.config.gamma}

    # -- two-step fine-tuning -------------------------------------------------------------
    @staticmethod
    def default_stages() -> list[dict[str, Any]]:
        """Seed 001 §2.4: self-supervised pre-training, then the head alone on the frozen
        encoder and decoder, then every layer end to end (the last two with the task)."""
        return [
            {"name": "pretrain", "uses_labels": False},
            {"name": "head", "uses_labels": True, "freeze_backbone": True},
            {"name": "finetune", "uses_labels": True},
        ]

    def backbone_modules(self) -> list[nn.Module]:
        return [
            m for m in (self.encoder, self.decoder, self.to_mean, self.to_logvar) if m is not None
        ]

