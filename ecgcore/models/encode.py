"""Every item of a dataset through a model's encoder, in order."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ecgcore.models.triplet import call_encode


@torch.no_grad()
def encode_dataset(model: torch.nn.Module, ds: Dataset, batch_size: int = 256
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent means ``[N, L]`` and scales ``[N, L]`` (None for models without) of a dataset
    whose items are ``{"x", "mask"?, "extra"?}`` (beat masks for sequence models, scalar
    inputs for hybrid models), in the dataset's order."""
    means, scales = [], []
    for batch in DataLoader(ds, batch_size=batch_size, shuffle=False):
        enc = call_encode(model, batch["x"], batch.get("mask"), batch.get("extra"))
        means.append(np.asarray(enc.mean))
        if enc.scale is not None:
            scales.append(np.asarray(enc.scale))
    return np.concatenate(means), (np.concatenate(scales) if scales else None)
