"""Reconstruction fidelity in µV: overall, per lead, per wave, per record.

Seed 001 §2.5 reports MSE and the correlation between input and output ECG; seed 000
reports MAE per wave. Both are computed here on µV arrays ``[N, leads, W]`` (undo the
model's input scaling before calling).

Regions are those of :mod:`ecgcore.signal.regions`: P = P onset..P offset, QRS = QRS
onset..QRS offset, ST = after QRS offset up to the midpoint between QRS offset and T peak,
T = that midpoint..T offset. A record without a region (no P wave, no T end) does not
count toward that region's mean; its per-record value is NaN.

Aggregates are means of per-record values (every record weighs the same; overall MSE/MAE
equal the element-wise means since every record has the same size), so the per-record
arrays returned under ``"per_record"`` feed a bootstrap CI directly
(:func:`ecgcore.evaluate.stats.bootstrap_mean_ci`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.regions import REGIONS, region_masks


def _as_input(x: Any) -> np.ndarray:
    """numpy view (memmaps stay memory-mapped; chunks are converted to float64 later)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return x if isinstance(x, np.ndarray) else np.asarray(x, dtype=np.float64)


def _row_nanmean(a: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite entries (NaN for a row with none), without warnings."""
    ok = np.isfinite(a)
    count = ok.sum(axis=1)
    total = np.where(ok, a, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def pearson_per_lead(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """Pearson r between each record's lead and its reconstruction, ``[N, leads]``.

    NaN where either trace is constant (r undefined).
    """
    a = x - x.mean(axis=-1, keepdims=True)
    b = x_hat - x_hat.mean(axis=-1, keepdims=True)
    num = (a * b).sum(axis=-1)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    r[den <= 1e-12] = np.nan
    return r


def reconstruction_metrics(
    x: Any,
    x_hat: Any,
    fiducials: Any,
    fs: float,
    leads: Sequence[str] = STANDARD_LEADS,
    chunk: int = 1024,
) -> dict[str, Any]:
    """MSE (µV²), MAE (µV) and Pearson r of reconstructions ``x_hat`` of ``x`` ([N, L, W] µV).

    ``fiducials``: ``[N, 7]`` sample indices (cache order, NaN = absent) or Fiducials
    objects. ``fs`` (Hz) is recorded in the result for the caller's reference; regions are
    defined in samples.

    Returns ``{"n_records", "mse", "mae", "correlation", "mse_per_lead", "mae_per_lead",
    "correlation_per_lead", "mse_per_wave", "mae_per_wave", "n_per_wave", "per_record"}``
    where ``correlation`` is the mean over records of the mean over leads of r, and
    ``per_record`` holds ``[N]`` arrays ``mse``, ``mae``, ``correlation``, ``mse_<wave>``,
    ``mae_<wave>`` (NaN where the record lacks the wave).
    """
    x, x_hat = _as_input(x), _as_input(x_hat)
    if x.shape != x_hat.shape or x.ndim != 3:
        raise ValueError(
            f"x and x_hat must both be [N, leads, samples]; got {x.shape} and {x_hat.shape}"
        )
    n, n_leads, width = x.shape
    leads = list(leads)
    if len(leads) != n_leads:
        raise ValueError(f"{len(leads)} lead names for {n_leads} leads")
    masks = region_masks(fiducials, width)
    if masks["other"].shape[0] != n:
        raise ValueError(f"{masks['other'].shape[0]} fiducial rows for {n} records")

    per_record: dict[str, np.ndarray] = {
        "mse": np.empty(n), "mae": np.empty(n), "correlation": np.empty(n),
        **{f"{m}_{w}": np.full(n, np.nan) for w in REGIONS for m in ("mse", "mae")},
    }
    se_lead, ae_lead = np.zeros(n_leads), np.zeros(n_leads)
    r = np.empty((n, n_leads))
    for a in range(0, n, chunk):  # chunks keep memory flat for whole datasets
        b = min(n, a + chunk)
        xa = np.asarray(x[a:b], dtype=np.float64)
        err = np.asarray(x_hat[a:b], dtype=np.float64) - xa
        se, ae = err**2, np.abs(err)
        per_record["mse"][a:b] = se.mean(axis=(1, 2))
        per_record["mae"][a:b] = ae.mean(axis=(1, 2))
        se_lead += se.sum(axis=(0, 2))
        ae_lead += ae.sum(axis=(0, 2))
        r[a:b] = pearson_per_lead(xa, np.asarray(x_hat[a:b], dtype=np.float64))
        for name in REGIONS:
            m = masks[name][a:b].astype(np.float64)  # [n_chunk, W]
            count = m.sum(axis=1) * n_leads
            has = count > 0
            per_record[f"mse_{name}"][a:b][has] = np.einsum("nlw,nw->n", se, m)[has] / count[has]
            per_record[f"mae_{name}"][a:b][has] = np.einsum("nlw,nw->n", ae, m)[has] / count[has]
    per_record["correlation"] = _row_nanmean(r)

    out: dict[str, Any] = {"n_records": n, "fs": float(fs)}
    mse_wave, mae_wave, n_wave = {}, {}, {}
    for name in REGIONS:
        n_wave[name] = int(np.isfinite(per_record[f"mse_{name}"]).sum())
        mse_wave[name] = float(_row_nanmean(per_record[f"mse_{name}"][None, :])[0])
        mae_wave[name] = float(_row_nanmean(per_record[f"mae_{name}"][None, :])[0])

    out["mse"] = float(per_record["mse"].mean())
    out["mae"] = float(per_record["mae"].mean())
    out["correlation"] = float(_row_nanmean(per_record["correlation"][None, :])[0])
    out["mse_per_lead"] = dict(zip(leads, (se_lead / (n * width)).tolist()))
    out["mae_per_lead"] = dict(zip(leads, (ae_lead / (n * width)).tolist()))
    out["correlation_per_lead"] = dict(zip(leads, _row_nanmean(r.T).tolist()))
    out["mse_per_wave"] = mse_wave
    out["mae_per_wave"] = mae_wave
    out["n_per_wave"] = n_wave
    out["per_record"] = per_record
    return out
