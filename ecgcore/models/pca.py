"""PCA baseline wrapped to the encoder protocol, stored as tensors.

Fitted in closed form by scikit-learn on the flattened ``leads × samples`` signal; the
result lives in buffers (``mean_``, ``components_``, ``explained_variance_``,
``explained_variance_ratio_``, ``fitted_``) so ``state_dict()`` goes to safetensors like
any other model. Encode/decode are plain tensor algebra, and accept numpy arrays or torch
tensors, answering in the type they were given (numpy answers are float32 on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from einops import rearrange
from torch import nn

from .configs import PCAConfig
from .protocol import Encoding


def _to_torch(x: Any, like: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], Any]]:
    """Tensor on ``like``'s device plus a function that converts results back to x's type."""
    if isinstance(x, torch.Tensor):
        return x.to(device=like.device, dtype=like.dtype), lambda t: t
    arr = np.asarray(x, dtype=np.float32)
    return torch.from_numpy(arr).to(like.device), lambda t: t.detach().cpu().numpy()


class PCAModel(nn.Module):
    def __init__(self, config: PCAConfig) -> None:
        super().__init__()
        self.config = config
        leads, samples = config.input_shape
        d, k = leads * samples, config.latent_dim
        if k > d:
            raise ValueError(f"latent_dim={k} exceeds the {d} input features ({leads}×{samples})")
        self.register_buffer("mean_", torch.zeros(d))
        self.register_buffer("components_", torch.zeros(k, d))
        self.register_buffer("explained_variance_", torch.ones(k))
        self.register_buffer("explained_variance_ratio_", torch.zeros(k))
        self.register_buffer("fitted_", torch.zeros((), dtype=torch.bool))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_shape(self) -> tuple[int, int]:
        return tuple(self.config.input_shape)  # type: ignore[return-value]

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted_)

    def fit(self, x: Any, y: Any = None) -> PCAModel:
        """Closed-form fit on ``x`` [N, leads, samples] (numpy or torch); ``y`` is ignored."""
        from sklearn.decomposition import PCA

        arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        self._check(arr.shape)
        flat = arr.reshape(arr.shape[0], -1).astype(np.float64)
        k = self.latent_dim
        if k > min(flat.shape):
            raise ValueError(
                f"PCA with {k} components needs at least {k} records, got {flat.shape[0]}"
            )
        pca = PCA(n_components=k, whiten=self.config.whiten, random_state=0).fit(flat)
        dev = self.mean_.device
        for name, value in [
            ("mean_", pca.mean_),
            ("components_", pca.components_),
            ("explained_variance_", pca.explained_variance_),
            ("explained_variance_ratio_", pca.explained_variance_ratio_),
        ]:
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32, device=dev))
        self.fitted_.fill_(True)
        return self

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3 or tuple(shape[1:]) != self.input_shape:
            leads, samples = self.input_shape
            raise ValueError(f"PCA expects input [batch, {leads}, {samples}], got {list(shape)}")

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("PCA model is not fitted: call fit(x) first")

    def encode(self, x: Any) -> Encoding:
        self._require_fitted()
        xt, back = _to_torch(x, self.mean_)
        self._check(tuple(xt.shape))
        z = (rearrange(xt, "b l t -> b (l t)") - self.mean_) @ self.components_.T
        if self.config.whiten:
            z = z / self.explained_variance_.sqrt()
        return Encoding(back(z), None)

    def decode(self, z: Any) -> Any:
        self._require_fitted()
        zt, back = _to_torch(z, self.mean_)
        if zt.ndim != 2 or zt.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z [batch, {self.latent_dim}], got {list(zt.shape)}")
        if self.config.whiten:
            zt = zt * self.explained_variance_.sqrt()
        flat = zt @ self.components_ + self.mean_
        return back(rearrange(flat, "b (l t) -> b l t", l=self.input_shape[0]))

    def reconstruct(self, x: Any) -> Any:
        return self.decode(self.encode(x).mean)
