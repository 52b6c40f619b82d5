"""ECG-JEPA (Kim 2024; seed 004): predict, in latent space, the target encoder's embeddings
of masked blocks from the context encoder's embeddings of the rest. No signal decoder.

Tokens: per-lead patches (``patch_seconds``, 0.2 s by default) with position and lead
embeddings. Masking: ``n_target_blocks`` contiguous time blocks covering ``target_ratio``
of the patches, the same times in every lead (otherwise a lead could copy the others);
the context is every other token. The target encoder is an EMA copy of the context
encoder (``ema_momentum``; updated in ``on_train_batch_end`` during ``pretrain``; never
receives gradients there). The predictor, narrower, takes the context tokens plus [MASK]
tokens carrying the target positions and regresses the layer-normed target tokens
(smooth L1).

``encode``: the target encoder's mean token [B, dim] (as in I-JEPA), followed, when
``hybrid_features`` > 0, by the standardised classical ECG features passed as ``extra``
[B, hybrid_features] (seed 004's hybrid input representation): ``latent_dim = dim +
hybrid_features``. The extras are standardised by ``set_extra_normalization`` (buffers,
saved with the weights; the trainer calls it with training-set statistics); NaN → 0.

Stages: ``pretrain`` (JEPA), ``finetune`` (linear head on ``encode``, BCE; the target
encoder frozen by default, trainable after ``unfreeze_backbone``).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from einops import repeat
from pydantic import Field
from torch import nn

from .configs import SignalPatchConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, register_model
from .staged import Stage, StagedModel, check_shape, make_config
from .transformer import LeadPatches, Transformer, gather_tokens


class ECGJEPAConfig(SignalPatchConfig):
    patch_seconds: float = Field(0.2, gt=0)
    predictor_dim: int = Field(32, ge=8)
    predictor_depth: int = Field(1, ge=1)
    predictor_heads: int = Field(2, ge=1)
    n_target_blocks: int = Field(2, ge=1)
    target_ratio: float = Field(0.3, gt=0, lt=1, description="fraction of time patches to predict")
    ema_momentum: float = Field(0.996, ge=0, le=1)
    hybrid_features: int = Field(0, ge=0, description="classical features appended via extra")
    n_outputs: int = Field(1, ge=1)

    @staticmethod
    def latent_width(fields: dict[str, Any]) -> int:
        return int(fields["dim"] + fields["hybrid_features"])  # + the classical features


class JEPAEncoder(nn.Module):
    """x [B, L, T] → tokens [B, L·P, dim] (only those at ``idx`` [B, n] when given)."""

    def __init__(self, cfg: ECGJEPAConfig) -> None:
        super().__init__()
        self.patches = LeadPatches(*cfg.input_shape, cfg.patch, cfg.dim)
        self.transformer = Transformer(cfg.dim, cfg.depth, cfg.heads, cfg.mlp_ratio)

    def forward(self, x: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.patches(x).flatten(1, 2)
        if idx is not None:
            tokens = gather_tokens(tokens, idx)
        return self.transformer(tokens)


class Predictor(nn.Module):
    """Context tokens at ``ctx_idx`` → predicted target-encoder tokens at ``tgt_idx``."""

    def __init__(self, cfg: ECGJEPAConfig, leads: int, n_patches: int) -> None:
        super().__init__()
        self.proj_in = nn.Linear(cfg.dim, cfg.predictor_dim)
        self.mask_token = nn.Parameter(torch.randn(cfg.predictor_dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(n_patches, cfg.predictor_dim) * 0.02)
        self.lead = nn.Parameter(torch.randn(leads, cfg.predictor_dim) * 0.02)
        self.transformer = Transformer(cfg.predictor_dim, cfg.predictor_depth, cfg.predictor_heads, 2.0)
        self.proj_out = nn.Linear(cfg.predictor_dim, cfg.dim)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        where = (self.lead[:, None] + self.pos[None]).flatten(0, 1)  # [L·P, e], token order
        c = self.proj_in(ctx) + where[ctx_idx]
        m = self.mask_token + where[tgt_idx]
        out = self.transformer(torch.cat([c, m], dim=1))
        return self.proj_out(out[:, ctx.shape[1]:])


class ECGJEPA(StagedModel):
    STAGES = (Stage("pretrain"), Stage("finetune", uses_labels=True, freeze_backbone=True))
    config: ECGJEPAConfig

    def __init__(self, config: ECGJEPAConfig) -> None:
        super().__init__(config)
        leads = config.input_shape[0]
        self.context = JEPAEncoder(config)
        self.n_patches = self.context.patches.n_patches
        if self.n_patches < 2 * config.n_target_blocks:
            raise ValueError(
                f"{self.n_patches} patches per lead are too few for {config.n_target_blocks} "
                "target blocks; shorten patch_seconds or use fewer blocks"
            )
        self.target = copy.deepcopy(self.context).requires_grad_(False)
        self.predictor = Predictor(config, leads, self.n_patches)
        self.head = nn.Linear(config.latent_dim, config.n_outputs)
        n = config.hybrid_features
        self.register_buffer("extra_loc", torch.zeros(n))
        self.register_buffer("extra_scale", torch.ones(n))
        self._init_stage()

    # -- stages ---------------------------------------------------------------------------
    def backbone_modules(self) -> list[nn.Module]:
        return [self.context, self.predictor] if self.stage == "pretrain" else [self.target]

    def set_stage(self, name: str) -> None:
        super().set_stage(name)
        if name == "pretrain":  # the target follows the context by EMA only
            self.target.requires_grad_(False)
        else:  # the context encoder and predictor have no part in fine-tuning
            self.context.requires_grad_(False)
            self.predictor.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> ECGJEPA:
        super().train(mode)
        if getattr(self, "_stage", None) == "pretrain" and hasattr(self, "target"):
            self.target.eval()
        return self

    @torch.no_grad()
    def ema_update(self, momentum: float | None = None) -> None:
        """target ← m·target + (1 − m)·context."""
        m = self.config.ema_momentum if momentum is None else momentum
        for t, c in zip(self.target.parameters(), self.context.parameters()):
            t.lerp_(c.detach(), 1.0 - m)

    def on_train_batch_end(self, step: int) -> None:
        if self.stage == "pretrain":
            self.ema_update()

    # -- features -------------------------------------------------------------------------
    def set_extra_normalization(self, loc: Any, scale: Any) -> None:
        """Standardise the hybrid features as (extra − loc) / scale (ignored when none)."""
        n = self.config.hybrid_features
        if n == 0:
            return
        loc_t = torch.as_tensor(loc, dtype=torch.float32).reshape(n)
        scale_t = torch.as_tensor(scale, dtype=torch.float32).reshape(n)
        if (scale_t <= 0).any():
            raise ValueError(f"extra scale must be positive, got {scale_t.tolist()}")
        self.extra_loc.copy_(loc_t)
        self.extra_scale.copy_(scale_t)

    def _hybrid(self, extra: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        n = self.config.hybrid_features
        if extra is None or extra.ndim != 2 or extra.shape != (like.shape[0], n):
            got = "None" if extra is None else str(list(extra.shape))
            raise ValueError(
                f"ecg_jepa with hybrid_features={n} needs extra [batch, {n}] "
                f"(classical ECG features), got {got}"
            )
        z = (extra.to(like.dtype) - self.extra_loc) / self.extra_scale
        return torch.nan_to_num(z, nan=0.0)

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None
    ) -> Encoding:
        check_shape(x, self.input_shape, "ecg_jepa", "signals [batch, leads, samples]")
        z = self.target(x).mean(1)
        if self.config.hybrid_features:
            z = torch.cat([z, self._hybrid(extra, z)], dim=1)
        return Encoding(z, None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "ecg_jepa predicts in latent space and has no signal decoder (by design); "
            "use encode for embeddings"
        )

    def predict_logits(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.head(self.encode(x, extra=extra).mean)

    # -- pre-training ---------------------------------------------------------------------
    def sample_targets(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(context token indices [B, n_ctx], target token indices [B, n_tgt]), both ascending.

        Block j of size ~k/n lies at a random start inside the j-th of n equal segments of
        the time axis, so blocks never overlap and every record has the same count.
        """
        p, n, leads = self.n_patches, self.config.n_target_blocks, self.input_shape[0]
        k = min(max(n, round(self.config.target_ratio * p)), p - 1)
        t = torch.arange(p, device=device)
        time_mask = torch.zeros(batch, p, dtype=torch.bool, device=device)
        for j in range(n):
            lo, hi = j * p // n, (j + 1) * p // n
            size = max(1, min(k // n + int(j < k % n), hi - lo - 1))  # ≥ 1 context patch left
            start = lo + torch.randint(0, hi - lo - size + 1, (batch, 1), device=device)
            time_mask |= (t >= start) & (t < start + size)
        tok_mask = repeat(time_mask, "b p -> b (l p)", l=leads)
        order = torch.argsort(tok_mask.to(torch.int8), dim=1, stable=True)
        n_ctx = int((~tok_mask[0]).sum())
        return order[:, :n_ctx], order[:, n_ctx:]

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        check_shape(x, self.input_shape, "ecg_jepa", "signals [batch, leads, samples]")
        ctx_idx, tgt_idx = self.sample_targets(x.shape[0], x.device)
        with torch.no_grad():
            tgt = gather_tokens(self.target(x), tgt_idx)
            tgt = F.layer_norm(tgt, tgt.shape[-1:])
        pred = self.predictor(self.context(x, ctx_idx), ctx_idx, tgt_idx)
        jepa = F.smooth_l1_loss(pred, tgt)
        return {"jepa": jepa, "total": jepa}


@register_model(
    "ecg_jepa",
    description="ECG-JEPA (seed 004): context/EMA-target encoders, latent prediction of masked "
    "blocks; optional hybrid classical features in the embedding",
    recipe=Recipe(model={}, data={"task": SUPERCLASSES, "batch_size": 32},
                  optim={"lr": 0.0005, "max_epochs": 50, "patience": 10}, source='seed 004'),
)
def ecg_jepa(**overrides: Any) -> ECGJEPA:
    # n_outputs: one per class of the recipe's task (the trainer sets it from data.task)
    return ECGJEPA(make_config(ECGJEPAConfig, "ecg_jepa", {"n_outputs": len(SUPERCLASSES)}, overrides))
