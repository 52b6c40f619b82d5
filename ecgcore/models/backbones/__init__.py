"""Composable encoder/decoder pairs. ``BackboneSpec`` is the typed union the configs use."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .base import (
    BackboneConfig,
    build_backbone,
    crop_or_pad,
    he_init,
    list_backbones,
    register_backbone,
)
from .factorecg import FactorECGConfig
from .kors000 import Kors000Config
from .small import SmallConfig

BackboneSpec = Annotated[SmallConfig | Kors000Config | FactorECGConfig, Field(discriminator="kind")]

__all__ = [
    "BackboneConfig",
    "BackboneSpec",
    "FactorECGConfig",
    "Kors000Config",
    "SmallConfig",
    "build_backbone",
    "crop_or_pad",
    "he_init",
    "list_backbones",
    "register_backbone",
]
