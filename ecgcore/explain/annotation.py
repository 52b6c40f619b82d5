"""Factor annotation: what each latent unit does, in the clinician's measurements.

For every unit, its traversal (−3σ..+3σ, others at the cohort mean; see
:mod:`ecgcore.explain.traversal`) is decoded, converted to µV (``scale_to_uv``), delineated
with :func:`ecgcore.signal.delineate.ecg_delineate` and measured with
:func:`ecgcore.signal.features.ecg_features` (plus the ST level at J + 60 ms,
:func:`ecgcore.signal.regions.st_level_index`). Reported:

- the measurement at −3σ and +3σ and the change between them (ms, °, µV);
- Spearman ρ of the measurement against the step, and ``monotonic``: the measurement
  never decreases (or never increases) along the steps and changes overall — intervals
  move in whole samples, so plateaus are allowed;
- Spearman ρ of the unit's value with the same measurement over the cohort's beats;
- one sentence per unit: ``"z3: +3σ → QRS +22 ms, ρ = 0.71 with QRS duration"`` (change
  from −3σ to +3σ of the measurement that changes most relative to its cohort SD among the
  monotonic ones; units are numbered from 0, as the latent columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.delineate import ecg_delineate
from ecgcore.signal.features import ecg_features, isoelectric_level, wave_amplitudes
from ecgcore.signal.regions import st_level_index

from ._model_io import encode_means, to_numpy
from .traversal import factor_traversal

INTERVALS = ("qrs_ms", "qt_ms", "pr_ms", "p_ms", "axis_deg")
R_LEADS = ("I", "II", "V1", "V5")
S_LEADS = ("V1", "V2")
T_LEADS = ("I", "II", "V2", "V5")
ST_LEADS = ("II", "V2", "V5")

_SHORT = {"qrs_ms": "QRS", "qt_ms": "QT", "pr_ms": "PR", "p_ms": "P", "axis_deg": "axis"}
_LONG = {"qrs_ms": "QRS duration", "qt_ms": "QT interval", "pr_ms": "PR interval",
         "p_ms": "P duration", "axis_deg": "QRS axis"}
_WAVE = {"r_amp": "R", "s_amp": "S", "t_amp": "T", "st": "ST"}


def describe_measurement(name: str) -> tuple[str, str, str]:
    """(short label, long label, unit) of a measurement name."""
    if name in _SHORT:
        return _SHORT[name], _LONG[name], "°" if name == "axis_deg" else "ms"
    parts = name.split("_")
    if parts[0] == "st":
        wave, lead = "st", parts[1]
    else:
        wave, lead = f"{parts[0]}_{parts[1]}", parts[2]
    w = _WAVE.get(wave, wave)
    return f"{w} {lead}", f"{w} amplitude in {lead}" if w != "ST" else f"ST level in {lead}", "µV"


def default_measurements(leads: Sequence[str]) -> list[str]:
    """Intervals, axis and amplitudes in a few leads (all leads when none of the usual
    12-lead names is present, e.g. X, Y, Z)."""
    leads = list(leads)

    def pick(pref: Sequence[str]) -> list[str]:
        got = [lead for lead in pref if lead in leads]
        return got or leads

    out = [m for m in INTERVALS if m != "axis_deg" or {"I", "aVF"} <= set(leads)]
    out += [f"r_amp_{lead}_uv" for lead in pick(R_LEADS)]
    out += [f"s_amp_{lead}_uv" for lead in pick(S_LEADS)]
    out += [f"t_amp_{lead}_uv" for lead in pick(T_LEADS)]
    out += [f"st_{lead}_uv" for lead in pick(ST_LEADS)]
    return out


def _st_levels(beat: np.ndarray, fid: Any, leads: Sequence[str], fs: float) -> dict[str, float]:
    """ST level (µV) at the ST measurement point (J + 60 ms,
    :data:`ecgcore.signal.regions.ST_LEVEL_MS`) against the isoelectric level before QRS
    onset."""
    base = isoelectric_level(beat, fid)
    j = st_level_index(fid.qrs_off, fs)
    if j >= beat.shape[1]:
        return {f"st_{lead}_uv": float("nan") for lead in leads}
    return {f"st_{lead}_uv": float(beat[k, j] - base[k]) for k, lead in enumerate(leads)}


def measure_beats(
    beats_uv: Any,
    fs: float,
    r_index: int,
    leads: Sequence[str] = STANDARD_LEADS,
    measurements: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Classical measurements of beats ``[n, leads, W]`` in µV whose R peak is at ``r_index``.

    One row per beat; NaN where delineation fails or a wave is absent. Intervals in ms,
    axis in degrees, amplitudes and ST levels in µV.
    """
    beats = np.asarray(to_numpy(beats_uv), dtype=np.float64)
    if beats.ndim == 2:
        beats = beats[None]
    leads = list(leads)
    if beats.shape[1] != len(leads):
        raise ValueError(f"{len(leads)} lead names for beats with {beats.shape[1]} leads")
    names = list(measurements) if measurements is not None else default_measurements(leads)
    rows = []
    for beat in beats:
        row = dict.fromkeys(names, float("nan"))
        try:
            fid = ecg_delineate(beat, fs, r_index)
        except ValueError:
            rows.append(row)
            continue
        if {"I", "aVF"} <= set(leads):
            feats = ecg_features(beat, fid, np.array([]), leads)
        else:  # no frontal axis without leads I and aVF (e.g. Kors X, Y, Z)
            feats = {k: float("nan") if v is None else float(v)
                     for k, v in (("qrs_ms", fid.qrs_ms), ("qt_ms", fid.qt_ms),
                                  ("pr_ms", fid.pr_ms), ("p_ms", fid.p_ms))}
            feats.update(wave_amplitudes(beat, fid, leads))
        feats.update(_st_levels(beat, fid, leads, fs))
        for name in names:
            if name in feats:
                row[name] = float(feats[name])
        rows.append(row)
    return pd.DataFrame(rows, columns=names)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def _monotonic(v: np.ndarray) -> bool:
    if not np.isfinite(v).all() or v[-1] == v[0]:
        return False
    d = np.diff(v)
    return bool((d >= 0).all() or (d <= 0).all())


@dataclass
class FactorAnnotation:
    """``table``: one row per (unit, measurement); ``sentences``: {unit: text};
    ``cohort_correlation``: Spearman ρ, units × measurements; ``traversals``: {unit:
    DataFrame of the measurements at each step, indexed by the unit's value}."""

    table: pd.DataFrame
    sentences: dict[int, str]
    cohort_correlation: pd.DataFrame
    traversals: dict[int, pd.DataFrame] = field(default_factory=dict)


def _sentence(unit: int, rows: pd.DataFrame, span: float) -> str:
    ranked = rows.assign(size=rows["change_sd"].abs()).dropna(subset=["size"])
    mono = ranked[ranked["monotonic"]]
    pick = mono if len(mono) else ranked
    if not len(pick):
        return f"z{unit}: no measurable change along the traversal"
    best = pick.sort_values("size", ascending=False).iloc[0]
    short, long, uom = describe_measurement(best["measurement"])
    sep = "" if uom == "°" else " "
    text = f"z{unit}: +{span:g}σ → {short} {best['change']:+.0f}{sep}{uom}"
    if not best["monotonic"]:
        text += " (not monotonic)"
    if np.isfinite(best["cohort_rho"]):
        text += f", ρ = {best['cohort_rho']:.2f} with {long}"
    strongest = rows.dropna(subset=["cohort_rho"])
    if len(strongest):
        top = strongest.loc[strongest["cohort_rho"].abs().idxmax()]
        if top["measurement"] != best["measurement"] and abs(top["cohort_rho"]) >= 0.3:
            text += f"; strongest in the cohort: ρ = {top['cohort_rho']:.2f} with " \
                    f"{describe_measurement(top['measurement'])[1]}"
    return text


def annotate_factors(
    model: Any,
    x_cohort: Any,
    fs: float,
    r_index: int,
    scale_to_uv: float = 1.0,
    leads: Sequence[str] = STANDARD_LEADS,
    units: Sequence[int] | None = None,
    n_steps: int = 7,
    span: float = 3.0,
    z_cohort: Any = None,
    cohort_measurements: pd.DataFrame | None = None,
    measurements: Sequence[str] | None = None,
) -> FactorAnnotation:
    """Annotate latent units of ``model`` with classical measurements of their traversals.

    ``x_cohort``: the cohort's beats ``[N, leads, W]`` in the model's input scale; ``x ×
    scale_to_uv`` is µV. ``r_index``: the R peak's sample in the window. ``z_cohort``: the
    cohort's latent means when already computed. ``cohort_measurements``: the cohort's
    measurements (e.g. from the records table, same column names); measured here with
    :func:`measure_beats` when not given (about 2 ms per beat).
    """
    x = np.asarray(to_numpy(x_cohort), dtype=np.float64)
    z = encode_means(model, x) if z_cohort is None else np.asarray(to_numpy(z_cohort), float)
    names = list(measurements) if measurements is not None else default_measurements(leads)
    if cohort_measurements is None:
        cohort = measure_beats(x * scale_to_uv, fs, r_index, leads, names)
    else:
        cohort = cohort_measurements.reindex(columns=names).reset_index(drop=True)
        missing = [n for n in names if n not in cohort_measurements.columns]
        if missing:  # measure what the caller's table lacks, on the cohort's own beats
            measured = measure_beats(x * scale_to_uv, fs, r_index, leads, missing)
            for name in missing:
                cohort[name] = measured[name].to_numpy()
    if len(cohort) != len(z):
        raise ValueError(f"{len(cohort)} rows of cohort measurements for {len(z)} records")
    cohort_sd = cohort.std(ddof=0)
    units = list(range(z.shape[1])) if units is None else list(units)

    rows, sentences, traversals = [], {}, {}
    corr = pd.DataFrame(index=pd.Index(units, name="unit"), columns=names, dtype=float)
    for u in units:
        values, decoded = factor_traversal(model, z, u, n_steps, span)
        meas = measure_beats(decoded * scale_to_uv, fs, r_index, leads, names)
        meas.index = pd.Index(values, name=f"z{u}")
        traversals[u] = meas
        steps = np.arange(n_steps, dtype=float)
        unit_rows = []
        for name in names:
            v = meas[name].to_numpy(dtype=float)
            change = float(v[-1] - v[0])
            rho_c = _spearman(z[:, u], pd.to_numeric(cohort[name], errors="coerce")
                              .to_numpy(dtype=float))
            corr.loc[u, name] = rho_c
            sd = float(cohort_sd.get(name, np.nan))
            unit_rows.append({
                "unit": u, "measurement": name, "label": describe_measurement(name)[1],
                "uom": describe_measurement(name)[2],
                "at_minus": float(v[0]), "at_plus": float(v[-1]), "change": change,
                "rho_steps": _spearman(steps, v), "monotonic": _monotonic(v),
                "cohort_rho": rho_c,
                "change_sd": change / sd if np.isfinite(sd) and sd > 0 else float("nan"),
            })
        unit_df = pd.DataFrame(unit_rows)
        sentences[u] = _sentence(u, unit_df, span)
        rows.append(unit_df)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return FactorAnnotation(table, sentences, corr, traversals)


def units_by_effect(table: pd.DataFrame) -> list[int]:
    """The units of a factor-annotation table, strongest first: units with a monotonic
    measurement before the others, each group by its largest change from −3σ to +3σ in
    cohort SDs (``change_sd``); units with no measurable change last."""
    t = table.assign(size=table["change_sd"].abs().fillna(-1.0))
    mono = t[t["monotonic"].astype(bool)].groupby("unit")["size"].max()
    size = t.groupby("unit")["size"].max()
    key = {int(u): (u in mono.index, float(mono.get(u, size[u]))) for u in size.index}
    return sorted(key, key=lambda u: (not key[u][0], -key[u][1], u))
