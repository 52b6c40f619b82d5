"""A drop-in vector quantiser, after lucidrains' vector-quantize-pytorch:

    vq = VectorQuantize(dim=16, codebook_size=64)
    quantized, indices, loss = vq(x)          # x [..., dim] → [..., dim], [...], scalar

- nearest code (Euclidean), straight-through gradients to ``x``;
- ``loss`` = commitment_weight · ‖x − sg(q)‖² (the codebook learns by EMA, not by loss);
- EMA codebook: cluster sizes and sums decay by ``decay``; code = sum / size (Laplace
  smoothed so an empty cluster does not divide by zero);
- k-means initialisation on the first training batch (``kmeans_init``);
- dead-code restart, in the training forward: a code unused for ``dead_code_steps``
  consecutive training batches is replaced by a random encoder output of the current
  batch (``restart_dead_codes`` does it on demand). 0 turns restarts off.
- usage since the last ``usage_metrics()`` call (training batches only): perplexity
  exp(H(p)) of the code frequencies and the fraction of codes used.

All state lives in buffers (safetensors-friendly). With DDP, each process updates its own
EMA statistics from its own batch (no all-reduce); buffers are synced from rank 0 only
by DDP's broadcast_buffers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def kmeans(x: torch.Tensor, k: int, iters: int = 10) -> torch.Tensor:
    """Lloyd k-means on [n, d] → centres [k, d], seeded by k-means++ (with fewer distinct
    points than codes, some centres repeat)."""
    n = x.shape[0]
    pick = [int(torch.randint(0, n, ()))]
    d2 = (x - x[pick[0]]).pow(2).sum(1)
    for _ in range(k - 1):  # each next centre drawn with probability ∝ squared distance
        total = float(d2.sum())
        i = int(torch.multinomial(d2 / total, 1)) if total > 0 else int(torch.randint(0, n, ()))
        pick.append(i)
        d2 = torch.minimum(d2, (x - x[i]).pow(2).sum(1))
    centres = x[torch.tensor(pick, device=x.device)].clone()
    for _ in range(iters):
        idx = torch.cdist(x, centres).argmin(1)
        counts = torch.bincount(idx, minlength=k).to(x.dtype)
        sums = torch.zeros_like(centres).index_add_(0, idx, x)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
    return centres


class VectorQuantize(nn.Module):
    def __init__(
        self,
        dim: int,
        codebook_size: int,
        *,
        decay: float = 0.99,
        commitment_weight: float = 0.25,
        kmeans_init: bool = True,
        kmeans_iters: int = 10,
        dead_code_steps: int = 50,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.dim, self.codebook_size = dim, codebook_size
        self.decay, self.commitment_weight, self.eps = decay, commitment_weight, eps
        self.kmeans_iters, self.dead_code_steps = kmeans_iters, dead_code_steps
        embed = torch.randn(codebook_size, dim)
        self.register_buffer("embed", embed)
        self.register_buffer("embed_avg", embed.clone())
        self.register_buffer("cluster_size", torch.ones(codebook_size))
        self.register_buffer("initted", torch.tensor(not kmeans_init))
        self.register_buffer("steps_unused", torch.zeros(codebook_size, dtype=torch.long))
        self.register_buffer("usage", torch.zeros(codebook_size), persistent=False)

    @property
    def codebook(self) -> torch.Tensor:
        return self.embed

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.shape[-1] != self.dim:
            raise ValueError(f"quantiser expects [..., {self.dim}], got {list(x.shape)}")
        with torch.autocast(x.device.type, enabled=False):  # distances and EMA in float32
            flat = x.reshape(-1, self.dim).float()
            if self.training and not bool(self.initted):
                self.init_codebook(flat.detach())
            idx = self.nearest(flat)
            q = F.embedding(idx, self.embed)
            if self.training:
                self._update(flat.detach(), idx)
            loss = self.commitment_weight * F.mse_loss(flat, q.detach())
            q = flat + (q - flat).detach()  # straight-through estimator
        return q.reshape(x.shape).to(x.dtype), idx.reshape(x.shape[:-1]), loss

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        flat, e = flat.float(), self.embed
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        return dist.argmin(1)

    def decode_indices(self, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, self.embed)

    # -- codebook maintenance -------------------------------------------------------------
    @torch.no_grad()
    def init_codebook(self, flat: torch.Tensor) -> None:
        centres = kmeans(flat, self.codebook_size, self.kmeans_iters)
        self.embed.copy_(centres)
        self.embed_avg.copy_(centres)
        self.cluster_size.fill_(1.0)
        self.initted.fill_(True)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, idx: torch.Tensor) -> None:
        counts = torch.bincount(idx, minlength=self.codebook_size).float()
        sums = torch.zeros_like(self.embed_avg).index_add_(0, idx, flat)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + self.eps) / (n + self.codebook_size * self.eps) * n
        self.embed.copy_(self.embed_avg / size[:, None])
        self.usage.add_(counts)
        self.steps_unused.add_(1).masked_fill_(counts > 0, 0)
        if self.dead_code_steps > 0:
            self.restart_dead_codes(flat)

    @torch.no_grad()
    def restart_dead_codes(self, flat: torch.Tensor, dead: torch.Tensor | None = None) -> int:
        """Replace dead codes (default: unused for ``dead_code_steps`` batches) by random
        rows of ``flat`` [n, dim]; returns how many were restarted."""
        if dead is None:
            dead = self.steps_unused >= max(self.dead_code_steps, 1)
        n_dead = int(dead.sum())
        if n_dead == 0:
            return 0
        new = flat[torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)].to(self.embed.dtype)
        self.embed[dead] = new
        self.embed_avg[dead] = new
        self.cluster_size[dead] = 1.0
        self.steps_unused[dead] = 0
        return n_dead

    def usage_metrics(self, reset: bool = True) -> dict[str, float]:
        """{"perplexity", "codes_used"} over the training batches since the last reset."""
        total = float(self.usage.sum())
        if total == 0:
            return {}
        p = self.usage / total
        entropy = -(p[p > 0] * p[p > 0].log()).sum()
        out = {"perplexity": float(entropy.exp()), "codes_used": float((self.usage > 0).float().mean())}
        if reset:
            self.usage.zero_()
        return out
