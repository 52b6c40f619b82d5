"""Freezing a model's backbone while its head trains (two-step fine-tuning)."""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn


class FreezableBackbone:
    """Mixin for an ``nn.Module``: ``backbone_modules()`` names the parts that
    ``freeze_backbone`` fixes; the rest (the head) keeps training.

    Frozen parts stay in eval mode even when the model trains, so dropout is off and batch
    norm statistics do not drift while only the head learns.
    """

    _backbone_frozen: bool = False

    def backbone_modules(self) -> list[nn.Module]:
        return []

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        for m in self.backbone_modules():
            yield from m.parameters()

    @property
    def backbone_frozen(self) -> bool:
        return self._backbone_frozen

    def freeze_backbone(self) -> None:
        for p in self.backbone_parameters():
            p.requires_grad_(False)
        self._backbone_frozen = True
        self.train(self.training)

    def unfreeze_backbone(self) -> None:
        for p in self.backbone_parameters():
            p.requires_grad_(True)
        self._backbone_frozen = False
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)  # type: ignore[misc]
        if self._backbone_frozen:
            for m in self.backbone_modules():
                m.eval()
        return self
