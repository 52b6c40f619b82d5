"""A fixed PCA path through an autoencoder, so that training starts where PCA ends.

With a few hundred training records PCA is a strong reconstruction baseline, and a
randomly initialised convolutional autoencoder spends its short training re-learning
the linear structure PCA gets in closed form (docs/BENCHMARKS.md, reconstruction). With
``pca_init`` the autoencoder's code is the whitened PCA score plus a gated nonlinear
correction, and its output the PCA reconstruction plus a gated convolutional
correction::

    z  = W_pca (x − μ) / s      + g_enc · to_mean(encoder(x))
    x̂ = μ + (s · z) W_pca       + g_dec · decoder(z)

The PCA part (μ, W_pca, s) is fitted on the training split and kept fixed (buffers, so it
is saved with the weights); the gates g start at 0 (ReZero, Bachlechner et al. 2020), so
the untrained model *is* PCA and the optimiser only moves away from it where that lowers
the loss. Whitening gives every PCA unit unit variance, as the VAE prior expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class PCAPath(nn.Module):
    """Whitened PCA of ``[N, leads, samples]`` inputs, as fixed linear maps."""

    def __init__(self, input_shape: tuple[int, int], latent_dim: int) -> None:
        super().__init__()
        leads, length = input_shape
        self.input_shape = (leads, length)
        dim = leads * length
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("components", torch.zeros(latent_dim, dim))  # rows: unit vectors
        self.register_buffer("std", torch.ones(latent_dim))  # SD of each PCA score

    @torch.no_grad()
    def fit(self, x: Any) -> PCAPath:
        """Fit on ``x`` [N, leads, samples] (numpy or torch), in float64 for exactness."""
        flat = torch.as_tensor(np.asarray(x), dtype=torch.float64).reshape(len(x), -1)
        k = self.components.shape[0]
        if flat.shape[1] != self.mean.numel():
            raise ValueError(f"PCA path expects inputs {list(self.input_shape)}, "
                             f"got {list(np.asarray(x).shape[1:])}")
        if len(flat) <= k:
            raise ValueError(f"PCA path: {len(flat)} training inputs cannot give {k} components")
        mean = flat.mean(0)
        _, s, vt = torch.linalg.svd(flat - mean, full_matrices=False)
        std = s[:k] / np.sqrt(len(flat) - 1)
        self.mean.copy_(mean.float())
        self.components.copy_(vt[:k].float())
        self.std.copy_(std.clamp_min(1e-12).float())
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Whitened scores [B, latent_dim]."""
        return ((x.flatten(1) - self.mean) @ self.components.T) / self.std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction [B, leads, samples] from whitened scores."""
        flat = self.mean + (z * self.std) @ self.components
        return flat.reshape(len(z), *self.input_shape)
