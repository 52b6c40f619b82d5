"""Delineation of a whole record: each beat's fiducials in each lead, the global ones per
beat, and those of the median beat — on any ``[leads, samples]`` array at any rate.

The steps are the pipeline's (clean → multi-lead R peaks → template alignment → wide beat
windows → quality filter → median beat), then :func:`ecgcore.signal.delineate.ecg_delineate`
on the median beat, on every kept beat with all leads together (per-beat global
fiducials: QT variability, alternans) and one lead at a time on every detected beat
(per-lead fiducials): the quality filter only chooses the beats that make the median beat,
and a beat near the record's start or end is delineated in a window padded with the edge
sample, its boundaries kept only where they fall inside the record (a QRS cut by the edge
gives None). The record's intervals come from one of two sources (:func:`record_intervals`,
:data:`INTERVAL_SOURCES`): the median beat's global fiducials, or the median over the
kept beats of each beat's global interval; both are reported.

A beat or lead that cannot be delineated gets ``None`` and costs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ecgcore.signal.beats import (
    DEFAULT_MEDIAN_OF,
    WINDOW_ANALYSIS,
    align_to_template,
    beat_quality,
    check_median_of,
    median_beat,
    median_family,
    of_family,
    quality_window,
    segment_beats,
)
from ecgcore.signal.clean import ecg_clean
from ecgcore.signal.delineate import (
    DEFAULT_PARAMS,
    LEAD_QRS_QUIET_MS,
    SpatialParams,
    ecg_delineate,
    rhythm_regular,
)
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.pacing import (
    PacingResult,
    detect_pacing,
    qrs_from_spike,
    qrs_onset_at_spike,
    remove_spikes,
)
from ecgcore.signal.rpeaks import ecg_peaks, rr_intervals_ms

INTERVALS = ("p_ms", "pr_ms", "qrs_ms", "qt_ms")
#: An interval is flagged uncertain when its spread over beats (interquartile range, ms)
#: exceeds the IEC 60601-2-25 SD tolerance for that interval: the beats disagree by more
#: than the measurement is allowed to err.
UNCERTAIN_IQR_MS = {"p_ms": 15.0, "pr_ms": 10.0, "qrs_ms": 10.0, "qt_ms": 30.0}
#: Where the record's intervals come from: ``median_beat`` — the median beat's global
#: fiducials (as GE 12SL, Philips and Glasgow measure); ``beats`` — per interval, the median
#: over the kept beats of each beat's global interval (:func:`record_intervals`).
INTERVAL_SOURCES = ("median_beat", "beats")
#: The default source: the better one by LUDB dev held-out figures (docs/DELINEATION.md).
DEFAULT_INTERVALS = "median_beat"
#: How each lead of each beat is delineated: ``learned`` — the shipped segmenter
#: (:mod:`ecgcore.signal.learned_delineation`); ``spatial`` — the rules on the lead alone.
LEAD_METHODS = ("learned", "spatial")
#: The default: the better one by LUDB dev held-out per-lead figures (docs/DELINEATION.md).
DEFAULT_LEAD_METHOD = "learned"
#: With ``beats``, an interval is reported only when at least this fraction of the
#: delineated beats give it: a P wave found in a minority of beats (AF, noise) is absent.
MIN_BEAT_FRACTION = 0.5


def _intervals(fid: Fiducials | None) -> dict[str, float | None]:
    return {k: None for k in INTERVALS} if fid is None else fid.intervals()


def check_interval_source(source: str) -> str:
    """``source`` when it is one of :data:`INTERVAL_SOURCES`; a ValueError naming them if not."""
    if source not in INTERVAL_SOURCES:
        raise ValueError(f"unknown interval source {source!r}; known: {', '.join(INTERVAL_SOURCES)}")
    return source


def _median_over(fids: list[Fiducials | None]) -> dict[str, float | None]:
    """Per interval, the median over the beats that give it; None when fewer than
    :data:`MIN_BEAT_FRACTION` of the delineated beats do (or none was delineated)."""
    measured = [f for f in fids if f is not None]
    out: dict[str, float | None] = {}
    for key in INTERVALS:
        vals = [v for f in measured if (v := _intervals(f)[key]) is not None]
        enough = bool(vals) and len(vals) >= MIN_BEAT_FRACTION * len(measured)
        out[key] = float(np.median(vals)) if enough else None
    return out


def record_intervals(median: Fiducials | None, beats: list[Fiducials | None],
                     source: str = DEFAULT_INTERVALS) -> dict[str, float | None]:
    """The record's global intervals (ms) from ``source`` (:data:`INTERVAL_SOURCES`).

    ``median``: the median beat's global fiducials; ``beats``: each kept beat's (None for a
    beat that could not be delineated). ``beats`` gives, per interval, the median over the
    beats that have it, and None when fewer than half of the delineated beats have it (a P
    wave in a minority of beats is not the rhythm's P wave).
    """
    if check_interval_source(source) == "median_beat":
        return _intervals(median)
    return _median_over(beats)


def one_lead_qrs_ms(qrs_beats: Sequence[float] | None) -> float | None:
    """A one-lead record's reported QRS duration (ms): the median of the segmenter's per-beat
    QRS durations (:func:`one_lead_qrs_beats`); None when there are none."""
    return float(np.median(qrs_beats)) if qrs_beats else None


def with_one_lead_qrs(intervals: dict[str, float | None], qrs_beats: Sequence[float] | None
                      ) -> dict[str, float | None]:
    """``intervals`` with the QRS duration replaced by a one-lead record's segmenter QRS
    (:func:`one_lead_qrs_ms` of :func:`one_lead_qrs_beats`) when there is one."""
    qrs_ms = one_lead_qrs_ms(qrs_beats)
    return intervals if qrs_ms is None else {**intervals, "qrs_ms": qrs_ms}


def with_one_lead_qrs_confidence(confidence: dict[str, dict],
                                 qrs_beats: Sequence[float] | None) -> dict[str, dict]:
    """``confidence`` (:func:`interval_confidence`) whose QRS entry describes the value
    reported: for a one-lead record whose QRS is the segmenter's, the segmenter's beats (how
    many, their IQR, unsure by the same definition), not the rules' beats."""
    if not qrs_beats:
        return confidence
    return {**confidence, "qrs_ms": _confidence_entry(list(qrs_beats), "qrs_ms", absent=False)}


def interval_confidence(beats: list[Fiducials | None], median: Fiducials | None,
                        source: str = DEFAULT_INTERVALS) -> dict[str, dict]:
    """Per interval: beats measured, spread over beats (IQR, ms) and an ``uncertain`` flag.

    ``beats``: each beat's global fiducials; ``median``: the median beat's. Uncertain when
    fewer than three beats give the interval or their IQR exceeds :data:`UNCERTAIN_IQR_MS`,
    and the QT also when the median beat's T end hangs on which lobe of the T wave is its
    peak (``Fiducials.t_ambiguous``); ``absent`` when the reported value (from ``source``,
    :func:`record_intervals`) is None (no P wave, no T end found).
    """
    reported = record_intervals(median, beats, source)
    ambiguous_t = median is not None and median.t_ambiguous
    return {key: _confidence_entry(
                [v for f in beats if f is not None and (v := _intervals(f)[key]) is not None],
                key, absent=reported[key] is None, doubt=key == "qt_ms" and ambiguous_t)
            for key in INTERVALS}


def _confidence_entry(vals: list[float], key: str, absent: bool, doubt: bool = False) -> dict:
    """One interval's confidence from its beats' values: how many, their IQR (ms), and
    uncertain when fewer than three, an IQR beyond :data:`UNCERTAIN_IQR_MS`, or ``doubt``."""
    iqr = float(np.subtract(*np.percentile(vals, [75, 25]))) if vals else None
    return {
        "n_beats": len(vals),
        "iqr_ms": None if iqr is None else round(iqr, 1),
        "absent": absent,
        "uncertain": bool(len(vals) < 3 or (iqr is not None and iqr > UNCERTAIN_IQR_MS[key])
                          or doubt),
    }


def delineate_beats(beats: np.ndarray, fs: float, r: int,
                    rr_ms: float | Sequence[float | None] | None = None,
                    method: str = "spatial", params: SpatialParams = DEFAULT_PARAMS,
                    spikes: Sequence[int | None] | None = None) -> list[Fiducials | None]:
    """Global fiducials of each beat of ``beats`` (``[n, leads, W]``, R at sample ``r``),
    in the beat window's coordinates; None for a beat that cannot be delineated.

    ``rr_ms``: one RR for all beats or each beat's own (the interval its T wave must end
    within); ``spikes``: each beat's ventricular pacing spike (window samples) or None, the
    paced QRS measured from it. The beats are each other's context (P locked to the QRS).
    """
    beats = np.asarray(beats)
    n = beats.shape[0]
    rrs = list(rr_ms) if isinstance(rr_ms, (list, tuple, np.ndarray)) else [rr_ms] * n
    spikes = list(spikes) if spikes is not None else [None] * n
    if len(rrs) != n or len(spikes) != n:
        raise ValueError(f"{n} beats but {len(rrs)} RR intervals and {len(spikes)} spikes")
    return [_at_spike(_try(b, fs, r, method, rr, r, params, beats), s)
            for b, rr, s in zip(beats, rrs, spikes)]


def beat_context(peaks: np.ndarray, beat_r: np.ndarray, fs: float, r: int,
                 rr_ms: float | None, pacing: PacingResult | None
                 ) -> tuple[list[float | None], list[int | None]]:
    """For :func:`delineate_beats`: each beat's own RR (the one after it; ``rr_ms`` where
    there is none) and its ventricular spike in a window with R at ``r``."""
    rrs = [_local_rr(peaks, int(b), fs) or rr_ms for b in beat_r]
    if pacing is None:
        return rrs, [None] * len(rrs)
    spikes = [None if e["ventricular"] is None else e["ventricular"] - int(b) + r
              for e, b in zip(pacing.beat_spikes(beat_r), beat_r)]
    return rrs, spikes


@dataclass
class RecordDelineation:
    """Fiducials of one record; every index is a sample of the (cleaned) record."""

    fs: float
    leads: tuple[str, ...]
    method: str
    rpeaks: np.ndarray  # all R peaks found
    beat_r: np.ndarray  # R peak of each delineated (kept) beat
    median: Fiducials  # the median beat's global fiducials, placed at the first kept beat
    beats: list[Fiducials | None]  # global fiducials of each kept beat
    # Per-lead fiducials [lead beat][lead] of every detected beat (``lead_r``), kept or not.
    per_lead: list[list[Fiducials | None]] = field(default_factory=list)
    lead_r: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    leads_used: tuple[str, ...] = ()  # the leads with a usable signal
    median_signal: np.ndarray | None = None  # the median beat [leads, W], R at `median_r`
    median_r: int = 0
    rr_ms: float | None = None  # the record's median RR interval
    beat_signals: np.ndarray | None = None  # the kept beats [n, leads, W], R at `median_r`
    pacing: PacingResult | None = None  # pacing spikes (ecgcore.signal.pacing)
    interval_source: str = DEFAULT_INTERVALS  # where `intervals` come from
    lead_method: str | None = None  # how `per_lead` was delineated (LEAD_METHODS); None: not
    # which of `beat_signals` the median beat is of (beats.dominant_family); None: all of them
    median_family: np.ndarray | None = None
    # one usable lead (not paced): the segmenter's per-beat QRS durations (ms), whose
    # median is the reported QRS duration (log item 27)
    one_lead_qrs_beats: list[float] | None = None

    @property
    def median_beats(self) -> np.ndarray | None:
        """The kept beats the median beat is of."""
        return of_family(self.beat_signals, self.median_family)

    def confidence(self) -> dict[str, dict]:
        """Per interval: beats measured, spread over beats (IQR, ms) and an ``uncertain`` flag
        (see :func:`interval_confidence`), each of the value :attr:`intervals` reports."""
        return with_one_lead_qrs_confidence(
            interval_confidence(self.beats, self.median, self.interval_source),
            self.one_lead_qrs_beats)

    @property
    def rhythm_regular(self) -> bool | None:
        """Whether the rhythm is regular (:func:`ecgcore.signal.delineate.rhythm_regular`)."""
        return rhythm_regular(rr_intervals_ms(self.rpeaks, self.fs),
                              None if self.pacing is None else self.pacing.paced)

    @property
    def one_lead_qrs_ms(self) -> float | None:
        """A one-lead record's reported QRS duration (the segmenter's); None otherwise."""
        return one_lead_qrs_ms(self.one_lead_qrs_beats)

    @property
    def intervals(self) -> dict[str, float | None]:
        """The record's global intervals (ms), from :attr:`interval_source`; a one-lead
        record's QRS duration is :attr:`one_lead_qrs_ms` when there is one."""
        return with_one_lead_qrs(record_intervals(self.median, self.beats, self.interval_source),
                                 self.one_lead_qrs_beats)

    @property
    def median_beat_intervals(self) -> dict[str, float | None]:
        """The median beat's global intervals (ms)."""
        return record_intervals(self.median, self.beats, "median_beat")

    @property
    def beat_intervals(self) -> dict[str, float | None]:
        """Median over beats of the per-beat global intervals (ms; ``beats`` source)."""
        return record_intervals(self.median, self.beats, "beats")

    def to_dict(self) -> dict:
        def fd(f: Fiducials | None) -> dict | None:
            if f is None:
                return None
            d = f.to_dict()
            d.pop("fs")
            d.update({k: (None if v is None else round(v, 1)) for k, v in _intervals(f).items()})
            return d

        by_r = {int(r): pl for r, pl in zip(self.lead_r, self.per_lead)}
        kept = {int(r) for r in self.beat_r}

        def leads_of(r: int) -> dict | None:
            pl = by_r.get(r)
            return None if pl is None else {lead: fd(f) for lead, f in zip(self.leads, pl)}

        return {
            "fs": self.fs, "leads": list(self.leads), "leads_used": list(self.leads_used),
            "method": self.method, "lead_method": self.lead_method,
            "n_rpeaks": int(self.rpeaks.size), "n_beats": len(self.beats),
            "interval_source": self.interval_source,
            "intervals": {k: (None if v is None else round(v, 1))
                          for k, v in self.intervals.items()},
            "intervals_median_beat": {k: (None if v is None else round(v, 1))
                                      for k, v in self.median_beat_intervals.items()},
            "intervals_beats_median": {k: (None if v is None else round(v, 1))
                                       for k, v in self.beat_intervals.items()},
            "confidence": self.confidence() if self.beats else None,
            # one lead: the segmenter's per-beat QRS durations behind the reported QRS
            "one_lead_qrs_beats": (None if self.one_lead_qrs_beats is None
                                   else [round(v, 1) for v in self.one_lead_qrs_beats]),
            "paced": None if self.pacing is None else self.pacing.paced,
            # a regular rhythm's P needs less evidence (docs/DELINEATION.md log item 35)
            "rhythm_regular": self.rhythm_regular,
            "pacing": None if self.pacing is None else self.pacing.to_dict(self.beat_r),
            "median_beat": fd(self.median),
            "beats": [{"r": int(r), "global": fd(g), "leads": leads_of(int(r))}
                      for r, g in zip(self.beat_r, self.beats)],
            # beats delineated per lead only: left out of the median beat, or at an edge
            "lead_only_beats": [{"r": int(r), "leads": leads_of(int(r))}
                                for r in self.lead_r if int(r) not in kept],
        }


def delineate_signal(
    signal: np.ndarray,
    fs: float,
    leads: tuple[str, ...] | None = None,
    method: str = "spatial",
    per_beat: bool = True,
    per_lead: bool = True,
    powerline_hz: float | None = 50.0,
    min_beats: int = 3,
    params: SpatialParams = DEFAULT_PARAMS,
    intervals: str = DEFAULT_INTERVALS,
    lead_method: str = DEFAULT_LEAD_METHOD,
    lead_qrs_quiet_ms: float = LEAD_QRS_QUIET_MS,
    lead_model: object | None = None,
    median_of: str = DEFAULT_MEDIAN_OF,
) -> RecordDelineation:
    """Delineate a record given as ``[leads, samples]`` µV at ``fs`` Hz; the record's
    intervals from ``intervals`` (:data:`INTERVAL_SOURCES`; ``beats`` needs ``per_beat``).

    The global fiducials (median beat and each kept beat) come from ``method``. Per lead,
    every detected beat is delineated by ``lead_method`` (:data:`LEAD_METHODS`): ``learned``
    (the default, best held out on LUDB's per-lead marks: docs/DELINEATION.md) labels each
    lead with the shipped segmenter (or ``lead_model``, a
    :class:`ecgcore.signal.learned_delineation.QRSUNet`); ``spatial`` runs ``method`` on
    each lead alone with ``qrs_quiet_ms`` set to ``lead_qrs_quiet_ms``
    (:data:`ecgcore.signal.delineate.LEAD_QRS_QUIET_MS`). The median beat is of every kept
    beat or, with ``median_of="dominant"``, of the dominant QRS family
    (:func:`ecgcore.signal.beats.dominant_family`); the per-beat fiducials are of every kept beat.

    Raises:
        ValueError: too few beats, or the median beat cannot be delineated, or an unknown
        interval source or per-lead method.
    """
    if check_interval_source(intervals) == "beats" and not per_beat:
        raise ValueError("intervals='beats' needs per_beat=True: they come from each beat")
    if lead_method not in LEAD_METHODS:
        raise ValueError(f"unknown per-lead method {lead_method!r}; choose from {LEAD_METHODS}")
    check_median_of(median_of)
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"signal must be [leads, samples], got shape {x.shape}")
    leads = tuple(leads) if leads is not None else tuple(f"lead{i + 1}" for i in range(x.shape[0]))
    if len(leads) != x.shape[0]:
        raise ValueError(f"{x.shape[0]} signal rows but {len(leads)} lead names")
    usable = np.isfinite(x).all(axis=1)
    if not usable.any():
        raise ValueError("no usable lead: every lead has NaN")
    clean = np.full_like(x, np.nan)
    clean[usable] = ecg_clean(x[usable], fs, 0.5, min(100.0, 0.45 * fs), powerline_hz)
    peaks = ecg_peaks(clean[usable], fs)
    if peaks.size < min_beats:
        raise ValueError(f"too few beats: {peaks.size} R peaks found, {min_beats} needed")
    peaks = align_to_template(clean[usable], peaks, fs)
    pacing = detect_pacing(x[usable], fs, peaks)
    if pacing.paced:  # clean again without the spikes, so that they do not widen the QRS
        clean[usable] = ecg_clean(remove_spikes(x[usable], fs, pacing.spikes), fs, 0.5,
                                  min(100.0, 0.45 * fs), powerline_hz)
    rr = rr_intervals_ms(peaks, fs)
    rr_med = float(np.median(rr)) if rr.size else None
    before, after = WINDOW_ANALYSIS.offsets(fs)
    wide, anchors = segment_beats(clean, peaks, before, after)
    if wide.shape[0] < min_beats:
        raise ValueError(f"too few beats: {wide.shape[0]} complete beats, {min_beats} needed")
    qb, qa = quality_window(float(np.median(np.diff(peaks))), fs)
    quality = beat_quality(np.nan_to_num(wide[:, usable, before - qb: before + qa]))
    keep = quality.keep if quality.n_kept >= min_beats else np.ones(len(anchors), bool)
    kept, kept_r = wide[keep], anchors[keep]
    family = median_family(kept[:, usable], before, fs, median_of, min_beats)
    med_x = median_beat(kept[family])
    med = qrs_from_spike(ecg_delineate(med_x, fs, before, method=method, rr_ms=rr_med,
                                       params=params, beats=kept[family],
                                       rr_regular=rhythm_regular(rr, pacing.paced)), pacing)
    beats: list[Fiducials | None] = []
    lead_fids: list[list[Fiducials | None]] = []
    lead_r = np.empty(0, np.int64)
    learned = None
    if per_beat:
        rrs, spikes = beat_context(peaks, kept_r, fs, before, rr_med, pacing)
        beats = [None if f is None else f.shifted(before - int(r)) for f, r in
                 zip(delineate_beats(kept, fs, before, rrs, method, params, spikes), kept_r)]
        if per_lead:
            lead_r = peaks
            lead_rrs, lead_spikes = beat_context(peaks, lead_r, fs, before, rr_med, pacing)
            if lead_method == "learned":
                learned = _learned_leads(clean, usable, peaks, fs, lead_model)
            lead_params = replace(params, qrs_quiet_ms=lead_qrs_quiet_ms)
            for k, (r, local, spike) in enumerate(zip(lead_r, lead_rrs, lead_spikes)):
                spike = None if spike is None else spike - before + int(r)
                if lead_method == "learned":
                    row = learned[k]
                else:
                    b = padded_window(clean, int(r), before, after)
                    row = [_try(b[i: i + 1], fs, before, method, local, r, lead_params,
                                kept[:, i: i + 1]) if usable[i] else None
                           for i in range(b.shape[0])]
                lead_fids.append([_inside(_at_spike(f, spike), x.shape[1]) for f in row])
    one_qrs = one_lead_qrs_beats(clean, usable, peaks, fs, pacing, lead_model, learned)
    return RecordDelineation(
        fs=float(fs), leads=leads, method=method, rpeaks=peaks, beat_r=kept_r,
        median=med.shifted(before - int(kept_r[0])), beats=beats, per_lead=lead_fids,
        lead_r=np.asarray(lead_r, dtype=np.int64),
        leads_used=tuple(name for name, ok in zip(leads, usable) if ok),
        median_signal=med_x, median_r=before, rr_ms=rr_med, beat_signals=kept,
        pacing=pacing, interval_source=intervals,
        lead_method=lead_method if per_beat and per_lead else None,
        median_family=None if family.all() else family, one_lead_qrs_beats=one_qrs,
    )


def _learned_leads(clean: np.ndarray, usable: np.ndarray, peaks: np.ndarray, fs: float,
                   model: object | None) -> list[list[Fiducials | None]]:
    """Per beat and per lead (None for unusable leads), the learned segmenter's fiducials."""
    from ecgcore.signal.learned_delineation import lead_fiducials, segment, shipped_segmenter

    idx = np.flatnonzero(usable)
    sig = clean[idx]
    net = model if model is not None else shipped_segmenter()
    rows = lead_fiducials(segment(net, sig, fs), sig, peaks, fs)
    out = []
    for row in rows:
        full: list[Fiducials | None] = [None] * clean.shape[0]
        for j, i in enumerate(idx):
            full[i] = row[j]
        out.append(full)
    return out


def one_lead_qrs_beats(clean: np.ndarray, usable: np.ndarray, peaks: np.ndarray, fs: float,
                       pacing: PacingResult, model: object | None = None,
                       rows: list[list[Fiducials | None]] | None = None) -> list[float] | None:
    """A record of one usable lead reports as its QRS duration the median over its beats of
    the learned segmenter's QRS in that lead (docs/DELINEATION.md log item 27: better than
    the rules on a lone median beat against twelve-lead readings): those per-beat durations
    (ms), which also say how sure that QRS is. None with several usable leads, for a paced
    record (its QRS is measured from the spike) or when no beat has one. ``clean``
    ``[leads, samples]`` µV with ``usable`` leads; ``rows``: the segmenter's per-beat
    fiducials of ``peaks`` when already made, else the shipped segmenter (or ``model``)
    labels the lead."""
    if usable.sum() != 1 or pacing.paced:
        return None
    i = int(np.flatnonzero(usable)[0])
    if rows is None:
        rows = _learned_leads(clean, usable, peaks, fs, model)
    return [row[i].qrs_ms for row in rows if row[i] is not None] or None


def padded_window(x: np.ndarray, r: int, before: int, after: int) -> np.ndarray:
    """The ``[leads, before + after]`` window of ``x`` around sample ``r``; where it leaves the
    record, the edge sample is repeated (a flat line: no activity, so no boundary there)."""
    n = x.shape[-1]
    if not 0 <= r < n:
        raise ValueError(f"R at sample {r} lies outside the record of {n} samples")
    lo, hi = r - before, r + after
    seg = x[:, max(lo, 0): min(hi, n)]
    return np.pad(seg, ((0, 0), (max(-lo, 0), max(hi - n, 0))), mode="edge")


def _inside(fid: Fiducials | None, n: int) -> Fiducials | None:
    """``fid`` (record samples) with its boundaries inside a record of ``n`` samples: None when
    the QRS is cut by the record's edge (its onset at or before the first sample, its offset
    at or after the last), and no P or T wave whose boundary lies beyond the edge."""
    if fid is None or fid.qrs_on <= 0 or fid.qrs_off >= n - 1:
        return None
    p_ok = fid.p_on is None or fid.p_on > 0
    t_ok = fid.t_off is None or fid.t_off < n - 1
    return replace(fid, p_on=fid.p_on if p_ok else None, p_off=fid.p_off if p_ok else None,
                   t_peak=fid.t_peak if t_ok else None, t_off=fid.t_off if t_ok else None)


def _at_spike(fid: Fiducials | None, spike: int | None) -> Fiducials | None:
    """A paced beat's QRS measured from its own spike (record samples)."""
    return None if fid is None else qrs_onset_at_spike(fid, spike)


def _local_rr(peaks: np.ndarray, r: int, fs: float) -> float | None:
    """The RR interval (ms) that follows beat ``r`` (the one its T wave must end within)."""
    i = int(np.searchsorted(peaks, r))
    if i + 1 < peaks.size:
        rr = (peaks[i + 1] - peaks[i]) * 1000.0 / fs
        return rr if 200.0 <= rr <= 3000.0 else None
    return None


def _try(beat: np.ndarray, fs: float, before: int, method: str, rr_ms: float | None,
         r: int, params: SpatialParams, context: np.ndarray) -> Fiducials | None:
    """One beat (or one lead of it) delineated, the record's beats ``context`` telling
    whether its P wave is locked to the QRS; None when it cannot be delineated."""
    try:
        return ecg_delineate(beat, fs, before, method=method, rr_ms=rr_ms, params=params,
                             beats=context).shifted(before - int(r))
    except ValueError:
        return None
