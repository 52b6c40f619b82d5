"""The convolutional backbone of seed 000 (ECG latent feature extraction, Kors XYZ leads).

Encoder: 4 convolutions with 256, 256, 512, 512 filters, kernel 9, stride 2, each followed
by tanh then batch norm; flattened, then a fully connected layer (``fc_hidden`` units, tanh,
dropout 0.25). The latent heads (``mean``/``logvar``, owned by the autoencoder) are the
second fully connected layer. Decoder mirrors it: latent → ``fc_hidden`` (tanh, dropout) →
flattened feature map (tanh) → 4 transposed convolutions 512→512→256→256→leads (stride 2,
the last one linear), cropped to the input length.

The paper's L2 of 0.01 on the fully connected layers is ``fc_weight_decay`` (default 0.01),
applied through ``VAE.parameter_groups``. ``fc_hidden`` is not given in the paper; 256 puts
the model at about 14.6 M parameters on 3 × 375 with latent 30.
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange
from pydantic import Field, field_validator
from torch import nn

from .base import (
    BackboneConfig,
    check_input,
    conv_out_len,
    crop_or_pad,
    odd_kernel,
    register_backbone,
    scaled,
)

CHANNELS = (256, 256, 512, 512)


class Kors000Config(BackboneConfig):
    kind: Literal["kors000"] = "kors000"
    kernel_size: int = Field(9, ge=1)
    stride: int = Field(2, ge=1)
    fc_hidden: int = Field(256, ge=1)
    dropout: float = Field(0.25, ge=0, lt=1)
    fc_weight_decay: float = Field(0.01, ge=0)

    _odd = field_validator("kernel_size")(odd_kernel)


def _down(c_in: int, c_out: int, k: int, s: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, k, stride=s, padding=k // 2), nn.Tanh(), nn.BatchNorm1d(c_out)
    )


def _up(c_in: int, c_out: int, k: int, s: int, last: bool) -> nn.Sequential:
    conv = nn.ConvTranspose1d(c_in, c_out, k, stride=s, padding=k // 2, output_padding=s - 1)
    return nn.Sequential(conv) if last else nn.Sequential(conv, nn.Tanh(), nn.BatchNorm1d(c_out))


class Kors000Encoder(nn.Module):
    def __init__(self, cfg: Kors000Config, input_shape: tuple[int, int]) -> None:
        super().__init__()
        self.input_shape = input_shape
        leads, length = input_shape
        k, s = cfg.kernel_size, cfg.stride
        chans = [scaled(c, cfg.width) for c in CHANNELS]
        layers = []
        for c_in, c_out in zip([leads, *chans[:-1]], chans):
            layers.append(_down(c_in, c_out, k, s))
            length = conv_out_len(length, k, s, k // 2)
        self.conv = nn.Sequential(*layers)
        self.feature_shape = (chans[-1], length)
        hidden = scaled(cfg.fc_hidden, cfg.width)
        self.fc = nn.Sequential(
            nn.Linear(chans[-1] * length, hidden), nn.Tanh(), nn.Dropout(cfg.dropout)
        )
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.input_shape, "kors000 encoder")
        return self.fc(rearrange(self.conv(x), "b c t -> b (c t)"))


class Kors000Decoder(nn.Module):
    def __init__(
        self,
        cfg: Kors000Config,
        input_shape: tuple[int, int],
        latent_dim: int,
        feature_shape: tuple[int, int],
    ) -> None:
        super().__init__()
        self.input_shape = input_shape
        self.feature_shape = feature_shape
        k, s = cfg.kernel_size, cfg.stride
        hidden = scaled(cfg.fc_hidden, cfg.width)
        c, t = feature_shape
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.Tanh(),
            nn.Dropout(cfg.dropout),
            nn.Linear(hidden, c * t),
            nn.Tanh(),
        )
        chans = [scaled(ch, cfg.width) for ch in CHANNELS][::-1]  # 512, 512, 256, 256
        outs = [*chans[1:], input_shape[0]]
        self.deconv = nn.Sequential(
            *[
                _up(c_in, c_out, k, s, last=(i == len(chans) - 1))
                for i, (c_in, c_out) in enumerate(zip(chans, outs))
            ]
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c, t = self.feature_shape
        h = rearrange(self.fc(z), "b (c t) -> b c t", c=c, t=t)
        return crop_or_pad(self.deconv(h), self.input_shape[1])


@register_backbone("kors000", Kors000Config)
def build_kors000(cfg: Kors000Config, input_shape: tuple[int, int], latent_dim: int):
    enc = Kors000Encoder(cfg, input_shape)
    return enc, Kors000Decoder(cfg, input_shape, latent_dim, enc.feature_shape)
