"""Which part of the beat a prediction looks at: captum attributions summed per wave/lead.

Predictors are any differentiable function of the beats ``x`` ``[B, leads, W]`` (model
input scale) to one number per record: a callable ``f(x) -> [B]`` (e.g. a task head,
``lambda x: model.encode(x).mean[:, k]`` for a latent unit) or an ``nn.Module`` plus the
index of the output to explain (``target``). A module with ``predict_logits`` (ecg_sl,
cnn_baseline) is explained through it; one whose forward returns a
:class:`~ecgcore.models.protocol.ModelOutput` (the task VAEs) through its ``logits``.

Methods (captum, imported inside the functions):

- ``"integrated_gradients"``: 50 steps from a zero baseline (the isoelectric line);
- ``"saliency"``: the absolute input gradient;
- ``"gradient_shap"``: 20 samples, baselines zero unless given (a set of reference beats
  is the usual alternative);
- ``"occlusion"``: each lead's window of ``occlusion_window`` samples (default 40 ms at
  500 Hz: 20) replaced by zero, stride half the window.

:func:`region_attribution` sums an attribution map per record over the P, QRS, ST, T
regions of :mod:`ecgcore.signal.regions` and "other" (the rest of the window), and per
lead; the five region sums add up to the total. Maps over whole 10-s signals are summed over
the same regions placed at every beat (:mod:`ecgcore.explain.signal_regions`). :func:`class_means` averages per class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.explain.signal_regions import signal_region_masks
from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.regions import REGIONS, region_masks

METHODS: tuple[str, ...] = ("integrated_gradients", "saliency", "gradient_shap", "occlusion")


def scalar_function(predictor: Any, target: int | None = None) -> Callable[[Any], Any]:
    """``f(x) -> [B]`` from a callable or a module (+ output index ``target``)."""
    import torch

    def select(out: Any) -> Any:
        if hasattr(out, "logits") and not isinstance(out, torch.Tensor):
            if out.logits is None:
                raise ValueError("the module's output has no logits: pass a callable instead")
            out = out.logits
        elif isinstance(out, (tuple, list)):
            out = out[0]
        if out.ndim == 1:
            if target not in (None, 0):
                raise ValueError(f"the predictor returns one value per record; target={target}")
            return out
        if out.ndim == 2:
            if target is None and out.shape[1] != 1:
                raise ValueError(f"the predictor returns {out.shape[1]} outputs: pass target=")
            return out[:, 0 if target is None else target]
        raise ValueError(f"the predictor must return [B] or [B, outputs], got {list(out.shape)}")

    if not callable(predictor):
        raise TypeError("predictor must be a callable or a torch.nn.Module")
    from ecgcore.models.capabilities import PredictsLabels

    if isinstance(predictor, torch.nn.Module) and isinstance(predictor, PredictsLabels):
        fn = predictor.predict_logits  # ecg_sl, cnn_baseline: forward gives embeddings
        return lambda x: select(fn(x))
    return lambda x: select(predictor(x))


def attribute(
    predictor: Any,
    x: Any,
    method: str = "integrated_gradients",
    target: int | None = None,
    baselines: Any = None,
    n_steps: int = 50,
    n_samples: int = 20,
    occlusion_window: int = 20,
    occlusion_stride: int | None = None,
    occlusion_batch: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Attribution map of ``predictor`` at ``x``, same shape as ``x`` (``[B, leads, W]``
    beats; ``[B, beats, leads, W]`` sequences and ``[B, leads, T]`` signals work too).

    Units: the predictor's output (logit, probability, latent value) per input sample. IG
    and GradientSHAP maps sum (approximately) to the output change from the baseline;
    occlusion maps sum the output drops of overlapping windows (not a completeness sum);
    saliency is |∂f/∂x|. ``occlusion_batch``: occluded copies per forward pass (speed only).
    """
    import torch

    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {METHODS}")
    f = scalar_function(predictor, target)
    xt = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float32)
    xt = xt.detach().float()
    if xt.ndim < 2:
        raise ValueError(f"x must be [B, ...] (e.g. [B, leads, samples]), got {list(xt.shape)}")
    torch.manual_seed(seed)
    if method == "integrated_gradients":
        from captum.attr import IntegratedGradients

        base = torch.zeros_like(xt) if baselines is None else torch.as_tensor(
            baselines, dtype=xt.dtype).expand_as(xt)
        attr = IntegratedGradients(f).attribute(xt, baselines=base, n_steps=n_steps,
                                                internal_batch_size=min(1024, max(1, len(xt)) * n_steps))
    elif method == "saliency":
        from captum.attr import Saliency

        attr = Saliency(f).attribute(xt.clone().requires_grad_(True), abs=True)
    elif method == "gradient_shap":
        from captum.attr import GradientShap

        base = torch.zeros((1, *xt.shape[1:]), dtype=xt.dtype) if baselines is None \
            else torch.as_tensor(baselines, dtype=xt.dtype).reshape(-1, *xt.shape[1:])
        attr = GradientShap(f).attribute(xt, baselines=base, n_samples=n_samples)
    else:
        from captum.attr import Occlusion

        stride = occlusion_stride or max(1, occlusion_window // 2)
        lead_dims = (1,) * (xt.ndim - 2)  # one lead (and one beat) at a time
        attr = Occlusion(f).attribute(xt, sliding_window_shapes=(*lead_dims, occlusion_window),
                                      strides=(*lead_dims, stride), baselines=0.0,
                                      perturbations_per_eval=occlusion_batch)
    return attr.detach().cpu().numpy().astype(np.float64)


def region_attribution(
    attributions: Any,
    fiducials: Any,
    leads: Sequence[str] = STANDARD_LEADS,
    absolute: bool = False,
    rpeaks: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Per-record sums of an attribution map ``[B, leads, W]`` by region and by lead.

    Beat-sequence maps ``[B, beats, leads, W]`` (ecg_sl) are summed over beats first: each
    beat window is centred like the median beat, whose fiducials stand for all of them.
    Signal maps ``[B, leads, T]`` (cnn_baseline, st_mem, ecg_jepa) need ``rpeaks``, per
    record the R-peak samples of its signal: every beat takes the median beat's regions
    (:func:`~ecgcore.explain.signal_regions.signal_region_masks`), so the columns mean the
    same as for median-beat models.
    Columns: ``total``; ``P``, ``QRS``, ``ST``, ``T``, ``other`` (these five add up to
    ``total``); ``lead_<name>`` per lead (these add up to ``total`` too); and
    ``<region>:<lead>``. ``absolute=True`` sums |attribution| instead (where the model
    looks, regardless of direction). ``fiducials``: ``[B, 7]`` in the cache's order.
    """
    a = np.asarray(attributions, dtype=np.float64)
    if a.ndim == 4:  # beat sequences [B, beats, leads, W]: beats share the median's regions
        if rpeaks is not None:
            raise ValueError("rpeaks are for signal maps [B, leads, T], not beat sequences")
        a = a.sum(axis=1)
    if a.ndim != 3:
        raise ValueError(f"attributions must be [B, leads, samples] (or [B, beats, leads, "
                         f"samples]), got {list(a.shape)}")
    if absolute:
        a = np.abs(a)
    leads = list(leads)
    if len(leads) != a.shape[1]:
        raise ValueError(f"{len(leads)} lead names for {a.shape[1]} leads")
    masks = region_masks(fiducials, a.shape[2]) if rpeaks is None \
        else signal_region_masks(fiducials, rpeaks, a.shape[2])
    if masks["other"].shape[0] != a.shape[0]:
        raise ValueError(f"{masks['other'].shape[0]} fiducial rows for {a.shape[0]} records")
    cols: dict[str, np.ndarray] = {"total": a.sum(axis=(1, 2))}
    for name in (*REGIONS, "other"):
        per_lead = (a * masks[name][:, None, :]).sum(axis=2)  # [B, leads]
        cols[name] = per_lead.sum(axis=1)
        for j, lead in enumerate(leads):
            cols[f"{name}:{lead}"] = per_lead[:, j]
    for j, lead in enumerate(leads):
        cols[f"lead_{lead}"] = a[:, j, :].sum(axis=1)
    return pd.DataFrame(cols)


def class_means(region_table: pd.DataFrame, labels: Any) -> pd.DataFrame:
    """Mean of each column of :func:`region_attribution` per class of ``labels`` ``[B]``."""
    lab = pd.Series(np.asarray(labels), name="class")
    if len(lab) != len(region_table):
        raise ValueError(f"{len(lab)} labels for {len(region_table)} records")
    return region_table.reset_index(drop=True).groupby(lab).mean()


def saliency_summary(
    predictor: Any,
    x: Any,
    fiducials: Any,
    methods: Sequence[str] = ("integrated_gradients",),
    target: int | None = None,
    labels: Any = None,
    leads: Sequence[str] = STANDARD_LEADS,
    absolute: bool = False,
    rpeaks: Sequence[Any] | None = None,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """For each method: the map, the per-record region table and (with ``labels``) the
    per-class means: ``{method: {"attributions", "regions", "by_class"}}``. ``rpeaks``:
    per record, its R peaks when ``x`` is whole signals (see :func:`region_attribution`)."""
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        attr = attribute(predictor, x, m, target=target, **kwargs)
        table = region_attribution(attr, fiducials, leads, absolute, rpeaks)
        out[m] = {"attributions": attr, "regions": table,
                  "by_class": class_means(table, labels) if labels is not None else None}
    return out
