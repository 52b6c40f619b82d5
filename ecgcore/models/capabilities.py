"""The optional capabilities a model may have beyond :class:`~ecgcore.models.protocol.LatentModel`,
each a small protocol. The trainer, the evaluation and the views ask
``isinstance(model, Freezable)`` rather than probing attribute names, so that what a model
family can offer is written down here, with its signature, in one place.

A model has a capability by defining its methods (structural typing: no base class to
inherit); :class:`~ecgcore.models.staged.StagedModel` and
:class:`~ecgcore.models.freezing.BackboneFreezing` give most of them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Trainable(Protocol):
    """Trained by gradient descent on ``loss`` (PCA is not: it fits in closed form)."""

    def loss(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class ClosedForm(Protocol):
    """Fitted in closed form on the training inputs, no epochs (PCA): ``fit(x) -> self``."""

    def fit(self, x: Any) -> Any: ...


@runtime_checkable
class Staged(Protocol):
    """Trained in named stages (pretrain → finetune …) unless the config gives its own."""

    def default_stages(self) -> list[dict[str, Any]]: ...


@runtime_checkable
class StageAware(Protocol):
    """Told which stage runs (its loss and trainable parts change with it)."""

    def set_stage(self, name: str) -> None: ...


@runtime_checkable
class Freezable(Protocol):
    """A backbone that a stage can freeze (``freeze_backbone: true``) and thaw."""

    def freeze_backbone(self) -> None: ...

    def unfreeze_backbone(self) -> None: ...


@runtime_checkable
class ExtraInputs(Protocol):
    """Reads scalar inputs (``data.extra``) normalised by the training split's mean and SD."""

    def set_extra_normalization(self, loc: Any, scale: Any) -> None: ...


@runtime_checkable
class StepHook(Protocol):
    """Updated after every optimiser step (e.g. an EMA target encoder)."""

    def on_train_batch_end(self, step: int) -> None: ...


@runtime_checkable
class ParameterGroups(Protocol):
    """Its own optimiser parameter groups (e.g. no weight decay on some parameters)."""

    def parameter_groups(self, weight_decay: float = 0.0) -> list[dict[str, Any]]: ...


@runtime_checkable
class EpochMetrics(Protocol):
    """Model-side numbers logged once per epoch as ``model/<name>`` (e.g. codebook usage)."""

    def epoch_metrics(self) -> dict[str, float]: ...


@runtime_checkable
class PredictsLabels(Protocol):
    """A task head on the input: logits ``[B, n_outputs]`` for ``preprocessing.task``."""

    def predict_logits(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor: ...


@runtime_checkable
class LatentTaskHead(Protocol):
    """A linear task head on the latent means (task VAEs): logits, or None when it needs the
    scalar inputs and none are given. ``head`` is that layer (the counterfactual reads its
    weights)."""

    head: torch.nn.Linear

    def task_logits(self, mean: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor | None: ...


@runtime_checkable
class PCAInitialised(Protocol):
    """May start at PCA (``pca_init``): ``pca_path`` is then the fixed PCA path to fit on
    the training inputs before the first step, else None."""

    pca_path: Any


@runtime_checkable
class BeatAttention(Protocol):
    """Attention weights over the beats of a sequence (ECG-SL's pooling): [B, beats]."""

    def attention(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor: ...


def pca_init_path(model: Any) -> Any | None:
    """The model's PCA initialisation path (``pca_init``) to fit before training, or None."""
    return model.pca_path if isinstance(model, PCAInitialised) else None
