"""A factor annotation (:mod:`ecgcore.explain.annotation`) in a clinician's words.

:func:`unit_words` turns one unit's rows into "deeper S in V1–V2, smaller T in II; ρ −0.48
with S amplitude in V2 over the cohort"; :func:`signed` writes numbers with a typographic
minus and never as −0; :func:`lost_waves` says which measurements could be made at the
cohort mean but not at an end of the traversal (a wave the decoder no longer draws).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from ecgcore.explain.annotation import describe_measurement

_AMP = re.compile(r"^(r|s|t)_amp_(\w+)$")
#: (bigger magnitude at +σ, smaller) per wave.
_AMP_WORDS = {"r": ("taller R", "smaller R"), "s": ("deeper S", "shallower S"),
              "t": ("larger T", "smaller T")}
_INTERVAL = {"qrs_ms": "QRS", "qt_ms": "QT", "pr_ms": "PR", "p_ms": "P wave"}
_PRECORDIAL = ["V1", "V2", "V3", "V4", "V5", "V6"]


def signed(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals and a typographic minus; ``0`` never reads −0;
    '—' for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def change_words(measurement: str, at_minus: float, at_plus: float) -> str:
    """What moving from −σ to +σ does to one measurement: 'deeper S in V2', 'longer QRS'."""
    change = at_plus - at_minus
    if measurement in _INTERVAL:
        return f"{'longer' if change > 0 else 'shorter'} {_INTERVAL[measurement]}"
    if measurement == "axis_deg":
        return f"axis {'further right' if change > 0 else 'further left'}"
    m = _AMP.match(measurement)
    if m:
        wave, lead = m.groups()
        bigger, smaller = _AMP_WORDS[wave]
        return f"{bigger if abs(at_plus) > abs(at_minus) else smaller} in {lead}"
    if measurement.startswith("st_"):
        lead = measurement.split("_")[1]
        return f"{'higher' if change > 0 else 'lower'} ST in {lead}"
    return f"{describe_measurement(measurement)[1]} {'up' if change > 0 else 'down'}"


def _join_leads(leads: list[str]) -> str:
    """'V1–V3' for consecutive precordial leads, else 'II, V5'."""
    if len(leads) > 1 and all(lead in _PRECORDIAL for lead in leads):
        idx = sorted(_PRECORDIAL.index(lead) for lead in leads)
        if idx == list(range(idx[0], idx[-1] + 1)):
            return f"{_PRECORDIAL[idx[0]]}–{_PRECORDIAL[idx[-1]]}"
    return ", ".join(leads)


def unit_words(unit: int, rows: pd.DataFrame, span: float = 3.0, top: int = 3) -> str:
    """One unit in words, from its annotation rows (columns ``measurement``, ``at_minus``,
    ``at_plus``, ``change_sd``, ``monotonic``, ``cohort_rho``): the ``top`` monotonic
    changes (largest in cohort SDs) from −span σ to +span σ, the same words for several
    leads merged, then the strongest cohort correlation."""
    ok = rows.dropna(subset=["change_sd", "at_minus", "at_plus"])
    ok = ok[ok["monotonic"].astype(bool)]
    ok = ok.assign(size=ok["change_sd"].abs()).sort_values("size", ascending=False).head(top)
    phrases: dict[str, list[str]] = {}
    for _, r in ok.iterrows():
        words = change_words(r["measurement"], r["at_minus"], r["at_plus"])
        head, _, lead = words.partition(" in ")
        phrases.setdefault(head, []).extend([lead] if lead else [])
    said = ", ".join(f"{h} in {_join_leads(ls)}" if ls else h for h, ls in phrases.items())
    text = f"z{unit}: towards +{span:g}σ, " + (said or "no steady change in the measurements")
    corr = rows.dropna(subset=["cohort_rho"])
    if len(corr):
        best = corr.loc[corr["cohort_rho"].abs().idxmax()]
        if abs(best["cohort_rho"]) >= 0.1:
            text += (f"; ρ {signed(best['cohort_rho'])} with "
                     f"{describe_measurement(best['measurement'])[1]} over the cohort")
    return text


def lost_waves(rows: pd.DataFrame, at_mean: pd.Series, span: float = 3.0) -> list[str]:
    """'PR interval, P duration: not measurable at −3σ (no wave found there)' for the
    measurements that are measured at the cohort mean but not at an end."""
    notes = []
    for end, col in ((f"−{span:g}σ", "at_minus"), (f"+{span:g}σ", "at_plus")):
        lost = [describe_measurement(m)[1] for m, v in zip(rows["measurement"], rows[col])
                if pd.isna(v) and pd.notna(at_mean.get(m))]
        if lost:
            notes.append(f"{', '.join(lost)}: not measurable at {end} — the decoded beat has "
                         "no such wave there (the delineator found none)")
    return notes
