"""Transformer pieces shared by ecg_sl, lead_mae, st_mem and ecg_jepa.

- ``Transformer``: a pre-norm encoder stack (torch's layer) with a final LayerNorm;
  ``pad`` is a key-padding mask, True where a position is padding.
- ``sinusoidal(n, dim)``: the fixed positional table of Vaswani et al. (any length).
- ``AttentionPool``: additive attention over a masked sequence → (pooled, weights); the
  weights are 0 on padding and sum to 1 over the real positions.
- ``LeadPatches``: signals [B, L, T] → patch tokens [B, L, P, dim] with learned position
  and lead embeddings; T is zero-padded at the end to a whole number of patches.
- ``random_keep``: per-row random subsets of equal size, for MAE-style masking.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from .backbones import crop_or_pad


class Transformer(nn.Module):
    def __init__(
        self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        layer = nn.TransformerEncoderLayer(
            dim, heads, int(dim * mlp_ratio), dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )
        self.layers = nn.TransformerEncoder(
            layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(x, src_key_padding_mask=pad)


def sinusoidal(n: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """[n, dim] sin/cos positional encodings."""
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(n, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class AttentionPool(nn.Module):
    """score_i = v·tanh(W h_i); weights = softmax over real positions; pooled = Σ w_i h_i."""

    def __init__(self, dim: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.score(h).squeeze(-1)  # [B, N]
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
            h = h.masked_fill(~mask[..., None], 0.0)  # 0 · (anything) stays 0
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("bn,bnd->bd", weights, h), weights


class LeadPatches(nn.Module):
    """Linear patch embedding per lead plus learned position and lead embeddings."""

    def __init__(self, leads: int, length: int, patch: int, dim: int) -> None:
        super().__init__()
        self.leads, self.length, self.patch = leads, length, patch
        self.n_patches = math.ceil(length / patch)
        self.proj = nn.Linear(patch, dim)
        self.pos = nn.Parameter(torch.randn(self.n_patches, dim) * 0.02)
        self.lead = nn.Parameter(torch.randn(leads, dim) * 0.02)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """[B, L, T] → [B, L, P, patch] (zero-padded at the end)."""
        x = crop_or_pad(x, self.n_patches * self.patch)
        return rearrange(x, "b l (p s) -> b l p s", s=self.patch)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """[B, L, P, patch] → [B, L, T] (the padding cropped)."""
        return crop_or_pad(rearrange(patches, "b l p s -> b l (p s)"), self.length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.proj(self.patchify(x))  # [B, L, P, dim]
        return tokens + self.pos[None, None] + self.lead[None, :, None]


def random_keep(
    shape: tuple[int, ...], n: int, keep: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of ``shape`` rows of ``n`` positions, keep ``keep`` at random.

    Returns (kept indices [*shape, keep] ascending, masked [*shape, n] True = dropped).
    """
    order = torch.rand(*shape, n, device=device).argsort(dim=-1)
    kept = order[..., :keep].sort(dim=-1).values
    masked = torch.ones(*shape, n, dtype=torch.bool, device=device)
    masked.scatter_(-1, kept, False)
    return kept, masked


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x [..., N, D], idx [..., K] → [..., K, D]."""
    return torch.gather(x, -2, idx[..., None].expand(*idx.shape, x.shape[-1]))
