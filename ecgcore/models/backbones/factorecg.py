"""A FactorECG-style backbone (van de Leur et al. 2022; the large VAE of seed 001).

Dilated causal convolutions after Franceschi et al. (2019): residual blocks of two causal
convolutions (left padding ``(k-1)·d``, leaky ReLU) with dilation doubling per block.

Encoder: causal CNN (leads → ``channels``, ``depth`` blocks with dilation 1, 2, …,
2^(depth-1), then a block to ``reduced`` channels at dilation 2^depth) → global max pool
over time → ``reduced`` features. Decoder: latent → ``reduced`` → ``reduced × T`` (a
learned feature map at full length) → causal CNN with dilations in reverse → leads, then
an optional dense output layer over the flattened ``leads × T`` signal (``output_dense``),
as in FactorECG. That dense layer holds most of the parameters (23 M on 12 × 400).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from pydantic import Field
from torch import nn

from .base import BackboneConfig, check_input, register_backbone, scaled


class FactorECGConfig(BackboneConfig):
    kind: Literal["factorecg"] = "factorecg"
    channels: int = Field(128, ge=1)
    reduced: int = Field(64, ge=1, description="channels after the causal CNN")
    depth: int = Field(7, ge=1)
    kernel_size: int = Field(5, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    output_dense: bool = True
    negative_slope: float = 0.01


class CausalConv1d(nn.Conv1d):
    """Conv1d that sees only the present and the past: pads ``(k-1)·dilation`` on the left."""

    def __init__(self, c_in: int, c_out: int, k: int, dilation: int) -> None:
        super().__init__(c_in, c_out, k, dilation=dilation)
        self.left = (k - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))


class CausalBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, dilation: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            CausalConv1d(c_in, c_out, k, dilation),
            nn.LeakyReLU(slope),
            CausalConv1d(c_out, c_out, k, dilation),
            nn.LeakyReLU(slope),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def causal_cnn(
    c_in: int, channels: int, c_out: int, depth: int, k: int, slope: float, reverse: bool = False
) -> nn.Sequential:
    dilations = [2**i for i in range(depth + 1)]
    if reverse:
        dilations = dilations[::-1]
    ins = [c_in] + [channels] * depth
    outs = [channels] * depth + [c_out]
    return nn.Sequential(*[CausalBlock(i, o, k, d, slope) for i, o, d in zip(ins, outs, dilations)])


class FactorECGEncoder(nn.Module):
    def __init__(self, cfg: FactorECGConfig, input_shape: tuple[int, int]) -> None:
        super().__init__()
        self.input_shape = input_shape
        ch, red = scaled(cfg.channels, cfg.width), scaled(cfg.reduced, cfg.width)
        self.cnn = causal_cnn(
            input_shape[0], ch, red, cfg.depth, cfg.kernel_size, cfg.negative_slope
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.out_features = red

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.input_shape, "factorecg encoder")
        return self.dropout(self.cnn(x).amax(dim=-1))  # global max pool over time


class FactorECGDecoder(nn.Module):
    def __init__(self, cfg: FactorECGConfig, input_shape: tuple[int, int], latent_dim: int) -> None:
        super().__init__()
        self.input_shape = input_shape
        leads, length = input_shape
        ch, red = scaled(cfg.channels, cfg.width), scaled(cfg.reduced, cfg.width)
        self.reduced = red
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, red),
            nn.LeakyReLU(cfg.negative_slope),
            nn.Linear(red, red * length),
            nn.LeakyReLU(cfg.negative_slope),
        )
        self.cnn = causal_cnn(
            red, ch, leads, cfg.depth, cfg.kernel_size, cfg.negative_slope, reverse=True
        )
        self.dense = nn.Linear(leads * length, leads * length) if cfg.output_dense else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = rearrange(self.fc(z), "b (c t) -> b c t", c=self.reduced)
        x = self.cnn(h)  # already the exact input length: causal convs keep length
        if self.dense is not None:
            leads = x.shape[1]
            x = rearrange(self.dense(rearrange(x, "b l t -> b (l t)")), "b (l t) -> b l t", l=leads)
        return x


@register_backbone("factorecg", FactorECGConfig)
def build_factorecg(cfg: FactorECGConfig, input_shape: tuple[int, int], latent_dim: int):
    return FactorECGEncoder(cfg, input_shape), FactorECGDecoder(cfg, input_shape, latent_dim)
