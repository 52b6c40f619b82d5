"""QT Database (Laguna et al. 1997; PhysioNet, ODC-By): records and the cardiologists' marks.

Each record has two Holter leads at 250 Hz with non-standard names (MLII, V5, CM5, …).
``N.q1c`` holds cardiologist 1's marks of 30 or more beats, made while viewing both leads:
``(`` onset and ``)`` offset around ``p``, the QRS (labelled ``N``, ``A``, ``V``, … by beat type) and ``t`` peaks — global boundaries
of each beat. The window the project measures is cut around the annotated beats (first
mark − 2 s to last mark + 2 s, at least 10 s), as the data README prescribes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from ecgcore.io.record import Record, RecordError
from ecgcore.io.wfdb_reader import validate_record

#: Seconds of signal kept on each side of the annotated beats; the window lasts at least
#: MIN_WINDOW_S.
MARGIN_S = 2.0
MIN_WINDOW_S = 10.0


@dataclass(frozen=True)
class QTDBBeat:
    """One annotated beat: sample indices into the whole record (None where not marked)."""

    qrs_peak: int
    p_on: int | None
    p_off: int | None
    qrs_on: int | None
    qrs_off: int | None
    t_peak: int | None
    t_off: int | None


@dataclass(frozen=True)
class QTDBWindow:
    """The measured window: ``signal`` µV ``[2, samples]`` starting at ``start`` of the record;
    a lead the reader would leave out is NaN, its reason in ``bad_leads``."""

    record_id: str
    signal: np.ndarray
    fs: float
    leads: tuple[str, ...]
    start: int
    bad_leads: dict[str, str] = field(default_factory=dict)


def qtdb_fs(record_path: str | Path) -> float:
    """The record's sampling rate (Hz), read from its header only."""
    return float(wfdb.rdheader(str(record_path)).fs)


def list_qtdb_records(folder: str | Path, annotator: str = "q1c") -> list[Path]:
    """Record paths (without extension) of ``folder`` that have a header and ``annotator`` marks."""
    folder = Path(folder)
    return sorted(p.with_suffix("") for p in folder.glob(f"*.{annotator}")
                  if p.with_suffix(".hea").exists())


def qtdb_expert_beats(record_path: str | Path, annotator: str = "q1c") -> list[QTDBBeat]:
    """The annotated beats of one record, in time order.

    Raises:
        ValueError: naming the file, when the annotation file cannot be read or holds no QRS.
    """
    record_path = Path(record_path)
    try:
        ann = wfdb.rdann(str(record_path), annotator)
    except Exception as exc:  # noqa: BLE001 -- wfdb raises many types; name the file
        raise ValueError(f"{record_path}.{annotator}: cannot read the annotations ({exc})") from None
    sym, samp = list(ann.symbol), np.asarray(ann.sample, dtype=np.int64)
    waves: list[tuple[str, int, int | None, int | None]] = []  # (wave, peak, onset, offset)
    for i, s in enumerate(sym):
        if s in ("(", ")"):
            continue
        s = s if s in ("p", "t", "u") else "N"  # a QRS carries its beat label (N, A, V, …)
        on = int(samp[i - 1]) if i > 0 and sym[i - 1] == "(" else None
        off = int(samp[i + 1]) if i + 1 < len(sym) and sym[i + 1] == ")" else None
        waves.append((s, int(samp[i]), on, off))
    beats = []
    for j, (s, peak, on, off) in enumerate(waves):
        if s != "N":
            continue
        # The P before this QRS and the T after it, if they belong to this beat.
        p = waves[j - 1] if j > 0 and waves[j - 1][0] == "p" else None
        t = waves[j + 1] if j + 1 < len(waves) and waves[j + 1][0] == "t" else None
        beats.append(QTDBBeat(
            qrs_peak=peak, qrs_on=on, qrs_off=off,
            p_on=p[2] if p else None, p_off=p[3] if p else None,
            t_peak=t[1] if t else None, t_off=t[3] if t else None,
        ))
    if not beats:
        raise ValueError(f"{record_path}.{annotator}: no annotated QRS complex")
    return beats


#: ecgpuwave's annotation files (``N.pu``: both leads, each mark's ``chan`` its lead): the
#: wave each boundary mark belongs to is in its ``num`` field.
PUWAVE = "pu"
PUWAVE_WAVES = {"p": 0, "qrs": 1, "t": 2}


def puwave_beats(record_path: str | Path, annotator: str = PUWAVE) -> dict[int, list[QTDBBeat]]:
    """ecgpuwave's beats of each lead (``{lead: beats in time order}``), from the automatic
    marks QTDB ships (Laguna et al. 1994; not a reference: a comparator on the same beats).

    Per lead a beat is a QRS peak mark; its QRS onset the last QRS ``(`` at most 150 ms
    before it and its offset the first QRS ``)`` at most 150 ms after; its P the last P ``)``
    after the previous beat's QRS offset and before this QRS onset, with the last P ``(``
    before it; its T peak and offset the first ``t`` and T ``)`` after the QRS offset and
    before the next beat's QRS onset (docs/DELINEATION.md log item 36).

    Raises:
        ValueError: naming the file, when the annotations cannot be read or hold no QRS.
    """
    record_path = Path(record_path)
    try:
        ann = wfdb.rdann(str(record_path), annotator)
    except Exception as exc:  # noqa: BLE001 -- wfdb raises many types; name the file
        raise ValueError(f"{record_path}.{annotator}: cannot read the annotations ({exc})") from None
    reach = 0.15 * float(ann.fs or qtdb_fs(record_path))
    sym = np.asarray(ann.symbol)
    samp, chan, num = (np.asarray(v, dtype=np.int64) for v in (ann.sample, ann.chan, ann.num))
    out: dict[int, list[QTDBBeat]] = {}
    for lead in np.unique(chan):
        mine = chan == lead
        s, y, w = samp[mine], sym[mine], num[mine]

        def marks(kind: str, wave: int | None = None) -> np.ndarray:
            keep = (y == kind) if wave is None else (y == kind) & (w == wave)
            return np.sort(s[keep])

        peaks = np.sort(s[~np.isin(y, ["(", ")", "p", "t", "u"])])
        q_on, q_off = marks("(", PUWAVE_WAVES["qrs"]), marks(")", PUWAVE_WAVES["qrs"])
        p_on, p_off = marks("(", PUWAVE_WAVES["p"]), marks(")", PUWAVE_WAVES["p"])
        t_off, t_pk = marks(")", PUWAVE_WAVES["t"]), marks("t")

        def last(a: np.ndarray, lo: float, hi: float) -> int | None:
            v = a[(a > lo) & (a <= hi)]
            return int(v[-1]) if v.size else None

        def first(a: np.ndarray, lo: float, hi: float) -> int | None:
            v = a[(a >= lo) & (a < hi)]
            return int(v[0]) if v.size else None

        ons = [last(q_on, r - reach - 1, r) for r in peaks]
        offs = [first(q_off, r, r + reach + 1) for r in peaks]
        beats = []
        for i, r in enumerate(peaks):
            on, off = ons[i], offs[i]
            prev = (offs[i - 1] if offs[i - 1] is not None else peaks[i - 1]) if i else -np.inf
            nxt = ((ons[i + 1] if ons[i + 1] is not None else peaks[i + 1])
                   if i + 1 < peaks.size else np.inf)
            pe = last(p_off, prev, on if on is not None else r)
            ps = last(p_on, prev, pe) if pe is not None else None
            after = off if off is not None else r
            beats.append(QTDBBeat(qrs_peak=int(r), qrs_on=on, qrs_off=off,
                                  p_on=ps, p_off=pe if ps is not None else None,
                                  t_peak=first(t_pk, after, nxt), t_off=first(t_off, after, nxt)))
        out[int(lead)] = beats
    if not any(out.values()):
        raise ValueError(f"{record_path}.{annotator}: no QRS complex")
    return out


def beat_intervals(beat: QTDBBeat, fs: float) -> dict[str, float | None]:
    """P duration, PR, QRS duration and QT (ms) of one annotated beat (None where unmarked)."""

    def ms(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None else (b - a) * 1000.0 / fs

    return {"p_ms": ms(beat.p_on, beat.p_off), "pr_ms": ms(beat.p_on, beat.qrs_on),
            "qrs_ms": ms(beat.qrs_on, beat.qrs_off), "qt_ms": ms(beat.qrs_on, beat.t_off)}


def qtdb_expert_intervals(record_path: str | Path, annotator: str = "q1c") -> dict[str, float | None]:
    """The record's reference: per interval, the median over its annotated beats (ms)."""
    fs = qtdb_fs(record_path)
    per_beat = [beat_intervals(b, fs) for b in qtdb_expert_beats(record_path, annotator)]
    out: dict[str, float | None] = {}
    for key in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
        vals = [v[key] for v in per_beat if v[key] is not None]
        out[key] = float(np.median(vals)) if vals else None
    return out


def read_qtdb_window(record_path: str | Path, annotator: str = "q1c") -> QTDBWindow:
    """The window around the annotated beats, in µV with the original lead names, its leads
    checked as ``ecgwb measure`` reads them (:func:`ecgcore.io.wfdb_reader.validate_record`:
    a flat, saturated or absurd lead is NaN and named in ``bad_leads``; no usable lead left:
    :class:`RecordError`), so that what is scored is what a user's reading gives."""
    record_path = Path(record_path)
    fs = qtdb_fs(record_path)
    start, stop = annotated_window(record_path, annotator)
    rec = wfdb.rdrecord(str(record_path), sampfrom=int(start), sampto=int(stop), physical=True)
    scale = np.array([1000.0 if (u or "mV").lower() == "mv" else 1.0 for u in rec.units])
    checked = validate_record(Record(
        record_id=record_path.name, signal=(rec.p_signal.T * scale[:, None]).astype(np.float32),
        fs=fs, leads=tuple(rec.sig_name), source=record_path))
    return QTDBWindow(record_id=record_path.name, signal=checked.signal, fs=fs,
                      leads=checked.leads, start=int(start), bad_leads=checked.bad_leads)


def annotated_window(base: str | Path, annotator: str = "q1c") -> tuple[int, int]:
    """``(start, stop)`` samples of the window around a record's annotated beats."""
    base = Path(base)
    try:
        header = wfdb.rdheader(str(base))
        marks = wfdb.rdann(str(base), annotator).sample
    except (OSError, ValueError) as exc:
        raise RecordError(f"{base}.{annotator}", f"unreadable annotations: {exc}") from exc
    if marks.size == 0:
        raise RecordError(f"{base}.{annotator}", "no annotated beats")
    fs, n = float(header.fs), int(header.sig_len)
    start = max(0, int(marks.min() - MARGIN_S * fs))
    stop = min(n, int(marks.max() + MARGIN_S * fs) + 1)
    short = int(np.ceil(MIN_WINDOW_S * fs)) - (stop - start)
    if short > 0:
        start = max(0, start - short // 2 - short % 2)
        stop = min(n, start + int(np.ceil(MIN_WINDOW_S * fs)))
        start = max(0, stop - int(np.ceil(MIN_WINDOW_S * fs)))
    return start, stop


def write_annotated_windows(root: str | Path, out: str | Path, annotator: str = "q1c") -> list[Path]:
    """Cut every record of ``root`` that has ``annotator`` marks to its annotated window and
    write it to ``out`` as a WFDB record of the same name (digital samples, gains, units
    and lead names unchanged). Returns the headers written."""
    root, out = Path(root), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ann in sorted(root.glob(f"*.{annotator}")):
        base = ann.with_suffix("")
        start, stop = annotated_window(base, annotator)
        rec = wfdb.rdrecord(str(base), physical=False, sampfrom=start, sampto=stop)
        wfdb.wrsamp(base.name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                    d_signal=rec.d_signal, fmt=["16"] * rec.n_sig, adc_gain=rec.adc_gain,
                    baseline=rec.baseline, write_dir=str(out),
                    comments=[f"QTDB {base.name} samples {start}-{stop} around the {annotator} marks"])
        written.append(out / f"{base.name}.hea")
    return written
