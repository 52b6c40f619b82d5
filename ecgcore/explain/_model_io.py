"""numpy in, numpy out, for any model of the protocol (PCA or a torch module)."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _device_dtype(model: Any) -> tuple[Any, Any]:
    import torch

    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.device, t.dtype
    return torch.device("cpu"), torch.float32


def _call(model: Any, fn_name: str, x: np.ndarray, batch_size: int) -> np.ndarray:
    fn = getattr(model, fn_name)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(model, torch.nn.Module):
        device, dtype = _device_dtype(model)
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                xb = torch.as_tensor(np.array(x[i : i + batch_size], copy=True),
                                     dtype=dtype, device=device)
                out = fn(xb)
                outs.append(to_numpy(out.mean if fn_name == "encode" else out))
        return np.concatenate(outs, axis=0) if outs else np.zeros((0,))
    out = fn(x)
    return to_numpy(out.mean if fn_name == "encode" else out)


def encode_means(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """Latent means ``[N, latent_dim]`` (float64) of inputs ``[N, leads, W]`` (model scale).

    Torch modules are run under ``no_grad`` in their current mode: call ``model.eval()``
    first for trained networks.
    """
    return _call(model, "encode", np.asarray(to_numpy(x), dtype=np.float32), batch_size).astype(
        np.float64
    )


def decode_latents(model: Any, z: Any, batch_size: int = 256) -> np.ndarray:
    """Decoded beats ``[N, leads, W]`` (float64, model scale) of latents ``[N, latent_dim]``."""
    return _call(model, "decode", np.asarray(to_numpy(z), dtype=np.float32), batch_size).astype(
        np.float64
    )
