"""ECG-SL (seed 002, Yu et al. 2023): heartbeat segments → CNN beat encoder → transformer
over the beat sequence → attention pooling → dense head.

Input: beat sequences ``x`` [B, N, leads, W] (the cache's ``sequences``) with ``mask``
[B, N], True for a real beat. Padding never matters: the CNN runs on the real beats only,
the transformer ignores padded keys and the pooling gives them weight 0.

Stages (``set_stage``):
- ``beat_ae``: the beat encoder with the beat decoder reconstructs single beats (MSE).
- ``masked``: ``mask_ratio`` of each record's real beats are replaced by a learned [MASK]
  embedding; the transformer's outputs there go through the beat decoder and must
  reconstruct those beats' waveforms from the context (MSE on the masked beats).
- ``finetune``: multilabel BCE of the head (NaN targets ignored).

``encode`` gives the attention-pooled record embedding [B, dim]; ``attention`` (or
``predict_logits(..., return_attention=True)``) the weight of each beat, for the app.
There is no decoder from the record embedding (``decode`` raises); beat-level
``encode_beats`` / ``decode_beats`` do exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from .backbones import BackboneSpec, SmallConfig, build_backbone
from .configs import TransformerConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, register_model
from .staged import Stage, StagedModel, check_shape, make_config
from .transformer import AttentionPool, Transformer, sinusoidal


class ECGSLConfig(TransformerConfig):
    """``input_shape`` is one beat (leads, W); any number of beats per record."""

    input_array: ClassVar[str] = "sequences"

    beat_backbone: BackboneSpec = Field(
        default_factory=SmallConfig, description="CNN beat encoder/decoder pair"
    )
    dim: int = Field(64, ge=8, description="beat embedding and transformer width")
    dropout: float = Field(0.1, ge=0, lt=1)
    mask_ratio: float = Field(0.3, gt=0, lt=1, description="beats masked per record (masked stage)")
    head_hidden: int = Field(64, ge=1)
    n_outputs: int = Field(1, ge=1)

    @field_validator("beat_backbone", mode="before")
    @classmethod
    def _backbone_by_name(cls, v: Any) -> Any:
        return {"kind": v} if isinstance(v, str) else v


class ECGSL(StagedModel):
    STAGES = (Stage("beat_ae"), Stage("masked"), Stage("finetune", uses_labels=True))
    config: ECGSLConfig

    def __init__(self, config: ECGSLConfig) -> None:
        super().__init__(config)
        c = config
        self.beat_encoder, self.beat_decoder = build_backbone(c.beat_backbone, c.input_shape, c.dim)
        self.to_embedding = nn.Linear(int(self.beat_encoder.out_features), c.dim)
        self.mask_token = nn.Parameter(torch.randn(c.dim) * 0.02)
        self.transformer = Transformer(c.dim, c.depth, c.heads, c.mlp_ratio, c.dropout)
        self.pool = AttentionPool(c.dim)
        self.head = nn.Sequential(
            nn.Linear(c.dim, c.head_hidden), nn.GELU(), nn.Dropout(c.dropout),
            nn.Linear(c.head_hidden, c.n_outputs),
        )
        self._init_stage()

    # -- shapes ---------------------------------------------------------------------------
    def _inputs(
        self, x: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        check_shape(x, (-1, *self.input_shape), "ecg_sl", "beat sequences [batch, beats, leads, W]")
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        mask = mask.to(device=x.device, dtype=torch.bool)
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask must be [batch, beats] = {list(x.shape[:2])}, got {list(mask.shape)}")
        if not mask.any(1).all():
            bad = (~mask.any(1)).nonzero().flatten().tolist()
            raise ValueError(f"ecg_sl: records at batch rows {bad} have no real beat")
        return x, mask

    # -- beats ----------------------------------------------------------------------------
    def embed_beat(self, beats: torch.Tensor) -> torch.Tensor:
        """[n, leads, W] → [n, dim]."""
        return self.to_embedding(self.beat_encoder(beats))

    def encode_beats(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Beat embeddings [B, N, dim] (0 at padding); the CNN sees real beats only."""
        x, mask = self._inputs(x, mask)
        feats = self.embed_beat(x[mask])
        emb = feats.new_zeros(*mask.shape, feats.shape[-1])
        emb[mask] = feats
        return emb

    def decode_beats(self, z: torch.Tensor) -> torch.Tensor:
        """Beat embeddings [..., dim] → beats [..., leads, W]."""
        flat = z.reshape(-1, z.shape[-1])
        return self.beat_decoder(flat).reshape(*z.shape[:-1], *self.input_shape)

    # -- sequence -------------------------------------------------------------------------
    def contextualize(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pos = sinusoidal(emb.shape[1], emb.shape[2], emb.device)
        return self.transformer(emb + pos, pad=~mask)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled record embedding [B, dim], beat attention weights [B, N])."""
        x, mask = self._inputs(x, mask)
        h = self.contextualize(self.encode_beats(x, mask), mask)
        return self.pool(h, mask)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        return Encoding(self(x, mask)[0], None)

    def attention(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Weight of each beat in the pooled embedding [B, N]: 0 on padding, sums to 1."""
        return self(x, mask)[1]

    def predict_logits(
        self,
        x: torch.Tensor,
        extra: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        pooled, weights = self(x, mask)
        logits = self.head(pooled)
        return (logits, weights) if return_attention else logits

    # -- training -------------------------------------------------------------------------
    def choose_masked(self, mask: torch.Tensor) -> torch.Tensor:
        """[B, N] True for the beats to hide: round(ratio · n_real) ≥ 1 per record with at
        least two real beats (one beat alone has no context)."""
        n_real = mask.sum(1)
        k = (n_real.float() * self.config.mask_ratio).round().clamp(min=1).long()
        k = torch.where(n_real >= 2, torch.minimum(k, n_real - 1), torch.zeros_like(k))
        scores = torch.rand(mask.shape, device=mask.device).masked_fill(~mask, 2.0)
        rank = scores.argsort(1).argsort(1)
        return (rank < k[:, None]) & mask

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        x, mask = self._inputs(x, mask)
        if self.stage == "beat_ae":
            beats = x[mask]
            recon = F.mse_loss(self.decode_beats(self.embed_beat(beats)), beats)
            return {"recon": recon, "total": recon}
        if self.stage == "masked":
            hidden = self.choose_masked(mask)
            emb = self.encode_beats(x, mask)
            emb = torch.where(hidden[..., None], self.mask_token.to(emb.dtype), emb)
            h = self.contextualize(emb, mask)
            if hidden.any():
                masked_recon = F.mse_loss(self.decode_beats(h[hidden]), x[hidden])
            else:  # only single-beat records: nothing to predict
                masked_recon = h.sum() * 0.0
            return {"masked_recon": masked_recon, "total": masked_recon}

    def backbone_modules(self) -> list[nn.Module]:
        return [self.beat_encoder, self.to_embedding, self.beat_decoder, self.transformer]

    def backbone_parameters(self) -> Iterator[nn.Parameter]:  # [MASK] is backbone too
        yield from super().backbone_parameters()
        yield self.mask_token


@register_model(
    "ecg_sl",
    description="ECG-SL (seed 002): CNN beat encoder, transformer over beats, attention pooling; "
    "stages beat_ae -> masked -> finetune",
    recipe=Recipe(model={}, data={"window": "r400", "task": SUPERCLASSES, "batch_size": 32},
                  optim={"lr": 0.001, "max_epochs": 30, "patience": 10}, source='seed 002'),
)
def ecg_sl(**overrides: Any) -> ECGSL:
    # n_outputs: one per class of the recipe's task (the trainer sets it from data.task)
    return ECGSL(make_config(ECGSLConfig, "ecg_sl", {"n_outputs": len(SUPERCLASSES)}, overrides))
