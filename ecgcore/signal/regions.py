"""P, QRS, ST and T regions of a beat window from its fiducial points.

Fiducials come as the cache stores them: float ``[N, 7]`` sample indices into the beat
window in :data:`ecgcore.signal.fiducials.FIDUCIAL_KEYS` order (r, qrs_on, qrs_off, p_on, p_off,
t_peak, t_off), NaN where absent; a single ``[7]`` row or a list of
:class:`~ecgcore.signal.fiducials.Fiducials` are accepted too.

Definition (the T onset is not delineated, so the ST/T border is placed by rule):

- **P**   = ``p_on .. p_off`` (inclusive), cut short before QRS onset;
- **QRS** = ``qrs_on .. qrs_off`` (inclusive);
- **ST**  = ``qrs_off + 1 .. m − 1`` with ``m = ⌊(qrs_off + t_peak) / 2⌋`` (the midpoint
  between QRS offset and T peak);
- **T**   = ``m .. t_off`` (inclusive).

This is the project's one definition: the Data view's shading
(:func:`ecgcore.viz.ecg_paper.wave_regions`), the saliency bars, the per-wave
reconstruction error, the Patient view and the factor annotation all derive their regions
here; the wave-weighted loss (:func:`ecgcore.models.losses.wave_weight_mask`) weights
P = ``p_on .. p_off`` and QRS with the same bounds and ST ∪ T (``qrs_off + 1 .. t_off``)
as one ST-T region. The **ST level** is a measurement, not a region: the amplitude at
``J + 60 ms`` (:data:`ST_LEVEL_MS`, :func:`st_level_index`) against the isoelectric level.

The four regions never overlap; samples in none of them are "other" (baseline before P,
the PR segment, after T end). A region whose fiducials are missing is empty for that
record (no P in atrial fibrillation; no ST/T without a T peak; no T without a T end).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgcore.signal.fiducials import FIDUCIAL_KEYS

REGIONS: tuple[str, ...] = ("P", "QRS", "ST", "T")
#: One line per region, for legends and captions.
REGION_LABELS: dict[str, str] = {
    "P": "P wave",
    "QRS": "QRS",
    "ST": "ST (J to midway to T peak)",
    "T": "T wave",
}
#: Where the ST level is measured, after the J point (QRS offset). ST60 is the usual point
#: of computerised ST measurement (J+80 ms is the exercise-test alternative); one number
#: for every view.
ST_LEVEL_MS = 60.0
_K = {k: i for i, k in enumerate(FIDUCIAL_KEYS)}


def fiducial_array(fiducials: Any) -> np.ndarray:
    """Fiducials as float ``[N, 7]`` (FIDUCIAL_KEYS order, NaN = absent)."""
    if isinstance(fiducials, np.ndarray) or (
        isinstance(fiducials, Sequence) and fiducials and not hasattr(fiducials[0], "qrs_on")
    ):
        arr = np.asarray(fiducials, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(FIDUCIAL_KEYS):
            raise ValueError(
                f"fiducials must be [N, {len(FIDUCIAL_KEYS)}] in the order {FIDUCIAL_KEYS}, "
                f"got shape {arr.shape}"
            )
        return arr
    items = [fiducials] if hasattr(fiducials, "qrs_on") else list(fiducials)
    out = np.full((len(items), len(FIDUCIAL_KEYS)), np.nan)
    for i, fid in enumerate(items):
        for j, key in enumerate(FIDUCIAL_KEYS):
            v = getattr(fid, key)
            out[i, j] = np.nan if v is None else float(v)
    return out


def st_level_index(qrs_off: int, fs: float) -> int:
    """Sample where the ST level is measured: :data:`ST_LEVEL_MS` after the J point."""
    return int(qrs_off) + round(ST_LEVEL_MS * fs / 1000.0)


def region_bounds(fid_row: np.ndarray, width: int | None
                  ) -> dict[str, tuple[int, int] | None]:
    """Half-open ``[start, stop)`` sample bounds of each region for one record.

    Clipped to ``[0, width)``; ``width=None`` leaves them unclipped (figures that draw a
    region partly outside the window clip it themselves).
    """

    def get(key: str) -> int | None:
        v = fid_row[_K[key]]
        return None if not np.isfinite(v) else round(float(v))

    def clip(a: int, b: int) -> tuple[int, int] | None:
        if width is not None:
            a, b = max(0, a), min(width, b)
        return (a, b) if b > a else None

    qrs_on, qrs_off = get("qrs_on"), get("qrs_off")
    p_on, p_off = get("p_on"), get("p_off")
    t_peak, t_off = get("t_peak"), get("t_off")
    out: dict[str, tuple[int, int] | None] = dict.fromkeys(REGIONS)
    if qrs_on is not None and qrs_off is not None:
        out["QRS"] = clip(qrs_on, qrs_off + 1)
    if p_on is not None and p_off is not None:
        stop = p_off + 1 if qrs_on is None else min(p_off + 1, qrs_on)
        out["P"] = clip(p_on, stop)
    if qrs_off is not None and t_peak is not None and t_peak > qrs_off:
        mid = (qrs_off + t_peak) // 2
        out["ST"] = clip(qrs_off + 1, mid)
        if t_off is not None:
            out["T"] = clip(mid, t_off + 1)
    return out


def region_masks(fiducials: Any, width: int) -> dict[str, np.ndarray]:
    """Boolean masks ``[N, width]`` for P, QRS, ST, T and ``other`` (the rest).

    The five masks partition every window: each sample is in exactly one.
    """
    fid = fiducial_array(fiducials)
    n = fid.shape[0]
    masks = {name: np.zeros((n, width), dtype=bool) for name in REGIONS}
    for i in range(n):
        for name, bounds in region_bounds(fid[i], width).items():
            if bounds is not None:
                masks[name][i, bounds[0] : bounds[1]] = True
    masks["other"] = ~np.any(np.stack([masks[r] for r in REGIONS]), axis=0)
    return masks
