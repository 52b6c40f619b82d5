"""P, QRS, ST and T regions over a whole 10-s signal, for models that read raw signals.

A record's median-beat fiducials (``[7]`` in :data:`ecgcore.data.cache.FIDUCIAL_KEYS`
order, sample indices in the median window), taken relative to the median's R, are placed
at every R peak of the record's cleaned signal, so each beat gets the median beat's
regions (:func:`ecgcore.signal.regions.region_bounds`). Each beat owns the samples
between the midpoints to its neighbours' R peaks (the signal's ends for the first and last
beat): its regions are clipped to that span, so beats never overlap. Samples in no region
(TP baseline, the PR segment, the edges of a beat's span) are "other", as in the median
window, so the same five masks partition the signal. A record without an R fiducial or
without a detected beat is all "other".

R peaks come from the pipeline's own steps (:func:`ecgcore.signal.rpeaks.ecg_peaks`, then
:func:`ecgcore.signal.beats.align_to_template`), which put each peak where the median
beat's R sits, run on the cached cleaned signal (a few ms per record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgcore.signal.beats import align_to_template
from ecgcore.signal.regions import REGIONS, fiducial_array, region_bounds
from ecgcore.signal.rpeaks import ecg_peaks


def signal_rpeaks(signals: Any, fs: float) -> list[np.ndarray]:
    """R-peak sample indices of each cleaned signal ``[N, leads, T]`` (or one ``[leads, T]``).

    A signal the detector cannot read (all leads flat or missing) has no peaks.
    """
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"signals must be [N, leads, samples], got shape {x.shape}")
    out = []
    for sig in x:
        try:
            peaks = ecg_peaks(sig, fs)
        except ValueError:  # flat or empty record: no beat to place regions on
            peaks = np.zeros(0, dtype=np.int64)
        out.append(np.asarray(align_to_template(sig, peaks, fs) if peaks.size else peaks,
                              dtype=np.int64))
    return out


def beat_spans(rpeaks: Any, n_samples: int) -> np.ndarray:
    """Half-open ``[start, stop)`` span ``[k, 2]`` of each beat: from the midpoint to the
    previous R peak (0 for the first) to the midpoint to the next (``n_samples`` for the
    last). Spans tile ``[0, n_samples)`` without overlap."""
    r = np.sort(np.asarray(rpeaks, dtype=np.int64).ravel())
    if r.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    mids = (r[:-1] + r[1:] + 1) // 2
    starts = np.concatenate([[0], mids])
    stops = np.concatenate([mids, [n_samples]])
    return np.clip(np.stack([starts, stops], axis=1), 0, n_samples)


def signal_region_masks(fiducials: Any, rpeaks: Sequence[Any], n_samples: int
                        ) -> dict[str, np.ndarray]:
    """Boolean masks ``[N, n_samples]`` for P, QRS, ST, T and ``other`` over whole signals.

    ``fiducials``: the records' median-beat fiducials ``[N, 7]``; ``rpeaks``: per record,
    the R-peak sample indices in the signal. The five masks partition every signal.
    """
    fid = fiducial_array(fiducials)
    if len(rpeaks) != fid.shape[0]:
        raise ValueError(f"{len(rpeaks)} R-peak lists for {fid.shape[0]} fiducial rows")
    n = fid.shape[0]
    masks = {name: np.zeros((n, n_samples), dtype=bool) for name in REGIONS}
    for i in range(n):
        r_med = fid[i, 0]  # FIDUCIAL_KEYS[0] == "r"
        if not np.isfinite(r_med):
            continue
        relative = fid[i] - r_med  # fiducials as offsets from the median's R
        for r, (lo, hi) in zip(np.sort(np.asarray(rpeaks[i], dtype=np.int64).ravel()),
                               beat_spans(rpeaks[i], n_samples)):
            for name, bounds in region_bounds(relative + r, n_samples).items():
                if bounds is not None:
                    a, b = max(bounds[0], lo), min(bounds[1], hi)
                    if b > a:
                        masks[name][i, a:b] = True
    masks["other"] = ~np.any(np.stack([masks[r] for r in REGIONS]), axis=0)
    return masks
