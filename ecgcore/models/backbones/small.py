"""The small convolutional VAE backbone of van der Valk et al. (seed 001, §2.3).

Seven convolutional layers per side with channels 8, 16, 32, 64, 64, 64, 64 and kernel 5,
the last three residual; about 0.25 M parameters on 12 leads × 400 samples with latent 10.

Encoder: conv(leads→8) · conv(8→16, /2) · conv(16→32, /2) · conv(32→64, /2) · 3 × residual
conv(64→64); flattened to ``64·ceil(T/8)`` features (the bottleneck follows the input
length). Decoder mirrors it: linear → 3 × residual → 3 transposed convs (×2 each) →
conv(8→leads), then cropped/padded to the exact input length. ``linear_skip`` adds a
linear map from z straight to the output, ``linear_encoder`` appends the flattened input
to the encoder's features so that z has a linear path from x (both off in seed 001; with
both on, the network contains PCA's linear encoder and decoder and the convolutions add
what a linear map cannot express).
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange
from pydantic import Field, field_validator
from torch import nn

from .base import (
    BackboneConfig,
    Norm1d,
    check_input,
    conv_out_len,
    crop_or_pad,
    odd_kernel,
    register_backbone,
    scaled,
)

CHANNELS = (8, 16, 32, 64)  # then three residual 64-channel layers
STRIDES = (1, 2, 2, 2)


class SmallConfig(BackboneConfig):
    kind: Literal["small"] = "small"
    kernel_size: int = Field(5, ge=1, description="odd")
    n_residual: int = Field(3, ge=0)
    norm: Literal["batch", "instance", "none"] = "batch"
    negative_slope: float = 0.01
    linear_skip: bool = Field(
        False, description="add a linear map z → output to the decoder: the decoder then "
        "contains PCA's linear decoder, and the convolutions learn what it cannot express")
    linear_encoder: bool = Field(
        False, description="append the flattened input to the encoder's features: the latent "
        "heads then see x itself, a linear x → z path beside the convolutions")

    _odd = field_validator("kernel_size")(odd_kernel)


def _block(
    c_in: int, c_out: int, k: int, stride: int, norm: str, slope: float, transpose: bool = False
) -> nn.Sequential:
    if transpose:  # exact ×stride upsampling: L_out = L_in * stride for odd k, pad k//2
        conv: nn.Module = nn.ConvTranspose1d(
            c_in, c_out, k, stride=stride, padding=k // 2, output_padding=stride - 1
        )
    else:
        conv = nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2)
    return nn.Sequential(conv, Norm1d(norm, c_out), nn.LeakyReLU(slope))


class Residual(nn.Module):
    """``x + act(norm(conv(x)))`` at constant length and width."""

    def __init__(self, channels: int, k: int, norm: str, slope: float) -> None:
        super().__init__()
        self.body = _block(channels, channels, k, 1, norm, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SmallEncoder(nn.Module):
    def __init__(self, cfg: SmallConfig, input_shape: tuple[int, int]) -> None:
        super().__init__()
        self.input_shape = input_shape
        leads, length = input_shape
        k, w = cfg.kernel_size, cfg.width
        chans = [scaled(c, w) for c in CHANNELS]
        layers: list[nn.Module] = []
        c_in = leads
        for c, s in zip(chans, STRIDES):
            layers.append(_block(c_in, c, k, s, cfg.norm, cfg.negative_slope))
            length = conv_out_len(length, k, s, k // 2)
            c_in = c
        layers += [Residual(c_in, k, cfg.norm, cfg.negative_slope) for _ in range(cfg.n_residual)]
        self.net = nn.Sequential(*layers)
        self.feature_shape = (c_in, length)  # the decoder starts from this shape
        self.linear = cfg.linear_encoder
        self.out_features = c_in * length + (leads * input_shape[1] if self.linear else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.input_shape, "small encoder")
        h = rearrange(self.net(x), "b c t -> b (c t)")
        return torch.cat([h, x.flatten(1)], dim=1) if self.linear else h


class SmallDecoder(nn.Module):
    def __init__(
        self,
        cfg: SmallConfig,
        input_shape: tuple[int, int],
        latent_dim: int,
        feature_shape: tuple[int, int],
    ) -> None:
        super().__init__()
        self.input_shape = input_shape
        k, w, slope = cfg.kernel_size, cfg.width, cfg.negative_slope
        chans = [scaled(c, w) for c in CHANNELS]
        self.feature_shape = feature_shape
        self.fc = nn.Linear(latent_dim, feature_shape[0] * feature_shape[1])
        layers: list[nn.Module] = [
            Residual(chans[-1], k, cfg.norm, slope) for _ in range(cfg.n_residual)
        ]
        # mirror of the strided encoder layers: 64→32→16→8, each ×2 in time
        for c_in, c_out, s in zip(chans[::-1][:-1], chans[::-1][1:], STRIDES[::-1][:-1]):
            layers.append(_block(c_in, c_out, k, s, cfg.norm, slope, transpose=True))
        layers.append(nn.Conv1d(chans[0], input_shape[0], k, padding=k // 2))  # linear output
        self.net = nn.Sequential(*layers)
        leads, length = input_shape
        self.skip = nn.Linear(latent_dim, leads * length) if cfg.linear_skip else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c, t = self.feature_shape
        h = rearrange(self.fc(z), "b (c t) -> b c t", c=c, t=t)
        x_hat = crop_or_pad(self.net(h), self.input_shape[1])
        if self.skip is not None:
            x_hat = x_hat + rearrange(self.skip(z), "b (l t) -> b l t", l=self.input_shape[0])
        return x_hat


@register_backbone("small", SmallConfig)
def build_small(cfg: SmallConfig, input_shape: tuple[int, int], latent_dim: int):
    enc = SmallEncoder(cfg, input_shape)
    return enc, SmallDecoder(cfg, input_shape, latent_dim, enc.feature_shape)
