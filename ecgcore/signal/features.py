"""Classical ECG measurements from a median beat, its fiducials and the RR intervals.

Intervals in ms, amplitudes in µV. Amplitudes are measured against the isoelectric level
just before QRS onset (the 20 ms ending 5 ms before it), as is usual for median beats.
"""

from __future__ import annotations

import math

import numpy as np

from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.fiducials import Fiducials

#: The interval keys, in the order `ecgwb measure` prints them.
INTERVAL_KEYS = ("hr_bpm", "rr_mean_ms", "rr_sd_ms", "p_ms", "pr_ms", "qrs_ms", "qt_ms",
                 "qtc_ms", "qtc_fridericia_ms", "axis_deg")


def _nan(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def isoelectric_level(median: np.ndarray, fid: Fiducials) -> np.ndarray:
    """Per-lead baseline: mean of the 20 ms ending 5 ms before QRS onset."""
    end = max(1, fid.qrs_on - int(round(0.005 * fid.fs)))
    start = max(0, end - max(1, int(round(0.020 * fid.fs))))
    return median[:, start:end].mean(axis=1)


def qrs_axis_deg(median: np.ndarray, fid: Fiducials, leads=STANDARD_LEADS) -> float:
    """Frontal QRS axis from the net QRS areas of leads I and aVF (degrees, −180..180]."""
    if "I" not in leads or "aVF" not in leads:
        return float("nan")
    base = isoelectric_level(median, fid)
    qrs = median[:, fid.qrs_on : fid.qrs_off + 1] - base[:, None]
    net = qrs.sum(axis=1)
    leads = tuple(leads)
    i, avf = net[leads.index("I")], net[leads.index("aVF")]
    if not (np.isfinite(i) and np.isfinite(avf)) or (i == 0 and avf == 0):
        return float("nan")
    return float(np.degrees(np.arctan2(avf, i)))


def wave_amplitudes(median: np.ndarray, fid: Fiducials, leads=STANDARD_LEADS) -> dict[str, float]:
    """R (largest positive), S (largest negative, as a positive number) and T amplitudes.

    T is the signed deflection of largest magnitude between QRS offset and T offset
    (or 400 ms after QRS offset when T offset is unknown).
    """
    base = isoelectric_level(median, fid)
    x = median - base[:, None]
    qrs = x[:, fid.qrs_on : fid.qrs_off + 1]
    t_end = fid.t_off if fid.t_off is not None else min(x.shape[1] - 1, fid.qrs_off + int(0.4 * fid.fs))
    t_seg = x[:, fid.qrs_off + int(round(0.04 * fid.fs)) : t_end + 1]
    out: dict[str, float] = {}
    for k, name in enumerate(leads):
        if not np.isfinite(x[k]).all():  # an absent or left-out lead has no amplitudes
            for wave in ("r", "s", "t"):
                out[f"{wave}_amp_{name}_uv"] = float("nan")
            continue
        out[f"r_amp_{name}_uv"] = float(max(0.0, np.max(qrs[k])))
        out[f"s_amp_{name}_uv"] = float(max(0.0, -np.min(qrs[k])))
        if t_seg.shape[1]:
            j = int(np.argmax(np.abs(t_seg[k])))
            out[f"t_amp_{name}_uv"] = float(t_seg[k, j])
        else:
            out[f"t_amp_{name}_uv"] = float("nan")
    return out


def ecg_features(
    median: np.ndarray, fid: Fiducials, rr_ms: np.ndarray, leads=STANDARD_LEADS,
    intervals: dict[str, float | None] | None = None,
) -> dict[str, float]:
    """All classical features of one record as a flat dict (NaN where not measurable).

    ``intervals``: the record's ``p_ms``, ``pr_ms``, ``qrs_ms``, ``qt_ms`` when they come
    from elsewhere than ``fid`` (the median over beats); QTc follows the QT given.
    """
    rr = np.asarray(rr_ms, dtype=float)
    rr_mean = float(rr.mean()) if rr.size else float("nan")
    rr_sd = float(rr.std(ddof=1)) if rr.size > 1 else float("nan")
    iv = intervals if intervals is not None else fid.intervals()
    qt = _nan(iv["qt_ms"])
    rr_s = rr_mean / 1000.0
    feats = {
        "hr_bpm": 60000.0 / rr_mean if rr.size else float("nan"),
        "rr_mean_ms": rr_mean,
        "rr_sd_ms": rr_sd,
        "p_ms": _nan(iv["p_ms"]),
        "pr_ms": _nan(iv["pr_ms"]),
        "qrs_ms": _nan(iv["qrs_ms"]),
        "qt_ms": qt,
        "qtc_ms": qt / math.sqrt(rr_s) if rr.size else float("nan"),  # Bazett
        "qtc_fridericia_ms": qt / rr_s ** (1 / 3) if rr.size else float("nan"),
        "axis_deg": qrs_axis_deg(median, fid, leads),
    }
    feats.update(wave_amplitudes(median, fid, leads))
    return feats


#: Leads a feature needs, beyond the one lead every interval can be measured on.
FEATURE_LEADS = {"axis_deg": ("I", "aVF")}


def missing_feature_reasons(features: dict[str, float], usable: tuple[str, ...]) -> dict[str, str]:
    """Why each NaN interval feature is missing: the leads it needs that the record lacks,
    or the wave the delineation did not find. Amplitudes of absent leads are NaN by name."""
    reasons: dict[str, str] = {}
    for key, needed in FEATURE_LEADS.items():
        absent = [lead for lead in needed if lead not in usable]
        if absent:
            reasons[key] = f"needs leads {' and '.join(needed)}; absent or left out: {', '.join(absent)}"
    no_p = ("no P wave found on the median beat, or in half the beats when the intervals come "
            "from them (none in atrial fibrillation or junctional rhythm; or too small in the "
            "leads used)")
    no_t = "T-wave end not found on the median beat, or in half the beats"
    waves = {"p_ms": no_p, "pr_ms": no_p, "qt_ms": no_t, "qtc_ms": no_t, "qtc_fridericia_ms": no_t}
    for key in INTERVAL_KEYS:
        if key not in reasons and not math.isfinite(features.get(key, float("nan"))):
            reasons[key] = waves.get(key, "not measurable on this record")
    return reasons
