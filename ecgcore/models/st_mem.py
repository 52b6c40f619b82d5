"""ST-MEM (Na et al., ICLR 2024; seed 004): a ViT over per-lead patches, pre-trained by
spatio-temporal masked reconstruction.

Tokens: each lead is cut into patches of ``patch_seconds`` (0.3 s: 75 samples at 250 Hz,
150 at 500 Hz; ``patch_size`` sets samples directly), linearly embedded, plus a position
embedding; every lead's sequence is wrapped in learned [SEP] tokens (positions 0 and
P + 1) and all its tokens get the lead's embedding, so the transformer knows which lead a
patch came from. Masking keeps the same number of patches in every lead but chooses them
independently per lead (spatio-temporal), ``mask_ratio`` = 0.75; [SEP] stays visible.
A light decoder puts [MASK] tokens back, adds its own position and lead embeddings and
predicts the masked patches (MSE on masked patches only; ``norm_patch_loss`` targets
per-patch standardised values, as MAE's norm_pix_loss).

``encode``: mean of the encoder's patch tokens ([SEP] excluded), LayerNorm → [B, dim].
Modes (``config.mode`` = the default stage; ``set_stage`` switches): ``pretrain``;
``linear_probe`` (encoder and decoder frozen, head = LayerNorm + Linear, BCE);
``finetune`` and ``scratch`` (everything trains, BCE; scratch says "no pre-training").
Every mode builds every part, so a pretrain checkpoint loads strictly into a probe.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from einops import rearrange
from pydantic import Field
from torch import nn

from .configs import SignalPatchConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, register_model
from .staged import Stage, StagedModel, check_shape, make_config
from .transformer import LeadPatches, Transformer, gather_tokens, random_keep

Mode = Literal["pretrain", "linear_probe", "finetune", "scratch"]


class STMEMConfig(SignalPatchConfig):
    dropout: float = Field(0.0, ge=0, lt=1)
    decoder_dim: int = Field(32, ge=8)
    decoder_depth: int = Field(1, ge=1)
    decoder_heads: int = Field(2, ge=1)
    mask_ratio: float = Field(0.75, ge=0, lt=1)
    norm_patch_loss: bool = False
    mode: Mode = "pretrain"
    n_outputs: int = Field(1, ge=1)


class STMEMEncoder(nn.Module):
    def __init__(self, cfg: STMEMConfig) -> None:
        super().__init__()
        leads, length = cfg.input_shape
        self.patches = LeadPatches(leads, length, cfg.patch, cfg.dim)
        self.sep = nn.Parameter(torch.randn(cfg.dim) * 0.02)
        self.sep_pos = nn.Parameter(torch.randn(2, cfg.dim) * 0.02)  # left, right
        self.transformer = Transformer(cfg.dim, cfg.depth, cfg.heads, cfg.mlp_ratio, cfg.dropout)

    def forward(self, x: torch.Tensor, kept: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, L, T] (kept [B, L, k] patch indices) → patch tokens [B, L, k, dim]."""
        tokens = self.patches(x)  # position + lead embeddings included
        if kept is not None:
            tokens = gather_tokens(tokens, kept)
        b, leads = tokens.shape[:2]
        sep = self.sep + self.sep_pos[:, None] + self.patches.lead  # [2, L, dim]
        seq = torch.cat([sep[0][None, :, None].expand(b, -1, -1, -1), tokens,
                         sep[1][None, :, None].expand(b, -1, -1, -1)], dim=2)
        out = self.transformer(rearrange(seq, "b l n d -> b (l n) d"))
        return rearrange(out, "b (l n) d -> b l n d", l=leads)[:, :, 1:-1]


class MaskedPatchDecoder(nn.Module):
    """Visible tokens [B, L, k, dim] at ``kept`` → every patch [B, L, P, patch]."""

    def __init__(self, cfg: STMEMConfig, n_patches: int) -> None:
        super().__init__()
        leads = cfg.input_shape[0]
        self.proj = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.randn(cfg.decoder_dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(n_patches, cfg.decoder_dim) * 0.02)
        self.lead = nn.Parameter(torch.randn(leads, cfg.decoder_dim) * 0.02)
        self.transformer = Transformer(cfg.decoder_dim, cfg.decoder_depth, cfg.decoder_heads, 2.0)
        self.out = nn.Linear(cfg.decoder_dim, cfg.patch)

    def forward(self, tokens: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
        vis = self.proj(tokens)
        b, leads, _, e = vis.shape
        full = self.mask_token.to(vis.dtype).expand(b, leads, self.pos.shape[0], e)
        full = full.scatter(2, kept[..., None].expand(-1, -1, -1, e), vis)
        full = full + self.pos + self.lead[:, None]
        out = self.transformer(rearrange(full, "b l p e -> b (l p) e"))
        return self.out(rearrange(out, "b (l p) e -> b l p e", l=leads))


class STMEM(StagedModel):
    STAGES = (
        Stage("pretrain"),
        Stage("linear_probe", uses_labels=True, freeze_backbone=True),
        Stage("finetune", uses_labels=True),
        Stage("scratch", uses_labels=True),
    )
    config: STMEMConfig

    def __init__(self, config: STMEMConfig) -> None:
        super().__init__(config)
        self.encoder = STMEMEncoder(config)
        self.n_patches = self.encoder.patches.n_patches
        self.decoder = MaskedPatchDecoder(config, self.n_patches)
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Sequential(nn.LayerNorm(config.dim), nn.Linear(config.dim, config.n_outputs))
        self._init_stage()

    def default_stages(self) -> list[dict[str, Any]]:
        """The one stage named by ``config.mode``."""
        return [s for s in super().default_stages() if s["name"] == self.config.mode]

    def _check(self, x: torch.Tensor) -> None:
        check_shape(x, self.input_shape, "st_mem", "signals [batch, leads, samples]")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return self.norm(self.encoder(x).mean(dim=(1, 2)))

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        return Encoding(self.features(x), None)

    def predict_logits(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.head(self.features(x))

    def masked_reconstruction(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(predicted patches [B, L, P, s], target patches, masked [B, L, P])."""
        self._check(x)
        b, leads = x.shape[:2]
        keep = max(1, round(self.n_patches * (1 - self.config.mask_ratio)))
        kept, masked = random_keep((b, leads), self.n_patches, keep, x.device)
        pred = self.decoder(self.encoder(x, kept), kept)
        return pred, self.encoder.patches.patchify(x), masked

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        pred, patches, masked = self.masked_reconstruction(x)
        if self.config.norm_patch_loss:
            mu, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True)
            patches = (patches - mu) / (var + 1e-6).sqrt()
        err = ((pred - patches) ** 2).mean(-1)
        recon = err[masked].mean() if masked.any() else err.mean()
        return {"recon": recon, "total": recon}

    def backbone_modules(self) -> list[nn.Module]:
        return [self.encoder, self.decoder, self.norm]


@register_model(
    "st_mem",
    description="ST-MEM (Na et al. 2024; seed 004): ViT on per-lead patches, spatio-temporal "
    "masked reconstruction; modes pretrain / linear_probe / finetune / scratch",
    recipe=Recipe(model={}, data={"task": SUPERCLASSES, "batch_size": 32},
                  optim={"lr": 0.0005, "max_epochs": 50, "patience": 10}, source='Na et al. 2024; seed 004'),
)
def st_mem(**overrides: Any) -> STMEM:
    # n_outputs: one per class of the recipe's task (the trainer sets it from data.task)
    return STMEM(make_config(STMEMConfig, "st_mem", {"n_outputs": len(SUPERCLASSES)}, overrides))
