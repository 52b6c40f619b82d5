"""Triplet fine-tuning of any registered encoder (seed 004's ``TripletModel``).

    create_model("triplet_finetune", encoder={"name": "st_mem", "dim": 64})   # by config
    create_model("triplet_finetune", encoder=pretrained_model)               # an instance
    TripletFinetune.wrap(pretrained_model, freeze_backbone=False)

The wrapped model's ``encode(x).mean`` goes through an optional linear projection
(``projection_dim``; required when the backbone is frozen, else nothing would train)
and is trained with a triplet margin loss on L2-normalised embeddings: positives share a
label with the anchor, negatives share none (multilabel ``target``; NaN counts as absent;
a record with no positive label belongs to an implicit "no label" class). Mining within
the batch: ``batch_hard`` (farthest positive, nearest negative) or ``random``.

The config keeps the wrapped model's full config (``encoder``), so ``model_from_config``
rebuilds both; ``input_shape``, ``input_array`` and ``latent_dim`` follow from it.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from .configs import ModelConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, create_model, register_model
from .staged import Stage, StagedModel, make_config, require_target

Mining = Literal["batch_hard", "random"]


class TripletConfig(ModelConfig):
    encoder: dict[str, Any] = Field(
        # one output: the wrapped model's own task head is not used by the triplet loss
        default_factory=lambda: {"name": "st_mem", "n_outputs": 1},
        description="the wrapped model's config (model_dump), including its registered 'name'",
    )
    input_array: Literal["median", "sequences", "signals"] | None = Field(
        None, description="filled from the wrapped model"
    )
    freeze_backbone: bool = True
    projection_dim: int | None = Field(64, ge=1, description="linear projection; None: none")
    margin: float = Field(0.2, gt=0)
    mining: Mining = "batch_hard"
    normalize: bool = True

    @model_validator(mode="after")
    def _trainable(self) -> TripletConfig:
        if self.freeze_backbone and self.projection_dim is None:
            raise ValueError("a frozen backbone needs a projection_dim (else nothing trains)")
        if "name" not in self.encoder:
            raise ValueError("encoder config needs the registered 'name' of the wrapped model")
        return self


def pairwise_distances(z: torch.Tensor) -> torch.Tensor:
    """Euclidean distances [B, B] with finite gradients at 0."""
    sq = z.pow(2).sum(1)
    return (sq[:, None] + sq[None] - 2 * z @ z.t()).clamp_min(1e-12).sqrt()


def triplet_loss(
    z: torch.Tensor, target: torch.Tensor, margin: float = 0.2, mining: Mining = "batch_hard"
) -> torch.Tensor:
    """Mean triplet margin loss over the anchors that have a positive and a negative."""
    y = torch.nan_to_num(target.float().reshape(z.shape[0], -1), nan=0.0) > 0.5
    y = torch.cat([y, ~y.any(1, keepdim=True)], dim=1).float()  # "no label" as its own class
    same = (y @ y.t()) > 0
    pos = same & ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    neg = ~same
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return z.sum() * 0.0
    d = pairwise_distances(z)
    if mining == "batch_hard":
        d_ap = d.masked_fill(~pos, float("-inf")).amax(1)
        d_an = d.masked_fill(~neg, float("inf")).amin(1)
    elif mining == "random":
        r = torch.rand_like(d)
        d_ap = d.gather(1, r.masked_fill(~pos, -1.0).argmax(1, keepdim=True)).squeeze(1)
        d_an = d.gather(1, r.masked_fill(~neg, -1.0).argmax(1, keepdim=True)).squeeze(1)
    else:
        raise ValueError(f"unknown mining {mining!r}; expected 'batch_hard' or 'random'")
    return F.relu(d_ap - d_an + margin)[valid].mean()


def call_encode(
    model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None
) -> Encoding:
    """``model.encode`` with ``mask`` / ``extra`` passed only where its signature takes them."""
    params = inspect.signature(model.encode).parameters
    kwargs = {k: v for k, v in (("mask", mask), ("extra", extra)) if v is not None and k in params}
    return model.encode(x, **kwargs)


class TripletFinetune(StagedModel):
    config: TripletConfig

    def __init__(self, config: TripletConfig, encoder: nn.Module) -> None:
        super().__init__(config)
        inner_array = getattr(encoder.config, "input_array", "median")
        if tuple(config.input_shape) != tuple(encoder.input_shape) or config.input_array != inner_array:
            raise ValueError(
                f"triplet_finetune config says input {config.input_array} {tuple(config.input_shape)}, "
                f"the wrapped {encoder.config.name} eats {inner_array} {tuple(encoder.input_shape)}"
            )
        self.encoder = encoder
        p = config.projection_dim
        self.projection = nn.Linear(encoder.latent_dim, p) if p else None
        if config.latent_dim != (p or encoder.latent_dim):
            raise ValueError(f"latent_dim must be {p or encoder.latent_dim}, got {config.latent_dim}")
        self._init_stage()

    @classmethod
    def wrap(cls, encoder: nn.Module, **overrides: Any) -> TripletFinetune:
        """Wrap a model instance (its weights kept)."""
        return triplet_finetune(encoder=encoder, **overrides)

    def known_stages(self) -> dict[str, Stage]:
        return {"triplet": Stage("triplet", uses_labels=True, freeze_backbone=self.config.freeze_backbone)}

    def backbone_modules(self) -> list[nn.Module]:
        return [self.encoder]

    def embed(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = call_encode(self.encoder, x, mask, extra).mean
        return z if self.projection is None else self.projection(z)

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None
    ) -> Encoding:
        return Encoding(self.embed(x, mask, extra), None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.projection is None:
            return self.encoder.decode(z)
        raise NotImplementedError("triplet_finetune with a projection has no decoder; use encode")

    def labelled_terms(
        self,
        x: torch.Tensor,
        target: torch.Tensor | None,
        extra: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        target = require_target(target, "triplet_finetune", self.stage)
        z = self.embed(x, mask, extra)
        if self.config.normalize:
            z = F.normalize(z, dim=-1)
        loss = triplet_loss(z, target, self.config.margin, self.config.mining)
        return {"triplet": loss, "total": loss}


@register_model(
    "triplet_finetune",
    description="Triplet fine-tuning (seed 004) of any registered encoder: shared-label positives, "
    "batch-hard or random mining, frozen backbone + projection or end to end",
    recipe=Recipe(model={}, data={"task": SUPERCLASSES, "batch_size": 64},
                  optim={"lr": 0.0005, "max_epochs": 30, "patience": 10}, source='seed 004'),
)
def triplet_finetune(encoder: Any = None, **overrides: Any) -> TripletFinetune:
    if isinstance(encoder, nn.Module):
        inner = encoder
    else:
        spec = dict(encoder or TripletConfig.model_fields["encoder"].get_default(call_default_factory=True))
        if "input_shape" in overrides:  # the trainer sets the data's shape on the wrapper
            spec["input_shape"] = overrides["input_shape"]
        inner = create_model(**spec)  # a partial spec is the wrapped family's recipe
    p = overrides.get("projection_dim", TripletConfig.model_fields["projection_dim"].default)
    defaults = {
        "input_shape": tuple(inner.input_shape),
        "input_array": getattr(inner.config, "input_array", "median"),
        "latent_dim": p or inner.latent_dim,
    }
    overrides = {**overrides, "encoder": inner.config.model_dump(mode="json")}
    return TripletFinetune(make_config(TripletConfig, "triplet_finetune", defaults, overrides), inner)
