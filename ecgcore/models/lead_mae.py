"""Modally reduced lead embeddings (seed 003, Ibtehaz & Mortazavi): a 1-D masked
autoencoder per lead, trained to reconstruct its lead and to align with the other leads
of the same recording.

Each lead is cut into patches; the encoder sees a random ``1 - mask_ratio`` of them and
its tokens are mean-pooled into one embedding per lead [B, L, dim]. The decoder sees only
that embedding (plus position and target-lead queries), so everything needed to redraw
a lead must pass through it; the reconstruction loss is on the masked patches (MAE).
``shared_encoder``: one encoder/decoder with a lead embedding (default), or one
encoder/decoder per lead as in the paper.

Alignment: a triplet loss on L2-normalised embeddings; every (record, lead) is an anchor,
its positive another lead of the same record, its negative a lead of another record of
the batch. Curriculum (epoch i of N = ``curriculum_epochs``, clamped at N):
``loss = sin(i/N·π/2)·L_align + max(cos(i/N·π/2), recon_floor)·(L_recon + λ·L_cross)``;
``recon_floor = 0`` and ``cross_lead_weight`` λ = 0 are the paper's loss.

Cross-lead reconstruction (``cross_lead_loss``): each lead j of a record is also redrawn
(all its patches) from the embedding of another lead of the same record, drawn at random,
so every lead's embedding must carry the whole record ("an amalgamation of the
information across channels"); without it the decoder only ever sees a lead's own
embedding, and ``reconstruct_from_lead`` asks it for something it was never trained on.

Input scale: the trainer's global-maximum scaler leaves median beats at a mean |x| of
~0.02, so squared errors are ~1e-3 against an O(1) triplet term. The model divides its
input by ``input_rms`` (a buffer, fitted once to the RMS of the first training batch, as
in data-dependent initialisation) and multiplies its output back: the losses see O(1)
targets and ``decode`` returns the trainer's units. 0 (unfitted) means 1.

Because the leads' embeddings are aligned, the decoder redraws all leads from the
embedding of any one: ``reconstruct_from_lead(x, i)``. ``encode`` is the mean of the
lead embeddings; ``decode`` draws every lead from such an embedding.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from pydantic import Field, model_validator
from torch import nn

from .configs import TransformerConfig
from .protocol import Encoding
from .registry import Recipe, register_model
from .staged import Stage, StagedModel, check_shape, make_config
from .transformer import Transformer, gather_tokens, random_keep


class LeadMAEConfig(TransformerConfig):
    input_array: Literal["median", "signals"] = Field(
        "median", description="median beats [leads, W] or 10-s signals [leads, T]"
    )
    patch_size: int = Field(20, ge=1, description="samples per patch")
    decoder_dim: int = Field(32, ge=8)
    decoder_depth: int = Field(1, ge=1)
    decoder_heads: int = Field(2, ge=1)
    mask_ratio: float = Field(0.5, ge=0, lt=1)
    shared_encoder: bool = Field(True, description="one encoder + lead embedding; False: one per lead")
    curriculum_epochs: int = Field(100, ge=1, description="N of the sin/cos curriculum")
    triplet_margin: float = Field(0.5, gt=0, description="on L2-normalised embeddings")
    recon_floor: float = Field(
        0.0, ge=0, le=1, description="lower bound of the curriculum's reconstruction weight"
    )
    cross_lead_weight: float = Field(
        0.0, ge=0, description="λ of the cross-lead reconstruction term (0: the paper's loss)"
    )

    @model_validator(mode="after")
    def _several_leads(self) -> LeadMAEConfig:
        if self.input_shape[0] < 2:
            raise ValueError(
                f"lead_mae aligns the embeddings of a record's leads and needs at least 2 input "
                f"leads, got {self.input_shape[0]}: train it on multi-lead data (data.leads: all) "
                "and redraw 12 leads from a single-lead record with reconstruct_from_lead"
            )
        return self


class LeadEncoder(nn.Module):
    """Patches of one lead [n, P, s] (+ a lead bias [n, dim]) → embedding [n, dim]."""

    def __init__(self, n_patches: int, cfg: LeadMAEConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(cfg.patch_size, cfg.dim)
        self.pos = nn.Parameter(torch.randn(n_patches, cfg.dim) * 0.02)
        self.transformer = Transformer(cfg.dim, cfg.depth, cfg.heads, cfg.mlp_ratio)

    def forward(
        self, patches: torch.Tensor, kept: torch.Tensor | None, bias: torch.Tensor | None
    ) -> torch.Tensor:
        tokens = self.proj(patches) + self.pos
        if bias is not None:
            tokens = tokens + bias[:, None]
        if kept is not None:
            tokens = gather_tokens(tokens, kept)
        return self.transformer(tokens).mean(1)


class LeadDecoder(nn.Module):
    """Embedding [n, dim] and target lead [n] → that lead's patches [n, P, s]."""

    def __init__(self, n_patches: int, n_queries: int, cfg: LeadMAEConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.pos = nn.Parameter(torch.randn(n_patches, cfg.decoder_dim) * 0.02)
        self.query = nn.Parameter(torch.randn(n_queries, cfg.decoder_dim) * 0.02)
        self.transformer = Transformer(cfg.decoder_dim, cfg.decoder_depth, cfg.decoder_heads, 2.0)
        self.out = nn.Linear(cfg.decoder_dim, cfg.patch_size)

    def forward(self, z: torch.Tensor, lead: torch.Tensor) -> torch.Tensor:
        tokens = self.proj(z)[:, None] + self.pos + self.query[lead][:, None]
        return self.out(self.transformer(tokens))


class LeadMAE(StagedModel):
    STAGES = (Stage("pretrain"),)
    config: LeadMAEConfig

    def __init__(self, config: LeadMAEConfig) -> None:
        super().__init__(config)
        leads, length = config.input_shape
        self.n_patches = math.ceil(length / config.patch_size)
        n = 1 if config.shared_encoder else leads
        self.encoders = nn.ModuleList(LeadEncoder(self.n_patches, config) for _ in range(n))
        self.decoders = nn.ModuleList(
            LeadDecoder(self.n_patches, leads if config.shared_encoder else 1, config)
            for _ in range(n)
        )
        self.lead_embedding = (
            nn.Parameter(torch.randn(leads, config.dim) * 0.02) if config.shared_encoder else None
        )
        self.register_buffer("input_rms", torch.zeros(()))  # 0: not fitted yet
        self._init_stage()

    # -- input scale ----------------------------------------------------------------------
    def _scale(self) -> torch.Tensor:
        return torch.where(self.input_rms > 0, self.input_rms, torch.ones_like(self.input_rms))

    @torch.no_grad()
    def _fit_input_rms(self, x: torch.Tensor) -> None:
        if self.training and float(self.input_rms) == 0:
            rms = x.float().pow(2).mean().sqrt()
            if rms > 0:
                self.input_rms.copy_(rms)

    # -- shapes ---------------------------------------------------------------------------
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, T] in input units → patches [B, L, P, s] in units of ``input_rms``."""
        check_shape(x, self.input_shape, "lead_mae", f"{self.config.input_array} [batch, leads, samples]")
        pad = self.n_patches * self.config.patch_size - x.shape[-1]
        x = x / self._scale()
        return rearrange(F.pad(x, (0, pad)), "b l (p s) -> b l p s", s=self.config.patch_size)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """The inverse of ``patchify``: back to input units."""
        x = rearrange(patches, "b l p s -> b l (p s)")[..., : self.input_shape[1]]
        return x * self._scale()

    # -- encoder / decoder ----------------------------------------------------------------
    def _embed(self, patches: torch.Tensor, kept: torch.Tensor | None) -> torch.Tensor:
        b = patches.shape[0]
        if self.config.shared_encoder:  # every lead of every record in one batch
            bias = repeat(self.lead_embedding, "l d -> (b l) d", b=b)
            kept_flat = None if kept is None else rearrange(kept, "b l k -> (b l) k")
            z = self.encoders[0](rearrange(patches, "b l p s -> (b l) p s"), kept_flat, bias)
            return rearrange(z, "(b l) d -> b l d", b=b)
        return torch.stack(
            [
                enc(patches[:, i], None if kept is None else kept[:, i], None)
                for i, enc in enumerate(self.encoders)
            ],
            dim=1,
        )

    def lead_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """One embedding per lead [B, L, dim] (no masking)."""
        return self._embed(self.patchify(x), None)

    def _decode_leads(self, z: torch.Tensor, leads: list[int]) -> torch.Tensor:
        """z [B, L', dim] (one embedding per target) → patches [B, L', P, s] of ``leads``."""
        b = z.shape[0]
        if self.config.shared_encoder:
            target = torch.tensor(leads, device=z.device).repeat(b)
            out = self.decoders[0](rearrange(z, "b l d -> (b l) d"), target)
            return rearrange(out, "(b l) p s -> b l p s", b=b)
        zero = torch.zeros(b, dtype=torch.long, device=z.device)
        return torch.stack([self.decoders[j](z[:, i], zero) for i, j in enumerate(leads)], 1)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        return Encoding(self.lead_embeddings(x).mean(1), None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Every lead from one embedding per record: z [B, dim] → [B, leads, samples]."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z [batch, {self.latent_dim}], got {list(z.shape)}")
        leads = self.input_shape[0]
        return self.unpatchify(self._decode_leads(repeat(z, "b d -> b l d", l=leads), list(range(leads))))

    def reconstruct_from_lead(self, x: torch.Tensor, lead_index: int) -> torch.Tensor:
        """All leads [B, leads, samples] from the embedding of lead ``lead_index`` alone."""
        return self.decode(self.lead_embeddings(x)[:, lead_index])

    def cross_lead_correlation(self, x: torch.Tensor) -> torch.Tensor:
        """Mean Pearson correlation between the lead embeddings of each record [B]."""
        e = self.lead_embeddings(x)
        e = F.normalize(e - e.mean(-1, keepdim=True), dim=-1)
        corr = e @ e.transpose(1, 2)  # [B, L, L]
        leads = corr.shape[-1]
        off = ~torch.eye(leads, dtype=torch.bool, device=corr.device)
        return corr[:, off].mean(1)

    # -- training -------------------------------------------------------------------------
    def curriculum(self, epoch: int) -> tuple[float, float]:
        """(w_align, w_recon) = (sin(i/N·π/2), max(cos(i/N·π/2), recon_floor)), i in [0, N]."""
        t = min(max(epoch, 0), self.config.curriculum_epochs) / self.config.curriculum_epochs
        return math.sin(t * math.pi / 2), max(math.cos(t * math.pi / 2), self.config.recon_floor)

    def cross_lead_loss(self, patches: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """Mean squared error of every lead j [B, L, P, s] redrawn from ``emb`` [B, L, dim] of
        a random other lead of the same record."""
        b, leads = emb.shape[:2]
        if leads < 2:
            return emb.sum() * 0.0
        source = cross_lead_sources(b, leads, emb.device)
        rows = torch.arange(b, device=emb.device)[:, None]
        rec = self._decode_leads(emb[rows, source], list(range(leads)))
        return ((rec - patches) ** 2).mean()

    def alignment_loss(self, emb: torch.Tensor) -> torch.Tensor:
        """Triplet loss over [B, L, dim]: anchor and positive from one record, negative from
        another (random positive lead, random negative record and lead)."""
        b, leads, _ = emb.shape
        if b < 2 or leads < 2:
            return emb.sum() * 0.0
        dev = emb.device
        e = F.normalize(emb, dim=-1)
        rows = torch.arange(b, device=dev)[:, None]
        pos_lead = (torch.arange(leads, device=dev) + torch.randint(1, leads, (b, leads), device=dev)) % leads
        neg_row = (rows + torch.randint(1, b, (b, leads), device=dev)) % b
        neg_lead = torch.randint(0, leads, (b, leads), device=dev)
        return F.triplet_margin_loss(
            e.flatten(0, 1),
            e[rows, pos_lead].flatten(0, 1),
            e[neg_row, neg_lead].flatten(0, 1),
            margin=self.config.triplet_margin,
        )

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        self._fit_input_rms(x)
        patches = self.patchify(x)
        b, leads, p, _ = patches.shape
        keep = max(1, round(p * (1 - self.config.mask_ratio)))
        kept, hidden = random_keep((b, leads), p, keep, x.device)
        emb = self._embed(patches, kept)
        rec = self._decode_leads(emb, list(range(leads)))
        err = ((rec - patches) ** 2).mean(-1)  # [B, L, P]
        recon = err[hidden].mean() if hidden.any() else err.mean()
        align = self.alignment_loss(emb)
        w_align, w_recon = self.curriculum(epoch)
        terms = {"recon": recon, "align": align}
        rebuild = recon
        if self.config.cross_lead_weight > 0:
            terms["cross"] = self.cross_lead_loss(patches, emb)
            rebuild = recon + self.config.cross_lead_weight * terms["cross"]
        total = w_align * align + w_recon * rebuild
        return {
            **terms,
            "w_align": recon.new_tensor(w_align),
            "w_recon": recon.new_tensor(w_recon),
            "total": total,
        }


def cross_lead_sources(batch: int, leads: int, device: torch.device) -> torch.Tensor:
    """[batch, leads]: for each target lead j, a source lead drawn uniformly among the others."""
    shift = torch.randint(1, leads, (batch, leads), device=device)
    return (torch.arange(leads, device=device) + shift) % leads


@register_model(
    "lead_mae",
    description="Lead MAE (seed 003): per-lead 1-D masked autoencoder + triplet lead alignment, "
    "sin/cos curriculum; any lead redraws all 12",
    recipe=Recipe(model={"cross_lead_weight": 1.0, "recon_floor": 0.5}, data={"window": "r400", "batch_size": 64},
                  optim={"lr": 0.001, "max_epochs": 100, "patience": 25}, source='seed 003; docs/BENCHMARKS.md, Lead MAE'),
)
def lead_mae(**overrides: Any) -> LeadMAE:
    return LeadMAE(make_config(LeadMAEConfig, "lead_mae", {}, overrides))
