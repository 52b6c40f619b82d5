"""The small protocol every encoder speaks, PCA included.

Downstream code (evaluation, explanation, views) uses only this:

Training is not part of it: neural models train through the one loop of the trainer
(``ecgwb train``; ``trainer.arrays.fit_arrays`` on in-memory arrays), PCA fits in closed
form (``fit(x)``: the ``ClosedForm`` capability, ``models/capabilities.py``).
- ``encode(x) -> Encoding``: the posterior ``mean`` [B, latent_dim] and ``scale`` (σ,
  [B, latent_dim]) or None where the model has no posterior width (PCA, plain AE).
- ``decode(z) -> x̂`` [B, leads, samples].
- ``reconstruct(x) = decode(encode(x).mean)``.
- ``latent_dim``, ``input_shape`` (leads, samples), ``config`` (typed; ``model_dump()``
  rebuilds the model through ``ecgcore.models.model_from_config``).

Every model is a ``torch.nn.Module``: ``state_dict()`` holds tensors only (safetensors),
and ``eval()`` must be called before encoding for results (batch norm, dropout).
Neural models take and return torch tensors; PCA takes numpy arrays or torch tensors and
answers in the type it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch


class Encoding(NamedTuple):
    """Latent code of a batch: ``mean`` [B, L]; ``scale`` σ [B, L] or None."""

    mean: Any
    scale: Any | None = None


@dataclass
class ModelOutput:
    """What a neural autoencoder's ``forward`` returns (the trainer's view)."""

    x_hat: torch.Tensor  # [B, leads, samples]
    z: torch.Tensor  # the code fed to the decoder: sampled (training) or the mean
    mean: torch.Tensor  # [B, latent_dim]
    logvar: torch.Tensor | None = None  # None for deterministic models
    logits: torch.Tensor | None = None  # task head output [B, n_outputs], task models only


@runtime_checkable
class LatentModel(Protocol):
    config: Any

    @property
    def latent_dim(self) -> int: ...

    @property
    def input_shape(self) -> tuple[int, int]: ...

    def encode(self, x: Any) -> Encoding: ...

    def decode(self, z: Any) -> Any: ...

    def reconstruct(self, x: Any) -> Any: ...


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
