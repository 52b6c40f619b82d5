"""Judges of few leads for `ecgwb bench delineation`: records of one lead (``--parts
single``) and of two (``--parts two_leads``).

A patch, a handheld recorder or one Holter channel gives one lead, and the pipeline then
delineates that lead alone; a two-channel Holter gives two. One lead alone, two judges:

- **LUDB dev**, leads I (a handheld recorder's), II, V1 and V5 each alone (the other
  eleven missing, as a one-lead file reads; what ``ecgwb measure`` runs), against the experts' global intervals (the LUDB
  judge's reference: a lone lead's QRS is shorter than the global one by nature, by about
  13 ms in lead II here) and against the experts' own marks in that lead (QRS and QT,
  median over the lead's marked beats). The per-lead QRS quiet duration a lone lead uses
  was chosen on these records' per-lead marks: not held out.
- **QTDB dev**, each of the two Holter leads alone (``delineate_signal``, what ``ecgwb
  delineate`` runs), against the cardiologist's global marks (``q1c``): cross-database.

Two leads: LUDB dev read as two-lead Holter recordings (:data:`LUDB_PAIRS`, the other ten
leads missing) against the experts' global intervals (log item 17's judge).

No expert marks (``--parts ptbxl_few_leads``): PTB-XL's records read as one or two leads
(:data:`PTBXL_SUBSETS`) against the same record measured on its twelve leads — agreement
with the project's 12-lead reading (log item 21's judge), not with a cardiologist.

Differences are method − reference in ms, one row per record and lead (or pair).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.record import Record
from ecgcore.signal.record_delineation import INTERVALS

LUDB_LEADS = ("I", "II", "V1", "V5")
#: Two-lead Holter montages: a limb-like lead with a right or left precordial one.
LUDB_PAIRS = (("II", "V1"), ("II", "V2"), ("II", "V5"))
#: PTB-XL read as few leads: a handheld recorder's lead I, a monitor's II, a patch's V5-like
#: lead, and two Holter montages.
PTBXL_SUBSETS = (("I",), ("II",), ("V5",), ("II", "V1"), ("II", "V5"))


def only_leads(record: Record, *leads: str) -> Record:
    """``record`` as a file of ``leads`` alone reads: the other leads missing (NaN)."""
    keep = [list(record.leads).index(lead) for lead in leads]
    signal = np.full_like(record.signal, np.nan)
    signal[keep] = record.signal[keep]
    return replace(record, signal=signal, bad_leads={},
                   missing_leads=tuple(name for name in record.leads if name not in leads))


def lead_marks_ms(path: Path, ext: str) -> dict[str, float | None]:
    """QRS duration and QT of one LUDB lead's own expert marks (median over its beats)."""
    import wfdb

    from ecgcore.io.ludb import _lead_waves

    fs = float(wfdb.rdheader(str(path)).fs)
    waves = _lead_waves(path, ext)
    qrs, t = waves["qrs"], waves["t"]
    durations, qts = [], []
    for on, _, off in qrs:
        if on < 0 or off < 0:
            continue
        durations.append((off - on) * 1000.0 / fs)
        later = t[(t[:, 2] > off) & (t[:, 2] < off + 0.8 * fs)]  # this beat's T end
        if later.size:
            qts.append((later[0, 2] - on) * 1000.0 / fs)
    return {"qrs_ms": float(np.median(durations)) if durations else None,
            "qt_ms": float(np.median(qts)) if qts else None}


def _row(method: str, record: str, ours: dict, expert: dict, error: str | None) -> dict:
    return {"record": record, "method": method, "error": error,
            **{m: ours.get(m) for m in INTERVALS},
            **{f"expert_{m}": expert.get(m) for m in INTERVALS}}


def ptbxl_with_reference(ptbxl_dir: str | Path, reference: Callable[[Record], dict],
                         limit: int | None = None) -> Iterator[tuple[str, Record, dict]]:
    """PTB-XL's records (500 Hz files, in the database's order, the first ``limit``) as
    ``(ecg_id, record, reference(record))``; a record that cannot be read or measured is left
    out: without a reference there is nothing to judge."""
    from ecgcore.io import read_wfdb
    from ecgcore.io.ptbxl import RATE_FILES

    folder = Path(ptbxl_dir)
    db = pd.read_csv(folder / "ptbxl_database.csv")
    for _, rec in (db.head(limit) if limit else db).iterrows():
        try:
            record = read_wfdb(folder / rec[RATE_FILES[500]])
            yield str(int(rec["ecg_id"])), record, reference(record)
        except Exception:  # noqa: BLE001 -- no reference, nothing to judge
            continue


def qtdb_with_reference(qtdb_dir: str | Path) -> Iterator[tuple[str, object, dict]]:
    """QTDB's records with ``q1c`` marks as ``(name, window, cardiologist's intervals)``: the
    window :func:`ecgcore.io.qtdb.read_qtdb_window` reads, the intervals
    :func:`ecgcore.io.qtdb.qtdb_expert_intervals`."""
    from ecgcore.io.qtdb import list_qtdb_records, qtdb_expert_intervals, read_qtdb_window

    for path in list_qtdb_records(qtdb_dir):
        yield path.name, read_qtdb_window(path), qtdb_expert_intervals(path)


def _twelve_leads(record: Record) -> dict:
    """What `ecgwb measure` reports for the whole record: the few-lead judges' reference."""
    from ecgcore.signal.pipeline import process_record

    return process_record(record).intervals


def _subset_intervals(record: Record, subset: tuple[str, ...]) -> tuple[dict, str | None]:
    """What `ecgwb measure` reports for ``record`` read as a file of ``subset`` alone, and
    None; or no intervals and the error that stopped it."""
    from ecgcore.signal.pipeline import process_record

    try:
        return process_record(only_leads(record, *subset)).intervals, None
    except Exception as exc:  # noqa: BLE001 -- a failed record is counted
        return {}, f"{type(exc).__name__}: {exc}"


def ludb_records(ludb_dir: str | Path, records: Sequence[str] | None = None
                 ) -> Iterator[tuple[Path, Record, dict]]:
    """Each LUDB record (all, or the named ``records``) as ``(path, record, the experts'
    global intervals)``, with NeuroKit2's and numpy's warnings on odd beats silenced."""
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import list_ludb_records, ludb_expert_intervals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in list_ludb_records(ludb_dir):
            if records is None or path.name in records:
                yield path, read_wfdb(path), ludb_expert_intervals(path)


def _ludb_subsets(ludb_dir: str | Path, subsets: tuple[tuple[str, ...], ...],
                  records: list[str] | None):
    """For each LUDB record (all, or the named ``records``) and subset of its leads:
    ``(path, subset, our intervals of the record with only those leads, the experts' global
    intervals, error or None)``."""
    for path, record, expert in ludb_records(ludb_dir, records):
        for subset in subsets:
            ours, error = _subset_intervals(record, subset)
            yield path, subset, ours, expert, error


def ludb_single_lead(ludb_dir: str | Path, leads: tuple[str, ...] = LUDB_LEADS,
                     records: list[str] | None = None) -> pd.DataFrame:
    """Per record (all, or the named ``records``) and lead: rows ``lead X alone`` (global
    reference) and ``lead X alone, against that lead's marks`` (QRS and QT only)."""
    rows = []
    for path, (lead,), ours, expert, error in _ludb_subsets(
            ludb_dir, tuple((lead,) for lead in leads), records):
        rows.append(_row(f"lead {lead} alone", path.name, ours, expert, error))
        rows.append(_row(f"lead {lead} alone, against that lead's marks", path.name,
                         {m: ours.get(m) for m in ("qrs_ms", "qt_ms")},
                         lead_marks_ms(path, lead.lower()), error))
    return pd.DataFrame(rows)


def ludb_two_leads(ludb_dir: str | Path, pairs: tuple[tuple[str, str], ...] = LUDB_PAIRS,
                   records: list[str] | None = None) -> pd.DataFrame:
    """Per record (all, or the named ``records``) and pair: rows ``leads X + Y`` against the
    experts' global intervals."""
    return pd.DataFrame([_row(f"leads {' + '.join(pair)}", path.name, ours, expert, error)
                         for path, pair, ours, expert, error
                         in _ludb_subsets(ludb_dir, pairs, records)])


def qtdb_single_lead(qtdb_dir: str | Path) -> pd.DataFrame:
    """Per record and Holter lead: that lead alone against the cardiologist's global marks."""
    from ecgcore.signal.record_delineation import delineate_signal

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, window, expert in qtdb_with_reference(qtdb_dir):
            for i in range(window.signal.shape[0]):
                error, ours = None, {}
                try:
                    d = delineate_signal(window.signal[i: i + 1], window.fs, (window.leads[i],),
                                         per_lead=False, powerline_hz=None)
                    ours = d.intervals  # what `ecgwb delineate` reports
                except Exception as exc:  # noqa: BLE001 -- a failed record is counted
                    error = f"{type(exc).__name__}: {exc}"
                rows.append(_row(f"Holter lead {i + 1} alone", name, ours, expert, error))
    return pd.DataFrame(rows)


def ptbxl_few_leads(ptbxl_dir: str | Path, subsets: tuple[tuple[str, ...], ...] = PTBXL_SUBSETS,
                    limit: int | None = None) -> pd.DataFrame:
    """Per PTB-XL record (500 Hz files) and subset of its leads: rows ``leads X`` with the
    intervals of ``ecgwb measure`` on those leads alone, the ``expert_`` columns holding the
    same record's intervals on all twelve (a failed 12-lead record gives no rows)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, record, twelve in ptbxl_with_reference(ptbxl_dir, _twelve_leads, limit):
            for subset in subsets:
                ours, error = _subset_intervals(record, subset)
                rows.append(_row(f"leads {' + '.join(subset)}", name, ours, twelve, error))
    return pd.DataFrame(rows)


def segmenter_intervals(d) -> dict[str, float | None]:
    """A one-lead record's intervals from the learned segmenter: per interval, the median
    over beats of each beat's value in that lead (log item 26's candidate); ``d`` a
    ``RecordDelineation`` with ``per_lead`` from ``lead_method="learned"``."""
    # every beat that gives an interval counts (not record_intervals' "beats" source, which
    # drops an interval given by under half the beats): the candidate as item 26 scored it
    fids = [f for row in d.per_lead for f in row if f is not None]
    out = {}
    for key in INTERVALS:
        vals = [v for f in fids if (v := f.intervals()[key]) is not None]
        out[key] = float(np.median(vals)) if vals else None
    return out


def off_by(per_record: pd.DataFrame, key: str = "qrs_ms", ms: float = 40.0) -> pd.DataFrame:
    """Per method: the records whose ``key`` differs from the reference by more than ``ms``
    (gross errors, which an SD spreads thin), of those measured on both sides."""
    rows = []
    for method, df in per_record.groupby("method", sort=False):
        diff = (pd.to_numeric(df[key], errors="coerce")
                - pd.to_numeric(df[f"expert_{key}"], errors="coerce")).dropna()
        rows.append({"method": method, "n": int(diff.size),
                     f"off_by_over_{ms:g}_ms": int((diff.abs() > ms).sum())})
    return pd.DataFrame(rows)


def one_lead_sources(qtdb_dir: str | Path, ptbxl_dir: str | Path,
                     ptbxl_leads: tuple[str, ...] = ("I", "II", "V5")) -> pd.DataFrame:
    """Per one-lead record: the intervals of the rules on the median beat, of the learned
    segmenter (:func:`segmenter_intervals`) and the ones the product reports (its QRS the
    segmenter's median over beats, log item 27), from one ``delineate_signal`` call, against
    QTDB's cardiologist (each Holter lead alone) and PTB-XL's twelve leads (``ptbxl_leads``
    alone; reference: ``ecgwb measure`` on all twelve)."""
    from ecgcore.signal.record_delineation import delineate_signal, record_intervals

    rows = []

    def both(set_name: str, name: str, signal, fs, lead, reference, powerline_hz) -> None:
        error, rules, seg, reported = None, {}, {}, {}
        try:
            d = delineate_signal(signal, fs, (lead,), lead_method="learned",
                                 powerline_hz=powerline_hz)
            rules = record_intervals(d.median, d.beats, "median_beat")
            seg = segmenter_intervals(d)
            reported = d.intervals
        except Exception as exc:  # noqa: BLE001 -- a failed record is counted
            error = f"{type(exc).__name__}: {exc}"
        rows.append(_row(f"{set_name}, rules", name, rules, reference, error))
        rows.append(_row(f"{set_name}, segmenter", name, seg, reference, error))
        rows.append(_row(f"{set_name}, reported", name, reported, reference, error))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, w, expert in qtdb_with_reference(qtdb_dir):
            for i in range(w.signal.shape[0]):
                if np.isfinite(w.signal[i]).all():
                    both(f"QTDB Holter lead {i + 1} alone", name, w.signal[i: i + 1],
                         w.fs, w.leads[i], expert, None)
        for name, record, twelve in ptbxl_with_reference(ptbxl_dir, _twelve_leads):
            for lead in ptbxl_leads:
                i = list(record.leads).index(lead)
                both(f"PTB-XL lead {lead} alone", name, record.signal[i: i + 1], record.fs,
                     lead, twelve, 50.0)
    return pd.DataFrame(rows)
