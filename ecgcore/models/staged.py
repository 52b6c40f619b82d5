"""What the sequence, self-supervised and supervised families share (ecg_sl, lead_mae,
st_mem, ecg_jepa, vq_vae, triplet_finetune, cnn_baseline).

- ``StagedModel``: the trainer's hooks. ``STAGES`` lists every stage a family knows
  ({"name", "uses_labels", "freeze_backbone"}, and "balanced_sampling" when a family sets
  it); ``default_stages()`` is the run a trainer does when its config names none;
  ``set_stage(name)`` switches what ``loss`` computes and applies the stage's default
  freezing (a trainer may then call ``freeze_backbone`` / ``unfreeze_backbone`` to
  override it). Frozen parts stay in eval mode (no dropout, no
  batch-norm statistic updates), as in ``TaskVAE``.
- ``derived_latent_dim``: configs whose ``latent_dim`` follows from other fields (a
  transformer's width) fill it in and refuse a contradicting value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn

from .freezing import FreezableBackbone
from .protocol import Encoding


@dataclass(frozen=True)
class Stage:
    name: str
    uses_labels: bool = False
    freeze_backbone: bool = False
    #: None: the trainer's default (balanced batches when the stage uses labels)
    balanced_sampling: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields a trainer's stage config takes (``balanced_sampling`` only when set)."""
        return {k: v for k, v in asdict(self).items() if not (k == "balanced_sampling" and v is None)}


def make_config(
    cls: type[BaseModel], name: str, defaults: dict[str, Any], overrides: dict[str, Any]
) -> Any:
    return cls(**{**defaults, **overrides, "name": name})


def derived_latent_dim(
    cls: type[BaseModel], data: Any, compute: Callable[[dict[str, Any]], int]
) -> Any:
    """For a ``mode="before"`` validator: set ``latent_dim`` to ``compute(fields)``."""
    if not isinstance(data, dict):
        return data
    full = {
        k: data[k] if k in data else f.get_default(call_default_factory=True)
        for k, f in cls.model_fields.items()
    }
    want = int(compute(full))
    given = data.get("latent_dim")
    if given is not None and int(given) != want:
        raise ValueError(
            f"latent_dim follows from the other fields here ({want}); got latent_dim={given}"
        )
    return {**data, "latent_dim": want}


def check_shape(x: torch.Tensor, tail: tuple[int, ...], who: str, layout: str) -> None:
    """Raise a clear error unless ``x`` is ``[batch, *tail]`` (-1 in ``tail``: any size)."""
    ok = x.ndim == len(tail) + 1 and all(t in (-1, s) for t, s in zip(tail, x.shape[1:]))
    if not ok:
        want = ", ".join("any" if t == -1 else str(t) for t in tail)
        raise ValueError(f"{who} expects {layout} = [batch, {want}], got {list(x.shape)}")


class StagedModel(FreezableBackbone, nn.Module):
    STAGES: ClassVar[tuple[Stage, ...]] = (Stage("train"),)
    config: Any

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self._stage = self.default_stages()[0]["name"]
        self._backbone_frozen = False

    def _init_stage(self) -> None:
        """Call at the end of a subclass ``__init__``: enter the first default stage."""
        self.set_stage(self.default_stages()[0]["name"])

    # -- protocol -------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    @property
    def input_shape(self) -> tuple[int, int]:
        return tuple(self.config.input_shape)  # type: ignore[return-value]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            f"{self.config.name} has no decoder from its embedding to a signal; use encode"
        )

    def reconstruct(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, mask=mask).mean)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        raise NotImplementedError

    # -- stages ---------------------------------------------------------------------------
    def known_stages(self) -> dict[str, Stage]:
        """Every stage ``set_stage`` accepts, in training order."""
        return {s.name: s for s in self.STAGES}

    def default_stages(self) -> list[dict[str, Any]]:
        """The stages a trainer runs when its config names none."""
        return [s.as_dict() for s in self.known_stages().values()]

    @property
    def stage(self) -> str:
        return self._stage

    def set_stage(self, name: str) -> None:
        known = self.known_stages()
        if name not in known:
            raise ValueError(
                f"{self.config.name} has no stage {name!r}; known: {', '.join(known)}"
            )
        self._stage = name
        (self.freeze_backbone if known[name].freeze_backbone else self.unfreeze_backbone)()

    # -- freezing (FreezableBackbone) -----------------------------------------------------
    def backbone_modules(self) -> list[nn.Module]:
        """The parts ``freeze_backbone`` fixes (the head stays trainable); none by default."""
        return []

    # -- loss -----------------------------------------------------------------------------
    def loss(
        self,
        x: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
        weights: Any = None,
        fiducials: Any = None,
        step: int = 0,
        epoch: int = 0,
    ) -> dict[str, torch.Tensor]:
        """The trainer's entry point, with the same keywords for every family (``weights``,
        ``fiducials`` and ``step`` serve the autoencoders and are unused here): a labelled
        stage's ``labelled_terms``, else this family's ``self_supervised_terms``."""
        if self.known_stages()[self.stage].uses_labels:
            return self.labelled_terms(x, target, extra=extra, mask=mask)
        return self.self_supervised_terms(x, mask=mask, epoch=epoch)

    def self_supervised_terms(
        self, x: torch.Tensor, *, mask: torch.Tensor | None = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{self.config.name} has no self-supervised stage")

    def labelled_terms(self, x: torch.Tensor, target: torch.Tensor | None,
                       extra: Any = None, mask: Any = None) -> dict[str, torch.Tensor]:
        """The loss of a labelled stage: multilabel BCE of ``predict_logits`` on ``target``."""
        from .losses import task_bce

        target = require_target(target, self.config.name, self.stage)
        task = task_bce(self.predict_logits(x, extra=extra, mask=mask), target)
        return {"task": task, "total": task}


def require_target(target: torch.Tensor | None, who: str, stage: str) -> torch.Tensor:
    if target is None:
        raise ValueError(
            f"{who} stage {stage!r} trains on labels: pass target [batch, n_outputs] "
            "(0/1, NaN = unlabelled)"
        )
    return target
