"""Supervised baseline: a 1-D xresnet (as in Strodthoff et al.'s PTB-XL benchmark) on raw
10-s 12-lead signals, multilabel.

Stem of three convolutions (the first strided) and a max-pool; four stages of basic
residual blocks (channels width·1, 2, 4, 8; strides 1, 2, 2, 2) with the xresnet tricks:
the last batch norm of each block starts at zero, and a downsampling shortcut averages
before its 1×1 convolution. Head: adaptive concat pooling (max ‖ mean over time),
batch norm, dropout, linear → ``n_outputs`` logits (BCE, NaN targets ignored).

``encode`` returns the concat-pooled features [B, 16·width] so the model plugs into the
downstream evaluation; there is no decoder. Any signal length works.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field, model_validator
from torch import nn

from .configs import ModelConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, register_model
from .staged import Stage, StagedModel, check_shape, derived_latent_dim, make_config


class CNNBaselineConfig(ModelConfig):
    input_array: ClassVar[str] = "signals"

    input_shape: tuple[int, int] = Field((12, 5000), description="(leads, samples); any length runs")
    width: int = Field(16, ge=1, description="channels of the first stage (64 in xresnet1d)")
    layers: tuple[int, int, int, int] = Field((1, 1, 1, 1), description="blocks per stage")
    kernel_size: int = Field(5, ge=1)
    dropout: float = Field(0.25, ge=0, lt=1)
    n_outputs: int = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _latent(cls, data: Any) -> Any:
        return derived_latent_dim(cls, data, lambda f: 2 * 8 * f["width"])


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, act: bool = True, zero: bool = False) -> nn.Sequential:
    bn = nn.BatchNorm1d(c_out)
    nn.init.constant_(bn.weight, 0.0 if zero else 1.0)
    layers: list[nn.Module] = [nn.Conv1d(c_in, c_out, k, stride, k // 2, bias=False), bn]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(c_in, c_out, k, stride), conv_bn(c_out, c_out, k, act=False, zero=True)
        )
        short: list[nn.Module] = []
        if stride != 1:
            short.append(nn.AvgPool1d(stride, ceil_mode=True))
        if c_in != c_out:
            short.append(conv_bn(c_in, c_out, 1, act=False))
        self.shortcut = nn.Sequential(*short)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ConcatPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.amax(-1), x.mean(-1)], dim=1)


class CNNBaseline(StagedModel):
    STAGES = (Stage("supervised", uses_labels=True),)
    config: CNNBaselineConfig

    def __init__(self, config: CNNBaselineConfig) -> None:
        super().__init__(config)
        w, k = config.width, config.kernel_size
        stem = [max(1, w // 2), max(1, w // 2), w]
        self.stem = nn.Sequential(
            conv_bn(config.input_shape[0], stem[0], k, stride=2),
            conv_bn(stem[0], stem[1], k),
            conv_bn(stem[1], stem[2], k),
            nn.MaxPool1d(3, 2, 1),
        )
        blocks: list[nn.Module] = []
        c_in = w
        for i, n in enumerate(config.layers):
            c_out = w * 2**i
            for j in range(n):
                blocks.append(ResBlock(c_in, c_out, k, 2 if (i > 0 and j == 0) else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.pool = ConcatPool()
        self.head = nn.Sequential(
            nn.BatchNorm1d(2 * c_in), nn.Dropout(config.dropout), nn.Linear(2 * c_in, config.n_outputs)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        self._init_stage()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, (self.input_shape[0], -1), "cnn_baseline", "signals [batch, leads, samples]")
        return self.pool(self.blocks(self.stem(x)))

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        return Encoding(self.features(x), None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("cnn_baseline is a supervised classifier with no decoder; use encode")

    def predict_logits(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.head(self.features(x))

    def backbone_modules(self) -> list[nn.Module]:
        return [self.stem, self.blocks]


@register_model(
    "cnn_baseline",
    description="Supervised 1-D xresnet on raw 10-s signals (stem of 3 convs, 4 residual stages, "
    "concat pooling), multilabel BCE",
    recipe=Recipe(model={}, data={"task": SUPERCLASSES, "batch_size": 32},
                  optim={"lr": 0.001, "max_epochs": 50, "patience": 10}, source='seed 000/002 supervised comparator'),
)
def cnn_baseline(**overrides: Any) -> CNNBaseline:
    # n_outputs: one per class of the recipe's task (the trainer sets it from data.task)
    return CNNBaseline(make_config(CNNBaselineConfig, "cnn_baseline", {"n_outputs": len(SUPERCLASSES)}, overrides))
