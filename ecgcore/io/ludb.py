"""LUDB (Lobachevsky University Database): records and the experts' global intervals.

LUDB holds 10-s 12-lead records at 500 Hz with one expert annotation file per lead
(``N.i``, ``N.ii``, … ``N.v6``): ``(`` onset and ``)`` offset around the ``p``, ``N`` and
``t`` peak marks of P, QRS and T. The global reference of one beat is the ``rank``-th
earliest onset and the ``rank``-th latest offset marked over the 12 leads (default
:data:`GLOBAL_RANK` = 3: the QRS has begun once three leads show it); a record's value is
the median over its beats. ``rank=1`` gives the extreme marks, which one lead's early or
late mark decides: the extreme of twelve noisy marks is wider than the global boundary a
cardiologist reads on simultaneous leads (the CSE and IEC 60601-2-25 convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

#: Annotation file suffix of each standard lead.
LUDB_ANNOTATORS: dict[str, str] = {
    "I": "i", "II": "ii", "III": "iii", "aVR": "avr", "aVL": "avl", "aVF": "avf",
    "V1": "v1", "V2": "v2", "V3": "v3", "V4": "v4", "V5": "v5", "V6": "v6",
}
#: Rank of the per-lead marks taken as the global onset (k-th earliest) and offset (k-th latest).
GLOBAL_RANK = 3

_WAVE_SYMBOLS = {"p": "p", "N": "qrs", "t": "t"}


@dataclass(frozen=True)
class ExpertBeat:
    """Global expert marks of one beat, in samples of the record (None when not marked)."""

    qrs_on: int
    qrs_off: int
    p_on: int | None = None
    p_off: int | None = None
    t_off: int | None = None


def list_ludb_records(folder: str | Path) -> list[Path]:
    """Record paths (without suffix) of a LUDB folder, sorted by record number.

    ``folder`` may be the database root (with ``data/``) or the ``data/`` folder itself.
    A record is listed when its header and every one of the 12 annotation files exist.
    The signals are read with :func:`ecgcore.io.read_wfdb`.
    """
    folder = Path(folder)
    if (folder / "data").is_dir():
        folder = folder / "data"
    if not folder.is_dir():
        raise FileNotFoundError(f"LUDB folder {folder} does not exist")
    records = []
    for hea in folder.glob("*.hea"):
        base = hea.with_suffix("")
        if all(base.with_name(f"{base.name}.{ext}").exists() for ext in LUDB_ANNOTATORS.values()):
            records.append(base)
    return sorted(records, key=lambda p: (int(p.name) if p.name.isdigit() else 10**9, p.name))


def _lead_waves(record_path: Path, ext: str) -> dict[str, np.ndarray]:
    """``{'p'|'qrs'|'t': [n, 3] (onset, peak, offset)}`` of one lead's annotation file.

    A peak without its own ``(`` just before or ``)`` just after gets -1 there.
    """
    ann = wfdb.rdann(str(record_path), ext)
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = list(ann.symbol)
    out: dict[str, list[tuple[int, int, int]]] = {w: [] for w in _WAVE_SYMBOLS.values()}
    for k, sym in enumerate(symbols):
        wave = _WAVE_SYMBOLS.get(sym)
        if wave is None:
            continue
        on = int(samples[k - 1]) if k > 0 and symbols[k - 1] == "(" else -1
        off = int(samples[k + 1]) if k + 1 < len(symbols) and symbols[k + 1] == ")" else -1
        out[wave].append((on, int(samples[k]), off))
    return {w: np.asarray(v, dtype=np.int64).reshape(-1, 3) for w, v in out.items()}


def _clusters(marks: np.ndarray, gap: float) -> np.ndarray:
    """Cluster label per row of ``[n, 3]`` marks sorted by peak: a peak gap over ``gap`` splits."""
    return np.concatenate([[0], np.cumsum(np.diff(marks[:, 1]) > gap)]).astype(np.int64)


def ludb_expert_beats(record_path: str | Path, rank: int = GLOBAL_RANK) -> list[ExpertBeat]:
    """Global expert marks of every annotated beat of a record.

    Beats are the clusters of QRS peak marks across leads (marks of one beat lie within
    100 ms of each other). A P wave belongs to the first beat whose QRS peak follows its
    peak, a T wave to the last beat whose QRS peak precedes it; when a beat collects two
    groups of P (or T) marks (a QRS left unmarked, dissociated P waves), the group nearest
    its QRS is kept. Global onset = the ``rank``-th earliest mark over the leads, global
offset = the ``rank``-th latest (the latest / earliest one when fewer leads marked it).
    """
    record_path = Path(record_path)
    gap = 0.1 * float(wfdb.rdheader(str(record_path)).fs)  # 100 ms in samples
    waves = [_lead_waves(record_path, ext) for ext in LUDB_ANNOTATORS.values()]

    def gather(wave: str) -> np.ndarray:
        marks = np.concatenate([w[wave] for w in waves])
        return marks[np.argsort(marks[:, 1], kind="stable")]

    qrs, p_all, t_all = gather("qrs"), gather("p"), gather("t")
    if qrs.size == 0:
        return []
    beat_of_qrs = _clusters(qrs, gap)
    n_beats = int(beat_of_qrs[-1]) + 1
    peak = np.array([np.median(qrs[beat_of_qrs == b, 1]) for b in range(n_beats)])
    p_beat = np.searchsorted(peak, p_all[:, 1], side="right")
    t_beat = np.searchsorted(peak, t_all[:, 1], side="right") - 1

    def nearest_group(marks: np.ndarray, last: bool) -> np.ndarray:
        if marks.shape[0] == 0:
            return marks
        labels = _clusters(marks, gap)
        return marks[labels == (labels[-1] if last else 0)]

    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")

    def extreme(values: np.ndarray, fn) -> int | None:
        values = np.sort(values[values >= 0])  # -1: the peak had no onset/offset mark
        if not values.size:
            return None
        k = min(rank, values.size) - 1
        return int(values[k] if fn is np.min else values[values.size - 1 - k])

    beats = []
    for b in range(n_beats):
        q = qrs[beat_of_qrs == b]
        qrs_on, qrs_off = extreme(q[:, 0], np.min), extreme(q[:, 2], np.max)
        if qrs_on is None or qrs_off is None:
            continue
        p = nearest_group(p_all[p_beat == b], last=True)
        t = nearest_group(t_all[t_beat == b], last=False)
        beats.append(
            ExpertBeat(
                qrs_on=qrs_on,
                qrs_off=qrs_off,
                p_on=extreme(p[:, 0], np.min),
                p_off=extreme(p[:, 2], np.max),
                t_off=extreme(t[:, 2], np.max),
            )
        )
    return beats


def ludb_expert_intervals(record_path: str | Path, rank: int = GLOBAL_RANK) -> dict:
    """The experts' global intervals of one record, in milliseconds.

    Per beat: P duration (P onset → P offset), PR (P onset → QRS onset), QRS duration,
    QT (QRS onset → T offset), each from the global marks of :func:`ludb_expert_beats`;
    the record's value is the median over the beats that have the marks. ``p_ms`` and
    ``pr_ms`` are None when the experts marked no P wave (e.g. atrial fibrillation).

    Returns ``{'record', 'p_ms', 'pr_ms', 'qrs_ms', 'qt_ms', 'n_beats', 'n_beats_p'}``.
    """
    record_path = Path(record_path)
    fs = float(wfdb.rdheader(str(record_path)).fs)
    beats = ludb_expert_beats(record_path, rank)
    to_ms = 1000.0 / fs

    def median(values: list[float]) -> float | None:
        return float(np.median(values)) if values else None

    p = [(b.p_off - b.p_on) * to_ms for b in beats if b.p_on is not None and b.p_off is not None]
    pr = [(b.qrs_on - b.p_on) * to_ms for b in beats if b.p_on is not None]
    qrs = [(b.qrs_off - b.qrs_on) * to_ms for b in beats]
    qt = [(b.t_off - b.qrs_on) * to_ms for b in beats if b.t_off is not None]
    return {
        "record": record_path.name,
        "p_ms": median(p),
        "pr_ms": median(pr),
        "qrs_ms": median(qrs),
        "qt_ms": median(qt),
        "n_beats": len(beats),
        "n_beats_p": len(pr),
    }
