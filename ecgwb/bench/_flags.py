"""How well the ``uncertain`` flags of the P duration, PR, QRS duration and QT point at the
values that are off (`ecgwb bench delineation --parts flags`; docs/DELINEATION.md log items
23–25).

Every judge's record (or subset of its leads) is delineated as ``ecgwb delineate`` does
(:func:`ecgcore.signal.record_delineation.delineate_signal`, per beat), its intervals
compared with a reference and each flag read twice: the beats' spread alone (fewer than
three beats, or an IQR over beats beyond the IEC SD tolerance) and with the median beat's
own doubts (``Fiducials.t_ambiguous``: the QT's only; doubts of the QRS and of the P onset
were tried and not adopted, log items 24 and 25, so those two columns agree for P, PR and
QRS). A value is *off* when further than :data:`OFF_MS` from its reference (scored where
both report it). Recall: the share of off values flagged; precision: the share of flagged values
that are off.

Judges: LUDB dev's leads I, II, V1, V5 alone (QRS and QT against that lead's own marks, P
and PR against the global ones), LUDB read as two leads (:data:`ecgwb.bench._single_lead.LUDB_PAIRS`,
global marks), QTDB's Holter leads alone and together (the cardiologist's global marks),
PTB-XL read as few leads (:data:`ecgwb.bench._single_lead.PTBXL_SUBSETS`, against its twelve
leads), and LUDB's twelve leads (global marks: how often a flag fires where the value is
usually right).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgwb.bench._single_lead import (
    LUDB_LEADS,
    LUDB_PAIRS,
    PTBXL_SUBSETS,
    ptbxl_with_reference,
    qtdb_with_reference,
)

#: A value further than this from its reference (ms) is off: about twice the IEC SD
#: tolerance (P 15, PR 10, QRS 10, QT 30 ms; the QT's 50 ms is item 23's).
OFF_MS = {"p_ms": 30.0, "pr_ms": 20.0, "qrs_ms": 20.0, "qt_ms": 50.0}
FLAGGED = tuple(OFF_MS)


def _measure(signal: np.ndarray, fs: float, leads: tuple[str, ...], powerline_hz: float | None
             ) -> dict:
    """The intervals (ms) the product reports (the median beat's; a lone lead's QRS the
    segmenter's) and each one's flag from the beats alone and with the median beat's own
    doubts."""
    from ecgcore.signal.record_delineation import (
        delineate_signal,
        interval_confidence,
        with_one_lead_qrs_confidence,
    )

    d = delineate_signal(signal, fs, leads, per_lead=False, powerline_hz=powerline_hz)
    plain = replace(d.median, t_ambiguous=False)
    beats_only = with_one_lead_qrs_confidence(interval_confidence(d.beats, plain),
                                              d.one_lead_qrs_beats)
    both = d.confidence()
    out = {}
    for key in FLAGGED:
        out[key] = d.intervals[key]
        out[f"{key}_flag_beats"] = beats_only[key]["uncertain"]
        out[f"{key}_flag_with_doubts"] = both[key]["uncertain"]
    return out


def _row(judge: str, name: str, signal: np.ndarray, fs: float, leads: tuple[str, ...],
         reference: dict, powerline_hz: float | None = 50.0) -> dict:
    row = {"judge": judge, "record": name, "error": None,
           **{f"reference_{key}": reference.get(key) for key in FLAGGED}}
    try:
        row.update(_measure(signal, fs, leads, powerline_hz))
    except Exception as exc:  # noqa: BLE001 -- a failed record is counted
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def _ludb(ludb_dir: Path) -> Iterator[dict]:
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import list_ludb_records, ludb_expert_intervals
    from ecgwb.bench._single_lead import lead_marks_ms

    for path in list_ludb_records(ludb_dir):
        record = read_wfdb(path)
        names = list(record.leads)
        expert = ludb_expert_intervals(path)
        yield _row("LUDB, twelve leads", path.name, record.signal, record.fs, tuple(names), expert)
        for lead in LUDB_LEADS:
            i = names.index(lead)
            own = {**expert, **lead_marks_ms(path, lead.lower())}
            yield _row("LUDB, one lead alone", f"{path.name} {lead}", record.signal[i: i + 1],
                       record.fs, (lead,), own)
        for pair in LUDB_PAIRS:
            idx = [names.index(lead) for lead in pair]
            yield _row("LUDB, two leads", f"{path.name} {'+'.join(pair)}", record.signal[idx],
                       record.fs, pair, expert)


def _qtdb(qtdb_dir: Path) -> Iterator[dict]:
    for name, w, expert in qtdb_with_reference(qtdb_dir):
        usable = [i for i in range(w.signal.shape[0]) if np.isfinite(w.signal[i]).all()]
        for i in usable:
            yield _row("QTDB, one Holter lead alone", f"{name} {w.leads[i]}",
                       w.signal[i: i + 1], w.fs, (w.leads[i],), expert, None)
        if len(usable) == 2:
            yield _row("QTDB, two leads", name, w.signal, w.fs, w.leads, expert, None)


def _ptbxl(ptbxl_dir: Path, subsets: tuple[tuple[str, ...], ...]) -> Iterator[dict]:
    def twelve(record) -> dict:
        return _measure(record.signal, record.fs, tuple(record.leads), 50.0)

    for name, record, reference in ptbxl_with_reference(ptbxl_dir, twelve):
        names = list(record.leads)
        for subset in subsets:
            idx = [names.index(lead) for lead in subset]
            judge = "PTB-XL, one lead alone" if len(subset) == 1 else "PTB-XL, two leads"
            yield _row(judge, f"{name} {'+'.join(subset)}", record.signal[idx], record.fs,
                       subset, reference)


def flag_rows(ludb_dir: str | Path, qtdb_dir: str | Path, ptbxl_dir: str | Path,
              ptbxl_subsets: tuple[tuple[str, ...], ...] = PTBXL_SUBSETS) -> pd.DataFrame:
    """One row per judged record (or subset of its leads): P, PR, QRS and QT, their
    references and both flags of each; PTB-XL read as each of ``ptbxl_subsets``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [*_ludb(Path(ludb_dir)), *_qtdb(Path(qtdb_dir)),
                *_ptbxl(Path(ptbxl_dir), ptbxl_subsets)]
    return pd.DataFrame(rows)


def _scores(df: pd.DataFrame, key: str) -> dict:
    ok = df[df["error"].isna()]
    both = ok.dropna(subset=[key, f"reference_{key}"])
    off = (both[key] - both[f"reference_{key}"]).abs() > OFF_MS[key]
    out = {"n": len(both), "off": int(off.sum())}
    for col, label in (("flag_beats", "beats"), ("flag_with_doubts", "with doubts")):
        flag = both[f"{key}_{col}"].astype(bool)
        out[f"flagged ({label})"] = int(flag.sum())
        out[f"recall ({label})"] = round(float((off & flag).sum() / max(off.sum(), 1)), 2)
        out[f"precision ({label})"] = round(float((off & flag).sum() / max(flag.sum(), 1)), 2)
    return out


def flag_table(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """For ``key`` (one of :data:`FLAGGED`), per judge and pooled over the few-lead judges:
    values scored, values off, and each flag's count, recall and precision."""
    table = [{"judge": judge, **_scores(g, key)} for judge, g in rows.groupby("judge", sort=False)]
    few = rows[rows["judge"] != "LUDB, twelve leads"]
    table.append({"judge": "pooled, one or two leads", **_scores(few, key)})
    return pd.DataFrame(table)
