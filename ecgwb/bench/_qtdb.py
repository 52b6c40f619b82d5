"""QT Database judge for `ecgwb bench delineation`: per record and per beat, cross-database.

Nothing of QTDB was used to choose the ``"spatial"`` method's numbers (they come from LUDB
only), so these figures are held out. Per record: the median-beat global intervals against
the median over the cardiologist's annotated beats (``q1c``), judged by the IEC tolerances.
Per beat: each annotated beat is matched to the delineated beat whose R peak lies within
150 ms of its QRS mark, and the errors of P onset/offset, QRS onset/offset and T offset
are pooled over beats, as Martínez et al. (2004) report their wavelet delineator on QTDB.
NeuroKit2 (``ecg_process`` + DWT ``ecg_delineate``) runs on the first usable lead in the same
run.
``learned_leads`` is the default per-lead method (the LUDB-trained segmenter) on each lead,
a beat's fiducials the extremes over the two leads: a second judge of the per-lead method,
not of the pipeline's global one. :data:`LONE_LEADS` are the pipeline on each Holter lead
alone, per beat; :func:`best_lead_table` scores each mark in whichever errs less, and
:func:`same_beats_records` each record over the beats the cardiologist marked.
:func:`second_reader` scores the second cardiologist (``q2c``, a few records) against the
first in the same way: the reference's own spread; :func:`puwave_reader` scores the
automatic marks QTDB ships (ecgpuwave, ``pu``) in the same way: another algorithm on the same
beats.
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.qtdb import (
    PUWAVE,
    QTDBBeat,
    beat_intervals,
    list_qtdb_records,
    puwave_beats,
    qtdb_expert_beats,
    qtdb_expert_intervals,
    qtdb_fs,
    read_qtdb_window,
)
from ecgcore.signal.beats import DEFAULT_MEDIAN_OF
from ecgcore.signal.record_delineation import (
    DEFAULT_INTERVALS,
    INTERVAL_SOURCES,
    INTERVALS,
    MIN_BEAT_FRACTION,
    record_intervals,
    with_one_lead_qrs,
)

FIDUCIALS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")
#: Martínez et al. 2004 (IEEE TBME 51:570), wavelet delineator on QTDB, mean ± SD (ms).
MARTINEZ_2004 = {"p_on": (2.0, 14.8), "p_off": (1.9, 12.8), "qrs_on": (4.6, 7.7),
                 "qrs_off": (0.8, 8.7), "t_off": (-1.6, 18.1)}


#: An annotated beat and a delineated (or another reader's) beat are the same beat when
#: their QRS marks lie within this of each other (s).
MATCH_S = 0.15


def nearest_beat(peaks: np.ndarray, at: int, fs: float) -> int | None:
    """Index of the beat of ``peaks`` (QRS samples) nearest ``at``, None when none lies
    within :data:`MATCH_S`."""
    if peaks.size == 0:
        return None
    j = int(np.argmin(np.abs(peaks - at)))
    return j if abs(peaks[j] - at) <= MATCH_S * fs else None


def _spatial(window, median_of: str = DEFAULT_MEDIAN_OF
             ) -> tuple[dict[str, dict], list[tuple[int, dict]]]:
    from ecgcore.signal.record_delineation import delineate_signal

    d = delineate_signal(window.signal, window.fs, window.leads, per_lead=False,
                         powerline_hz=None, median_of=median_of)
    beats = [(int(r), {k: getattr(f, k) for k in FIDUCIALS})
             for r, f in zip(d.beat_r, d.beats) if f is not None]
    # one delineation, the record's intervals from each source, as the product reports them
    # (a window left with one usable lead reports the segmenter's QRS: log item 27)
    return {spatial_label(src): with_one_lead_qrs(record_intervals(d.median, d.beats, src),
                                                  d.one_lead_qrs_beats)
            for src in INTERVAL_SOURCES}, beats


def _learned_leads(window) -> tuple[dict[str, dict], list[tuple[int, dict]]]:
    """The per-lead segmenter (the default per-lead method) on each Holter lead, each beat's
    fiducials the extremes over the two leads (earliest onset, latest offset), the record's
    intervals the median over beats: how the per-lead method fares against global marks."""
    from ecgcore.signal.record_delineation import delineate_signal

    d = delineate_signal(window.signal, window.fs, window.leads, powerline_hz=None,
                         lead_method="learned")
    beats = []
    for r, leads in zip(d.lead_r, d.per_lead):
        fids = [f for f in leads if f is not None]
        if not fids:
            continue
        fid = {}
        for k in FIDUCIALS:
            v = [getattr(f, k) for f in fids if getattr(f, k) is not None]
            fid[k] = (min(v) if k.endswith("_on") else max(v)) if v else None
        beats.append((int(r), fid))
    return {"learned_leads": _median_intervals(beats, window.fs)}, beats


def _beat_intervals(fid: dict, fs: float) -> dict[str, float | None]:
    """P, PR, QRS and QT (ms) of one delineated beat's fiducials (None where missing)."""
    def ms(a: str, b: str) -> float | None:
        return None if fid[a] is None or fid[b] is None else (fid[b] - fid[a]) * 1000.0 / fs

    return {"p_ms": ms("p_on", "p_off"), "pr_ms": ms("p_on", "qrs_on"),
            "qrs_ms": ms("qrs_on", "qrs_off"), "qt_ms": ms("qrs_on", "t_off")}


def _median_intervals(beats: list[tuple[int, dict]], fs: float) -> dict[str, float | None]:
    """P, PR, QRS and QT (ms) of a record: per interval, the median over the beats that give
    it (a positive duration)."""
    per_beat = [_beat_intervals(f, fs) for _, f in beats]
    out: dict[str, float | None] = {}
    for m in INTERVALS:
        v = [iv[m] for iv in per_beat if iv[m] is not None and iv[m] > 0]
        out[m] = float(np.median(v)) if v else None
    return out


def same_beats_records(per_beat: pd.DataFrame, methods: tuple[str, ...] = ("spatial",),
                       suffix: str = ", on the marked beats") -> pd.DataFrame:
    """Per record, the method's intervals and the cardiologist's over the same beats, the
    ones he marked: per interval the median over those beats (the method's only when at
    least :data:`MIN_BEAT_FRACTION` of them give it, as the record's ``beats`` source does). Rows as
    :func:`measure_qtdb`'s per-record ones, for :func:`ecgwb.bench.delineation.summarize`.

    The record's median beat is of every beat of the window; where the cardiologist marked
    a minority shape (an intermittent pre-excitation, ectopic beats), the per-record row
    compares different beats, this one does not: it separates boundary error from which
    beats were measured."""
    rows = []
    matched = per_beat[per_beat["method"].isin(methods) & per_beat["matched"].eq(True)]
    for (method, record), df in matched.groupby(["method", "record"], sort=False):
        row = {"record": record, "method": f"{method}{suffix}", "error": None}
        for m in INTERVALS:
            ours = pd.to_numeric(df[m], errors="coerce").dropna()
            ref = pd.to_numeric(df[f"expert_{m}"], errors="coerce").dropna()
            enough = len(ours) and len(ours) >= MIN_BEAT_FRACTION * len(df)
            row[m] = float(ours.median()) if enough else None
            row[f"expert_{m}"] = float(ref.median()) if len(ref) else None
        rows.append(row)
    return pd.DataFrame(rows)


#: The second cardiologist's marks (a few records only; QRS and T, no P) and his label.
SECOND_READER = "q2c"
SECOND_READER_LABEL = "cardiologist 2 (q2c)"


def second_reader(folder: str | Path, annotator: str = SECOND_READER
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How far a second cardiologist's reading of the same beats is from ``q1c``'s: the
    spread of the reference itself, for scale beside the tolerances.

    For every record with ``annotator`` marks, each beat cardiologist 1 marked is matched to
    cardiologist 2's beat whose QRS mark lies within 150 ms (as :func:`measure_qtdb` matches
    a delineated beat). Returns (per_record, per_beat): per-beat rows as
    :func:`measure_qtdb`'s (``method`` :data:`SECOND_READER_LABEL`: fiducial errors in ms,
    ``has_*``, both readers' intervals), per-record rows as :func:`same_beats_records`' (per
    interval the median over the matched beats). A fiducial one of them did not mark is
    None."""
    rows = []
    for path in list_qtdb_records(folder, annotator):
        rows += _reader_rows(path, qtdb_expert_beats(path, annotator), SECOND_READER_LABEL)
    return _reader_tables(pd.DataFrame(rows), (SECOND_READER_LABEL,))


#: ecgpuwave's marks (QTDB's ``pu`` files) scored as a reader: both leads together (the
#: earlier onset and later offset of the two) and each lead alone (log item 36).
PUWAVE_LABEL = "ecgpuwave (pu), two leads"
PUWAVE_LEADS = ("ecgpuwave (pu), lead 1 alone", "ecgpuwave (pu), lead 2 alone")


def two_lead_beats(per_lead: dict[int, list[QTDBBeat]], fs: float) -> list[QTDBBeat]:
    """Per beat of the first lead, with the other lead's beat whose QRS peak lies within 150
    ms: the earlier onset and the later offset of the two (where one lead lacks a mark, the
    other's); the other lead's unpartnered beats as they are."""
    leads = sorted(per_lead)
    if len(leads) == 1:
        return list(per_lead[leads[0]])
    base, other = per_lead[leads[0]], per_lead[leads[1]]
    peaks = np.array([b.qrs_peak for b in other])
    used, out = set(), []
    for b in base:
        j = nearest_beat(peaks, b.qrs_peak, fs)
        if j is None:
            out.append(b)
            continue
        used.add(j)
        o = other[j]

        def pick(key: str, fn) -> int | None:
            v = [x for x in (getattr(b, key), getattr(o, key)) if x is not None]
            return fn(v) if v else None

        out.append(QTDBBeat(qrs_peak=b.qrs_peak, p_on=pick("p_on", min), p_off=pick("p_off", max),
                            qrs_on=pick("qrs_on", min), qrs_off=pick("qrs_off", max),
                            t_peak=b.t_peak if b.t_peak is not None else o.t_peak,
                            t_off=pick("t_off", max)))
    out += [o for j, o in enumerate(other) if j not in used]
    return sorted(out, key=lambda b: b.qrs_peak)


def puwave_reader(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ecgpuwave's marks against ``q1c`` on the same beats, scored as :func:`second_reader`
    scores the second cardiologist: (per_record, per_beat), methods :data:`PUWAVE_LABEL`
    and :data:`PUWAVE_LEADS`. Records without ``pu`` marks are left out."""
    rows = []
    for path in list_qtdb_records(folder):
        if not path.with_suffix(f".{PUWAVE}").exists():
            continue
        per_lead = puwave_beats(path)
        rows += _reader_rows(path, two_lead_beats(per_lead, qtdb_fs(path)), PUWAVE_LABEL)
        for label, lead in zip(PUWAVE_LEADS, sorted(per_lead)):
            rows += _reader_rows(path, per_lead[lead], label)
    return _reader_tables(pd.DataFrame(rows), (PUWAVE_LABEL, *PUWAVE_LEADS))


def _reader_rows(path: Path, other: list[QTDBBeat], label: str) -> list[dict]:
    """Per beat of ``q1c``, the matched beat of ``other`` (QRS marks within 150 ms): fiducial
    errors (ms; None where either did not mark it), ``has_*`` and both readings' intervals."""
    fs = qtdb_fs(path)
    peaks = np.array([b.qrs_peak for b in other])
    rows = []
    for n, b in enumerate(qtdb_expert_beats(path)):
        j = nearest_beat(peaks, b.qrs_peak, fs)
        if j is None:
            rows.append({"record": path.name, "method": label, "beat": n, "matched": False})
            continue
        o = other[j]
        out = {"record": path.name, "method": label, "beat": n, "matched": True}
        for k in FIDUCIALS:
            ref, got = getattr(b, k), getattr(o, k)
            out[k] = None if ref is None or got is None else (got - ref) * 1000.0 / fs
            out[f"has_{k}"] = ref is not None
        out.update({f"expert_{m}": v for m, v in beat_intervals(b, fs).items()})
        out.update(beat_intervals(o, fs))
        rows.append(out)
    return rows


def _reader_tables(per_beat: pd.DataFrame, labels: tuple[str, ...]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per_record, per_beat) of a reader's rows: per record the medians over matched beats."""
    if per_beat.empty:
        return pd.DataFrame(), per_beat
    return same_beats_records(per_beat, labels, suffix=""), per_beat


def spatial_label(source: str) -> str:
    """The bench's method name of ``spatial`` with its intervals from ``source`` (the
    default source unlabelled, as before the option)."""
    return "spatial" if source == DEFAULT_INTERVALS else f"spatial, intervals from {source}"


def _neurokit(window) -> tuple[dict[str, dict], list[tuple[int, dict]]]:
    import neurokit2 as nk

    fs = round(window.fs)
    first = int(np.flatnonzero(np.isfinite(window.signal).all(axis=1))[0])  # first usable lead
    x = window.signal[first].astype(np.float64) / 1000.0
    signals, info = nk.ecg_process(x, sampling_rate=fs)
    _, waves = nk.ecg_delineate(signals["ECG_Clean"].to_numpy(), info["ECG_R_Peaks"],
                                sampling_rate=fs, method="dwt")
    keys = {"p_on": "ECG_P_Onsets", "p_off": "ECG_P_Offsets", "qrs_on": "ECG_R_Onsets",
            "qrs_off": "ECG_R_Offsets", "t_off": "ECG_T_Offsets"}
    marks = {k: np.asarray(waves.get(v, []), dtype=np.float64) for k, v in keys.items()}
    beats = []
    for i, r in enumerate(np.asarray(info["ECG_R_Peaks"])):
        fid = {k: (int(v[i]) if i < v.size and np.isfinite(v[i]) else None) for k, v in marks.items()}
        beats.append((int(r), fid))
    return {"neurokit2": _median_intervals(beats, fs)}, beats


def _one_lead(window, lead: int) -> tuple[dict[str, dict], list[tuple[int, dict]]]:
    """The pipeline's global delineation of one Holter lead alone, per beat only (its
    per-record intervals are the bench's part ``single``)."""
    from ecgcore.signal.record_delineation import delineate_signal

    d = delineate_signal(window.signal[lead: lead + 1], window.fs, (window.leads[lead],),
                         per_lead=False, powerline_hz=None)
    return {}, [(int(r), {k: getattr(f, k) for k in FIDUCIALS})
                for r, f in zip(d.beat_r, d.beats) if f is not None]


#: The one-lead measurers whose per-beat errors :func:`best_lead_table` pairs.
LONE_LEADS = ("spatial, lead 1 alone", "spatial, lead 2 alone")
MEASURERS = {"spatial": _spatial, "learned_leads": _learned_leads, "neurokit2": _neurokit,
             LONE_LEADS[0]: partial(_one_lead, lead=0), LONE_LEADS[1]: partial(_one_lead, lead=1)}


def measure_qtdb(folder: str | Path, methods=("spatial", "neurokit2"),
                 intervals: tuple[str, ...] = (DEFAULT_INTERVALS,),
                 median_of: str = DEFAULT_MEDIAN_OF) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per_record, per_beat) for every QTDB record of ``folder`` with ``q1c`` marks.

    ``spatial`` gives one per-record row per interval source in ``intervals``
    (:func:`spatial_label`), all from one delineation (its median beat of ``median_of``
    beats); its per-beat rows are one set."""
    measurers = {**MEASURERS, "spatial": partial(_spatial, median_of=median_of)}
    wanted = {spatial_label(src) for src in intervals} | {"learned_leads", "neurokit2"}
    rec_rows, beat_rows = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in list_qtdb_records(folder):
            expert = qtdb_expert_intervals(path)
            window = read_qtdb_window(path)
            ref_beats = qtdb_expert_beats(path)
            for method in methods:
                row = {"record": path.name, "method": method, "error": None,
                       **{f"expert_{m}": expert[m] for m in INTERVALS}}
                try:
                    ours, beats = measurers[method](window)
                except Exception as exc:  # noqa: BLE001 -- a failed record is counted
                    row["error"] = f"{type(exc).__name__}: {exc}"
                    row.update({m: None for m in INTERVALS})
                    if method not in LONE_LEADS:  # a lone lead's records: part ``single``
                        rec_rows.append(row)
                    continue
                rec_rows.extend({**row, "method": label, **iv} for label, iv in ours.items()
                                if label in wanted)
                rs = np.array([window.start + r for r, _ in beats])
                for n, b in enumerate(ref_beats):
                    if rs.size == 0:
                        break
                    j = nearest_beat(rs, b.qrs_peak, window.fs)
                    if j is None:
                        beat_rows.append({"record": path.name, "method": method, "beat": n,
                                          "matched": False})
                        continue
                    fid = beats[j][1]
                    out = {"record": path.name, "method": method, "beat": n, "matched": True}
                    for k in FIDUCIALS:
                        ref, got = getattr(b, k), fid[k]
                        out[k] = (None if ref is None or got is None
                                  else (window.start + got - ref) * 1000.0 / window.fs)
                        out[f"has_{k}"] = ref is not None
                    out.update({f"expert_{m}": v for m, v in beat_intervals(b, window.fs).items()})
                    out.update(_beat_intervals(fid, window.fs))
                    beat_rows.append(out)
    return pd.DataFrame(rec_rows), pd.DataFrame(beat_rows)


def load_qtdb(folder: str | Path, median_of: str = DEFAULT_MEDIAN_OF) -> list[dict]:
    """Per record, what :func:`ecgwb.bench._delineation_cv.cross_validate` needs: the median
    beat of the window (of ``median_of`` beats) and the cardiologist's fiducials relative to
    the matched R peaks."""
    from ecgcore.signal.record_delineation import delineate_signal

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in list_qtdb_records(folder):
            window = read_qtdb_window(path)
            try:
                d = delineate_signal(window.signal, window.fs, window.leads, per_beat=False,
                                     powerline_hz=None, median_of=median_of)
            except ValueError:
                continue  # counted by the cross-database run; nothing to tune on here
            anchors = window.start + np.asarray(d.beat_r)
            rel: dict[str, list[float]] = {k: [] for k in ("qrs_on", "qrs_off", "p_on", "p_off",
                                                           "t_off")}
            for b in qtdb_expert_beats(path):
                j = nearest_beat(anchors, b.qrs_peak, window.fs)
                if j is None:
                    continue
                for key, values in rel.items():
                    v = getattr(b, key)
                    if v is not None:
                        values.append((v - anchors[j]) * 1000.0 / window.fs)
            out.append({
                "record": path.name, "median": d.median_signal, "fs": window.fs,
                "beats": d.beat_signals,
                "median_beats": d.median_beats,
                "r": d.median_r, "rr_ms": d.rr_ms,
                "rr_regular": d.rhythm_regular,
                "ref_rel": {k: (float(np.median(v)) if v else None) for k, v in rel.items()},
                "expert": qtdb_expert_intervals(path), "conditions": [],
            })
    return out


def best_lead_table(per_beat: pd.DataFrame, methods: tuple[str, ...] = LONE_LEADS,
                    label: str = "spatial, better lead alone (oracle)") -> pd.DataFrame:
    """Per fiducial, each annotated beat's error in whichever lead alone (``methods``: by
    default :data:`LONE_LEADS`) errs less: the lead chosen *knowing the cardiologist's
    mark*, the way single-lead delineators are commonly scored on QTDB (Martínez et al.
    2004 among them), never a figure a device could give. Rows as :func:`fiducial_table`'s,
    the method ``label``."""
    lone = per_beat[per_beat["method"].isin(methods) & per_beat["matched"].eq(True)]
    rows = []
    for (record, beat), df in lone.groupby(["record", "beat"], sort=False):
        row = {"record": record, "method": label, "beat": beat, "matched": True}
        for k in FIDUCIALS:
            v = pd.to_numeric(df[k], errors="coerce").dropna()
            row[k] = float(v.loc[v.abs().idxmin()]) if len(v) else None
            row[f"has_{k}"] = bool(df[f"has_{k}"].any())
        rows.append(row)
    return fiducial_table(pd.DataFrame(rows)) if rows else pd.DataFrame()


def fiducial_table(per_beat: pd.DataFrame) -> pd.DataFrame:
    """Per method and fiducial: beats, mean and SD of (method − cardiologist) in ms."""
    rows = []
    for method, df in per_beat.groupby("method", sort=False):
        for k in FIDUCIALS:
            marked = df[df[f"has_{k}"].eq(True)]
            v = pd.to_numeric(marked[k], errors="coerce").dropna()
            rows.append({
                "method": method, "fiducial": k, "n_marked": len(marked), "n": len(v),
                "mean_ms": round(float(v.mean()), 1), "sd_ms": round(float(v.std(ddof=1)), 1),
                "martinez2004": "{:+.1f} ± {:.1f}".format(*MARTINEZ_2004[k]),
            })
    return pd.DataFrame(rows)
