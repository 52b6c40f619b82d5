"""A minimal training loop so every model answers ``fit(x)`` (scikit-learn style).

Plain Adam over shuffled mini-batches of ``model.loss``: no validation, logging, early
stopping or checkpoints — that is the trainer's job (``ecgwb train``). Useful for
notebooks, tests and tiny data sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .losses import wave_weight_mask


def _tensor(
    x: Any, device: torch.device, dtype: torch.dtype = torch.float32
) -> torch.Tensor | None:
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x).to(device=device, dtype=dtype)


def fit_autoencoder(
    model: nn.Module,
    x: Any,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    fiducials: Any = None,
    target: Any = None,
    extra: Any = None,
    seed: int = 0,
) -> list[float]:
    """Train ``model`` in place on ``x`` [N, leads, samples]; returns the mean total loss
    per epoch. ``fiducials`` (any form ``wave_weight_mask`` accepts, N beats), ``target``
    [N] or [N, n_outputs] and ``extra`` [N, n_extra] are optional. Ends in eval mode."""
    device = next(model.parameters()).device
    xs = _tensor(x, device)
    n = xs.shape[0]
    theta = model.config.wave_weights
    weights = (
        wave_weight_mask(fiducials, xs.shape[-1], device=device, **theta.model_dump())
        if fiducials is not None and theta is not None
        else None
    )
    ys, es = _tensor(target, device), _tensor(extra, device)
    opt = torch.optim.Adam(model.parameter_groups(weight_decay), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    history: list[float] = []
    step = 0
    model.train()
    for epoch in range(epochs):
        total, seen = 0.0, 0
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            idx = idx.to(device)
            terms = model.loss(
                xs[idx],
                weights=None if weights is None else weights[idx],
                target=None if ys is None else ys[idx],
                extra=None if es is None else es[idx],
                step=step,
                epoch=epoch,
            )
            opt.zero_grad(set_to_none=True)
            terms["total"].backward()
            opt.step()
            step += 1
            total += float(terms["total"].detach()) * len(idx)
            seen += len(idx)
        history.append(total / seen)
    model.eval()
    return history
