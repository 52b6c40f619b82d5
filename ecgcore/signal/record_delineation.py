"""Delineation of a whole record: each beat's fiducials in each lead, the global ones per
beat, and those of the median beat — on any ``[leads, samples]`` array at any rate.

The steps are the pipeline's (clean → multi-lead R peaks → template alignment → wide beat
windows → quality filter → median beat), then :func:`ecgcore.signal.delineate.ecg_delineate`
on the median beat (the record's global intervals, the default), on every kept beat with
all leads together (per-beat global fiducials: QT variability, alternans) and on every
kept beat one lead at a time (per-lead fiducials). The record's intervals per beat are
the medians over its beats; both are reported.

A beat or lead that cannot be delineated gets ``None`` and costs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecgcore.signal.beats import (
    WINDOW_ANALYSIS,
    align_to_template,
    beat_quality,
    median_beat,
    quality_window,
    segment_beats,
)
from ecgcore.signal.clean import ecg_clean
from ecgcore.signal.delineate import DEFAULT_PARAMS, SpatialParams, ecg_delineate
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


def _intervals(fid: Fiducials | None) -> dict[str, float | None]:
    if fid is None:
        return {k: None for k in INTERVALS}
    return {"p_ms": fid.p_ms, "pr_ms": fid.pr_ms, "qrs_ms": fid.qrs_ms, "qt_ms": fid.qt_ms}


def _median_over(fids: list[Fiducials | None]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in INTERVALS:
        vals = [v for f in fids if f is not None and (v := _intervals(f)[key]) is not None]
        out[key] = float(np.median(vals)) if vals else None
    return out


def interval_confidence(beats: list[Fiducials | None], median: Fiducials | None
                        ) -> dict[str, dict]:
    """Per interval: beats measured, spread over beats (IQR, ms) and an ``uncertain`` flag.

    ``beats``: each beat's global fiducials; ``median``: the median beat's (the reported
    values). Uncertain when fewer than three beats give the interval or their IQR exceeds
    :data:`UNCERTAIN_IQR_MS`; ``absent`` when the median beat has no such interval (no P
    wave, no T end found).
    """
    reported = _intervals(median)
    out = {}
    for key in INTERVALS:
        vals = np.array([v for f in beats if f is not None
                         and (v := _intervals(f)[key]) is not None])
        iqr = float(np.subtract(*np.percentile(vals, [75, 25]))) if vals.size else None
        out[key] = {
            "n_beats": int(vals.size),
            "iqr_ms": None if iqr is None else round(iqr, 1),
            "absent": reported[key] is None,
            "uncertain": bool(vals.size < 3 or (iqr is not None and iqr > UNCERTAIN_IQR_MS[key])),
        }
    return out


def beats_confidence(beats: np.ndarray, fs: float, r: int, median: Fiducials,
                     rr_ms: float | None = None, method: str = "spatial",
                     params: SpatialParams = DEFAULT_PARAMS) -> dict[str, dict]:
    """:func:`interval_confidence` of a median beat's intervals from the single beats it is
    the median of (``[n, leads, W]``, R at ``r``, as ``BeatResult.analysis_beats``): each
    beat is delineated with all leads together, the beats as context."""
    beats = np.asarray(beats)
    fids: list[Fiducials | None] = []
    for b in beats:
        try:
            fids.append(ecg_delineate(b, fs, r, method=method, rr_ms=rr_ms, params=params,
                                      beats=beats))
        except ValueError:
            fids.append(None)
    return interval_confidence(fids, median)


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
    per_lead: list[list[Fiducials | None]] = field(default_factory=list)  # [beat][lead]
    leads_used: tuple[str, ...] = ()  # the leads with a usable signal
    median_signal: np.ndarray | None = None  # the median beat [leads, W], R at `median_r`
    median_r: int = 0
    rr_ms: float | None = None  # the record's median RR interval
    beat_signals: np.ndarray | None = None  # the kept beats [n, leads, W], R at `median_r`
    pacing: PacingResult | None = None  # pacing spikes (ecgcore.signal.pacing)

    def confidence(self) -> dict[str, dict]:
        """Per interval: beats measured, spread over beats (IQR, ms) and an ``uncertain`` flag
        (see :func:`interval_confidence`)."""
        return interval_confidence(self.beats, self.median)

    @property
    def intervals(self) -> dict[str, float | None]:
        """The record's global intervals (ms), measured on the median beat."""
        return _intervals(self.median)

    @property
    def beat_intervals(self) -> dict[str, float | None]:
        """Median over beats of the per-beat global intervals (ms)."""
        return _median_over(self.beats)

    def to_dict(self) -> dict:
        def fd(f: Fiducials | None) -> dict | None:
            if f is None:
                return None
            d = f.to_dict()
            d.pop("fs")
            d.update({k: (None if v is None else round(v, 1)) for k, v in _intervals(f).items()})
            return d

        return {
            "fs": self.fs, "leads": list(self.leads), "leads_used": list(self.leads_used),
            "method": self.method,
            "n_rpeaks": int(self.rpeaks.size), "n_beats": len(self.beats),
            "intervals_median_beat": {k: (None if v is None else round(v, 1))
                                      for k, v in self.intervals.items()},
            "intervals_beats_median": {k: (None if v is None else round(v, 1))
                                       for k, v in self.beat_intervals.items()},
            "confidence": self.confidence() if self.beats else None,
            "paced": None if self.pacing is None else self.pacing.paced,
            "pacing": None if self.pacing is None else self.pacing.to_dict(self.beat_r),
            "median_beat": fd(self.median),
            "beats": [
                {"r": int(r), "global": fd(g),
                 "leads": ({lead: fd(f) for lead, f in zip(self.leads, pl)} if pl else None)}
                for r, g, pl in zip(self.beat_r, self.beats,
                                    self.per_lead or [None] * len(self.beats))
            ],
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
) -> RecordDelineation:
    """Delineate a record given as ``[leads, samples]`` µV at ``fs`` Hz.

    Raises:
        ValueError: too few beats, or the median beat cannot be delineated.
    """
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
    med_x = median_beat(kept)
    med = qrs_from_spike(ecg_delineate(med_x, fs, before, method=method, rr_ms=rr_med,
                                       params=params, beats=kept), pacing)
    beats: list[Fiducials | None] = []
    lead_fids: list[list[Fiducials | None]] = []
    if per_beat:
        spikes = [b["ventricular"] for b in pacing.beat_spikes(kept_r)]
        for b, r, spike in zip(kept, kept_r, spikes):
            local = _local_rr(peaks, int(r), fs) or rr_med
            beats.append(_at_spike(_try(b, fs, before, method, local, r, params, kept), spike))
            if per_lead:
                lead_fids.append([_at_spike(_try(b[i: i + 1], fs, before, method, local, r,
                                                 params, kept[:, i: i + 1]), spike)
                                  if usable[i] else None for i in range(b.shape[0])])
    return RecordDelineation(
        fs=float(fs), leads=leads, method=method, rpeaks=peaks, beat_r=kept_r,
        median=med.shifted(before - int(kept_r[0])), beats=beats, per_lead=lead_fids,
        leads_used=tuple(name for name, ok in zip(leads, usable) if ok),
        median_signal=med_x, median_r=before, rr_ms=rr_med, beat_signals=kept,
        pacing=pacing,
    )


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
