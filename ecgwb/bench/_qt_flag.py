"""How well the QT's ``uncertain`` flag points at the QTs that are off (`ecgwb bench
delineation --parts qt_flag`; docs/DELINEATION.md log item 23).

Every judge's record (or subset of its leads) is delineated as ``ecgwb delineate`` does
(:func:`ecgcore.signal.record_delineation.delineate_signal`, per beat), its QT compared with
a reference and its flag read twice: the beats' spread alone (fewer than three beats, or an
IQR over beats above 30 ms) and with the median beat's T-end ambiguity
(``Fiducials.t_ambiguous``). A QT is *off* when more than :data:`OFF_MS` from its reference.
Recall: the share of off QTs flagged; precision: the share of flagged QTs that are off.

Judges: LUDB dev's leads I, II, V1, V5 alone (against that lead's own marks), LUDB read as
two leads (:data:`ecgwb.bench._single_lead.LUDB_PAIRS`, global marks), QTDB's Holter leads
alone and together (the cardiologist's global marks), PTB-XL read as few leads
(:data:`ecgwb.bench._single_lead.PTBXL_SUBSETS`, against its twelve leads), and LUDB's
twelve leads (global marks: how often the flag fires where the QT is usually right).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgwb.bench._single_lead import LUDB_LEADS, LUDB_PAIRS, PTBXL_SUBSETS

#: A QT further than this from its reference (ms) is off: beyond anything the IEC SD
#: tolerance (30 ms) allows in more than a few per cent of records.
OFF_MS = 50.0


def _measure(signal: np.ndarray, fs: float, leads: tuple[str, ...], powerline_hz: float | None
             ) -> tuple[float | None, bool, bool]:
    """QT (ms) of the record's median beat, its flag from the beats alone and with the
    T-end ambiguity."""
    from ecgcore.signal.record_delineation import delineate_signal, interval_confidence

    d = delineate_signal(signal, fs, leads, per_lead=False, powerline_hz=powerline_hz)
    beats_only = interval_confidence(d.beats, replace(d.median, t_ambiguous=False))
    return (d.median_beat_intervals["qt_ms"], beats_only["qt_ms"]["uncertain"],
            d.confidence()["qt_ms"]["uncertain"])


def _rows(judge: str, name: str, signal: np.ndarray, fs: float, leads: tuple[str, ...],
          reference: float | None, powerline_hz: float | None = 50.0) -> dict:
    try:
        qt, before, after = _measure(signal, fs, leads, powerline_hz)
        error = None
    except Exception as exc:  # noqa: BLE001 -- a failed record is counted
        qt, before, after, error = None, False, False, f"{type(exc).__name__}: {exc}"
    return {"judge": judge, "record": name, "qt_ms": qt, "reference_qt_ms": reference,
            "flag_beats": before, "flag_with_ambiguity": after, "error": error}


def _ludb(ludb_dir: Path) -> Iterator[dict]:
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import list_ludb_records, ludb_expert_intervals
    from ecgwb.bench._single_lead import lead_marks_ms

    for path in list_ludb_records(ludb_dir):
        record = read_wfdb(path)
        names = list(record.leads)
        expert = ludb_expert_intervals(path)["qt_ms"]
        yield _rows("LUDB, twelve leads", path.name, record.signal, record.fs, tuple(names), expert)
        for lead in LUDB_LEADS:
            i = names.index(lead)
            yield _rows("LUDB, one lead alone", f"{path.name} {lead}", record.signal[i: i + 1],
                        record.fs, (lead,), lead_marks_ms(path, lead.lower())["qt_ms"])
        for pair in LUDB_PAIRS:
            idx = [names.index(lead) for lead in pair]
            yield _rows("LUDB, two leads", f"{path.name} {'+'.join(pair)}", record.signal[idx],
                        record.fs, pair, expert)


def _qtdb(qtdb_dir: Path) -> Iterator[dict]:
    from ecgcore.io.qtdb import list_qtdb_records, qtdb_expert_intervals, read_qtdb_window

    for path in list_qtdb_records(qtdb_dir):
        expert = qtdb_expert_intervals(path)["qt_ms"]
        w = read_qtdb_window(path)
        usable = [i for i in range(w.signal.shape[0]) if np.isfinite(w.signal[i]).all()]
        for i in usable:
            yield _rows("QTDB, one Holter lead alone", f"{path.name} {w.leads[i]}",
                        w.signal[i: i + 1], w.fs, (w.leads[i],), expert, None)
        if len(usable) == 2:
            yield _rows("QTDB, two leads", path.name, w.signal, w.fs, w.leads, expert, None)


def _ptbxl(ptbxl_dir: Path) -> Iterator[dict]:
    from ecgcore.io import read_wfdb
    from ecgwb.bench._ptbxl_labels import RATE_FILES

    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    for _, rec in db.iterrows():
        record = read_wfdb(ptbxl_dir / rec[RATE_FILES[500]])
        names = list(record.leads)
        try:
            twelve, _, _ = _measure(record.signal, record.fs, tuple(names), 50.0)
        except Exception:  # noqa: BLE001 -- no reference, nothing to judge
            continue
        for subset in PTBXL_SUBSETS:
            idx = [names.index(lead) for lead in subset]
            judge = "PTB-XL, one lead alone" if len(subset) == 1 else "PTB-XL, two leads"
            yield _rows(judge, f"{int(rec['ecg_id'])} {'+'.join(subset)}", record.signal[idx],
                        record.fs, subset, twelve)


def qt_flag_rows(ludb_dir: str | Path, qtdb_dir: str | Path, ptbxl_dir: str | Path
                 ) -> pd.DataFrame:
    """One row per judged record (or subset of its leads): QT, reference, both flags."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [*_ludb(Path(ludb_dir)), *_qtdb(Path(qtdb_dir)), *_ptbxl(Path(ptbxl_dir))]
    return pd.DataFrame(rows)


def _scores(df: pd.DataFrame) -> dict:
    ok = df[df["error"].isna()]
    both = ok.dropna(subset=["qt_ms", "reference_qt_ms"])
    off = (both["qt_ms"] - both["reference_qt_ms"]).abs() > OFF_MS
    out = {"n": len(both), "off": int(off.sum())}
    for col, label in (("flag_beats", "beats"), ("flag_with_ambiguity", "with ambiguity")):
        flag = both[col].astype(bool)
        out[f"flagged ({label})"] = int(flag.sum())
        out[f"recall ({label})"] = round(float((off & flag).sum() / max(off.sum(), 1)), 2)
        out[f"precision ({label})"] = round(float((off & flag).sum() / max(flag.sum(), 1)), 2)
    return out


def qt_flag_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per judge, and pooled over the few-lead judges: QTs scored, QTs off, and each flag's
    count, recall and precision."""
    table = [{"judge": judge, **_scores(g)} for judge, g in rows.groupby("judge", sort=False)]
    few = rows[rows["judge"] != "LUDB, twelve leads"]
    table.append({"judge": "pooled, one or two leads", **_scores(few)})
    return pd.DataFrame(table)
