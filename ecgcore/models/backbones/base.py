"""What every backbone shares: its config base, the builder registry, shape helpers, He init.

A backbone is a pair of modules:

- an encoder ``[B, leads, samples] -> [B, out_features]`` (features before the latent heads;
  the autoencoder owns the ``mean`` / ``logvar`` projections), exposing ``out_features``;
- a decoder ``[B, latent_dim] -> [B, leads, samples]`` whose output is cropped or padded to
  the exact input length.

Convolutions are 1-D over time with the leads as input channels. The papers' "2-D"
convolutions use a kernel of 1 across leads, i.e. the same temporal filter shared by every
lead; mixing leads from the first layer is the more common choice for 1-D ECG nets and
keeps the parameter counts in the ranges the papers report.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn


class BackboneConfig(BaseModel):
    """Fields common to every backbone. ``width`` multiplies every channel count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    width: float = Field(1.0, gt=0, description="channel multiplier")
    fc_weight_decay: float = Field(
        0.0,
        ge=0,
        description="L2 coefficient (Keras-style, lambda * ||W||^2) on fully connected weights; "
        "applied through VAE.parameter_groups",
    )


Builder = Callable[[BackboneConfig, tuple[int, int], int], tuple[nn.Module, nn.Module]]
_BACKBONES: dict[str, tuple[type[BackboneConfig], Builder]] = {}


def register_backbone(kind: str, config_cls: type[BackboneConfig]) -> Callable[[Builder], Builder]:
    """Register ``builder(config, input_shape, latent_dim) -> (encoder, decoder)`` for ``kind``."""

    def deco(builder: Builder) -> Builder:
        if kind in _BACKBONES:
            raise ValueError(f"backbone {kind!r} is already registered")
        _BACKBONES[kind] = (config_cls, builder)
        return builder

    return deco


def list_backbones() -> list[str]:
    return sorted(_BACKBONES)


def build_backbone(
    config: BackboneConfig, input_shape: tuple[int, int], latent_dim: int
) -> tuple[nn.Module, nn.Module]:
    """The (encoder, decoder) pair described by ``config``, He-initialised."""
    try:
        _, builder = _BACKBONES[config.kind]
    except KeyError:
        raise KeyError(
            f"unknown backbone {config.kind!r}; known: {', '.join(list_backbones())}"
        ) from None
    encoder, decoder = builder(config, tuple(input_shape), int(latent_dim))
    he_init(encoder)
    he_init(decoder)
    return encoder, decoder


def odd_kernel(k: int) -> int:
    """Validator: 'same' padding (k // 2) keeps lengths exact only for odd kernels."""
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {k}")
    return k


def scaled(channels: int, width: float) -> int:
    """``channels * width``, at least 1."""
    return max(1, round(channels * width))


def conv_out_len(length: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def crop_or_pad(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop (from the end) or zero-pad (at the end) the last axis to ``length``."""
    t = x.shape[-1]
    if t > length:
        return x[..., :length]
    if t < length:
        return F.pad(x, (0, length - t))
    return x


def he_init(module: nn.Module, negative_slope: float = 0.01) -> None:
    """Kaiming-normal weights (fan-in) and zero biases for every conv and linear layer."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=negative_slope, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def check_input(x: torch.Tensor, input_shape: tuple[int, int], who: str) -> None:
    """Raise a clear error unless ``x`` is ``[B, leads, samples]`` matching ``input_shape``."""
    if x.ndim != 3 or tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"{who} expects input [batch, {input_shape[0]}, {input_shape[1]}] "
            f"(leads, samples), got {list(x.shape)}"
        )


class Norm1d(nn.Module):
    """Batch norm (default), instance norm, or nothing, chosen by name."""

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        factories: dict[str, Callable[[], nn.Module]] = {
            "batch": lambda: nn.BatchNorm1d(channels),
            "instance": lambda: nn.InstanceNorm1d(channels, affine=True),
            "none": nn.Identity,
        }
        if kind not in factories:
            raise ValueError(f"unknown norm {kind!r}; expected one of {sorted(factories)}")
        self.norm = factories[kind]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)
