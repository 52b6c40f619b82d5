"""VQ-VAE (van den Oord et al. 2017; seed 004) on median beats.

Encoder (a convolutional backbone, ``small`` by default) → linear → ``n_tokens`` latent
vectors of ``code_dim`` → each snapped to the nearest of ``codebook_size`` shared codes
(``quantize.VectorQuantize``: EMA codebook, k-means start, commitment loss, dead-code
restart) → flattened [B, n_tokens·code_dim] → the backbone's decoder.

``encode(x).mean`` is the quantised latent (what the decoder sees), so
``decode(encode(x).mean)`` is the reconstruction; ``decode`` does not re-quantise, so a
traversal of one coordinate changes the output smoothly. ``encode_indices`` /
``decode_indices`` give the discrete view. Seed 004 saw the codebook collapse onto one
code; ``epoch_metrics()`` reports perplexity and the fraction of codes used (training
batches since the last call) so that collapse shows in the run's metrics.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from einops import rearrange
from pydantic import Field, field_validator, model_validator
from torch import nn

from .backbones import BackboneSpec, SmallConfig, build_backbone
from .configs import ModelConfig
from .protocol import Encoding
from .quantize import VectorQuantize
from .registry import Recipe, register_model
from .staged import StagedModel, check_shape, derived_latent_dim, make_config


class VQVAEConfig(ModelConfig):
    input_array: ClassVar[str] = "median"

    backbone: BackboneSpec = Field(default_factory=SmallConfig)
    codebook_size: int = Field(64, ge=2)
    code_dim: int = Field(16, ge=1)
    n_tokens: int = Field(8, ge=1, description="latent vectors per beat, each one code")
    commitment_weight: float = Field(0.25, ge=0)
    decay: float = Field(0.99, gt=0, lt=1, description="EMA decay of the codebook")
    kmeans_init: bool = True
    kmeans_iters: int = Field(10, ge=0)
    dead_code_steps: int = Field(50, ge=0, description="restart codes unused this many batches; 0: never")

    @field_validator("backbone", mode="before")
    @classmethod
    def _backbone_by_name(cls, v: Any) -> Any:
        return {"kind": v} if isinstance(v, str) else v

    @model_validator(mode="before")
    @classmethod
    def _latent(cls, data: Any) -> Any:
        return derived_latent_dim(cls, data, lambda f: f["n_tokens"] * f["code_dim"])


class VQVAE(StagedModel):
    config: VQVAEConfig

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__(config)
        self.encoder, self.decoder = build_backbone(config.backbone, config.input_shape, config.latent_dim)
        self.to_latent = nn.Linear(int(self.encoder.out_features), config.latent_dim)
        self.quantizer = VectorQuantize(
            config.code_dim,
            config.codebook_size,
            decay=config.decay,
            commitment_weight=config.commitment_weight,
            kmeans_init=config.kmeans_init,
            kmeans_iters=config.kmeans_iters,
            dead_code_steps=config.dead_code_steps,
        )
        self._init_stage()

    def _pre_quant(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, self.input_shape, "vq_vae", "median beats [batch, leads, W]")
        z = self.to_latent(self.encoder(x))
        return rearrange(z, "b (n d) -> b n d", n=self.config.n_tokens)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x̂, quantised latent [B, latent_dim], indices [B, n_tokens], commitment loss)."""
        q, idx, vq_loss = self.quantizer(self._pre_quant(x))
        q = rearrange(q, "b n d -> b (n d)")
        return self.decoder(q), q, idx, vq_loss

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        q, _, _ = self.quantizer(self._pre_quant(x))
        return Encoding(rearrange(q, "b n d -> b (n d)"), None)

    def encode_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Code indices [B, n_tokens]."""
        return self.quantizer.nearest(self._pre_quant(x).flatten(0, 1)).reshape(x.shape[0], -1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z [batch, {self.latent_dim}], got {list(z.shape)}")
        return self.decoder(z)

    def decode_indices(self, idx: torch.Tensor) -> torch.Tensor:
        return self.decode(rearrange(self.quantizer.decode_indices(idx), "b n d -> b (n d)"))

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        x_hat, _, idx, vq = self(x)
        recon = F.mse_loss(x_hat, x)
        p = torch.bincount(idx.flatten(), minlength=self.config.codebook_size).float()
        p = p / p.sum()
        batch_perplexity = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        return {"recon": recon, "vq": vq, "batch_perplexity": batch_perplexity, "total": recon + vq}

    def epoch_metrics(self) -> dict[str, float]:
        """Codebook perplexity and fraction of codes used since the last call."""
        return {f"codebook_{k}": v for k, v in self.quantizer.usage_metrics(reset=True).items()}


@register_model(
    "vq_vae",
    description="VQ-VAE (seed 004) on median beats: EMA codebook, k-means init, dead-code restart",
    recipe=Recipe(model={}, data={"window": "r400", "batch_size": 64},
                  optim={"lr": 0.001, "max_epochs": 100, "patience": 25}, source='seed 004'),
)
def vq_vae(**overrides: Any) -> VQVAE:
    return VQVAE(make_config(VQVAEConfig, "vq_vae", {}, overrides))
