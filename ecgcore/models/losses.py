"""Loss terms: the wave-weighted reconstruction of seed 000 (squared or absolute error), the
Gaussian KL, the task BCE.

``vae_loss`` returns every term by name (recon, kl, beta, task, total) so a trainer logs
them all without knowing the model family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

FIDUCIAL_KEYS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")
Reduction = Literal["sum", "mean"]
ErrorKind = Literal["mse", "l1"]


def _as_index_tensor(values: Any, device: torch.device | None = None) -> torch.Tensor:
    """1-D int64 tensor; None / NaN / negative mean 'missing' and become -1."""
    if isinstance(values, torch.Tensor):
        t = values.detach().to(device=device)
        if t.is_floating_point():
            t = torch.nan_to_num(t, nan=-1.0)
        return t.long().reshape(-1)
    arr = np.array(
        [-1 if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values],
        dtype=np.float64,
    )
    return torch.as_tensor(np.nan_to_num(arr, nan=-1.0), dtype=torch.long, device=device)


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _fiducial_columns(fiducials: Any, device: torch.device | None) -> list[torch.Tensor]:
    """Five [B] index tensors from any accepted form (see ``wave_weight_mask``)."""
    if isinstance(fiducials, (torch.Tensor, np.ndarray)):
        t = torch.as_tensor(fiducials, device=device)
        if t.ndim != 2 or t.shape[1] != 5:
            raise ValueError(
                f"fiducial array must be [batch, 5] {FIDUCIAL_KEYS}, got {list(t.shape)}"
            )
        return [_as_index_tensor(t[:, i], device) for i in range(5)]
    if isinstance(fiducials, Mapping):
        return [_as_index_tensor(fiducials[k], device) for k in FIDUCIAL_KEYS]
    if (
        isinstance(fiducials, Sequence)
        and len(fiducials) == 5
        and all(isinstance(f, (torch.Tensor, np.ndarray)) for f in fiducials)
    ):
        return [_as_index_tensor(f, device) for f in fiducials]
    # a sequence of per-beat records (ecgcore.signal.fiducials.Fiducials, dicts, or None)
    return [_as_index_tensor([_get(f, k) for f in fiducials], device) for k in FIDUCIAL_KEYS]


def wave_weight_mask(
    fiducials: Any,
    length: int,
    *,
    theta_p: float = 20.0,
    theta_qrs: float = 10.0,
    theta_t: float = 15.0,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Per-sample weights [B, length] for the wave-weighted MSE of seed 000.

    ``fiducials`` gives (p_on, p_off, qrs_on, qrs_off, t_off) per beat, as sample indices
    into the model's input window, in any of these forms: a [B, 5] tensor/array in that
    order; a tuple of five [B] tensors; a mapping of those names to [B] tensors; or a
    sequence of per-beat objects with those attributes or keys (``Fiducials``, dicts,
    None for a beat without fiducials). Missing values are None, NaN or negative.

    Regions (inclusive sample ranges): P = [p_on, p_off] → ``theta_p``;
    QRS = [qrs_on, qrs_off] → ``theta_qrs``; T = (qrs_off, t_off] → ``theta_t`` (ST segment
    and T wave: no T onset is delineated). Everything else is 1; a missing P (or T offset)
    leaves its region at 1. QRS wins where regions overlap.
    """
    cols = _fiducial_columns(fiducials, device)
    p_on, p_off, qrs_on, qrs_off, t_off = cols
    b = p_on.shape[0]
    t = torch.arange(length, device=p_on.device).expand(b, length)

    def region(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        valid = ((lo >= 0) & (hi >= 0)).unsqueeze(1)
        return valid & (t >= lo.unsqueeze(1)) & (t <= hi.unsqueeze(1))

    w = torch.ones(b, length, device=p_on.device)
    w = torch.where(region(p_on, p_off), torch.full_like(w, theta_p), w)
    # T starts after the QRS offset; region() needs qrs_off itself valid, checked via lo
    t_lo = torch.where(qrs_off >= 0, qrs_off + 1, qrs_off)
    w = torch.where(region(t_lo, t_off), torch.full_like(w, theta_t), w)
    w = torch.where(region(qrs_on, qrs_off), torch.full_like(w, theta_qrs), w)
    return w


def weighted_error(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    weights: torch.Tensor | None = None,
    reduction: Reduction = "mean",
    kind: ErrorKind = "mse",
) -> torch.Tensor:
    """Weighted squared (``kind="mse"``) or absolute (``"l1"``) error, ``[B, L, T]`` inputs.

    ``weights`` is [B, T] (shared by all leads) or [B, L, T]; None is unweighted. The error
    is ``w · (x - x̂)²`` or ``w · |x - x̂|``, not normalised by the weights. ``reduction``:
    "mean" averages over every element; "sum" sums over leads and time and averages over
    the batch (a log-likelihood up to constants, the usual scale for a β-VAE).
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x {list(x.shape)} and x_hat {list(x_hat.shape)} differ in shape")
    if kind == "mse":
        err = (x - x_hat) ** 2
    elif kind == "l1":
        err = (x - x_hat).abs()
    else:
        raise ValueError(f"unknown error kind {kind!r}; expected 'mse' or 'l1'")
    if weights is not None:
        if weights.ndim == 2:
            weights = weights.unsqueeze(1)
        err = err * weights
    if reduction == "mean":
        return err.mean()
    if reduction == "sum":
        return err.flatten(1).sum(1).mean()
    raise ValueError(f"unknown reduction {reduction!r}; expected 'sum' or 'mean'")


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per sample, summed over latent units: [B]."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def task_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits; NaN targets (unlabelled) are ignored."""
    target = target.to(logits.dtype).reshape(logits.shape)
    labelled = ~torch.isnan(target)
    if not labelled.any():
        return logits.sum() * 0.0  # keeps the graph, contributes nothing
    return F.binary_cross_entropy_with_logits(logits[labelled], target[labelled])


def vae_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mean: torch.Tensor | None = None,
    logvar: torch.Tensor | None = None,
    *,
    beta: float = 1.0,
    weights: torch.Tensor | None = None,
    reduction: Reduction = "sum",
    sigma: float = 1.0,
    recon_loss: ErrorKind = "mse",
    logits: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    gamma: float = 0.0,
) -> dict[str, torch.Tensor]:
    """recon + β·KL + γ·BCE, with every term named.

    ``recon`` is the (weighted) squared error divided by ``sigma``², the negative Gaussian
    log-likelihood with noise σ up to its constant and factor ½ (the usual β-VAE scale);
    with ``recon_loss="l1"`` it is the absolute error divided by ``sigma``, the negative
    Laplace log-likelihood with scale b = σ up to its constant (the decoder's median
    instead of its mean: what minimises the error in µV that the workbench reports).
    ``kl`` is the batch mean of the per-sample KL (0 when ``logvar`` is None: a
    deterministic autoencoder). ``task`` is the unweighted BCE (0 without logits/target).
    """
    recon = weighted_error(x, x_hat, weights, reduction, recon_loss)
    recon = recon / (sigma**2 if recon_loss == "mse" else sigma)
    zero = recon.new_zeros(())
    kl = kl_divergence(mean, logvar).mean() if (mean is not None and logvar is not None) else zero
    if target is not None:
        if logits is None:
            raise ValueError("a task target was given but the model produced no logits")
        task = task_bce(logits, target)
    else:
        task = zero
    beta_t = recon.new_tensor(float(beta))
    total = recon + beta_t * kl + gamma * task
    return {"recon": recon, "kl": kl, "beta": beta_t, "task": task, "total": total}
