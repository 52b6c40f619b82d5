"""One record → beats, median beat, fiducials and features.

The steps (each a function of its own module, tested on real records):
clean → R peaks (all usable leads) → noise-dominated leads left out → template alignment
→ beats → quality filter → median beat in a wide analysis window → global delineation →
the configured beat window (±400 ms around R, or 750 ms anchored on QRS onset) →
classical features.

Every step runs on the leads a record has and can use, one lead included: missing and bad
leads (see :func:`ecgcore.io.validate_record`) stay NaN rows in the outputs, so a record's
layout is kept, and the features that need them are NaN with their reason in
``BeatResult.feature_notes``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.signal import detrend

from ecgcore.io.record import Record, RecordError
from ecgcore.signal.beats import (
    DEFAULT_MEDIAN_OF,
    WINDOW_ANALYSIS,
    WINDOWS,
    BeatQuality,
    BeatWindow,
    align_to_template,
    beat_quality,
    check_median_of,
    median_beat,
    median_family,
    of_family,
    quality_window,
    segment_beats,
)
from ecgcore.signal.clean import ecg_clean, resample
from ecgcore.signal.delineate import ecg_delineate, rhythm_regular
from ecgcore.signal.features import ecg_features, missing_feature_reasons
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.pacing import PacingResult, detect_pacing, qrs_from_spike, remove_spikes
from ecgcore.signal.record_delineation import (
    DEFAULT_INTERVALS,
    beat_context,
    check_interval_source,
    delineate_beats,
    interval_confidence,
    one_lead_qrs_beats,
    record_intervals,
    with_one_lead_qrs,
    with_one_lead_qrs_confidence,
)
from ecgcore.signal.rpeaks import ecg_peaks, rr_intervals_ms


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that decides how a record becomes beats; saved with every cache."""

    target_fs: float | None = 500.0  # resample to this rate; None keeps the record's own
    highpass_hz: float | None = 0.5
    lowpass_hz: float | None = 100.0
    powerline_hz: float | None = 50.0
    window: str = "r400"  # a key of ecgcore.signal.beats.WINDOWS
    min_beats: int = 3
    min_magnitude_uv: float = 20.0
    max_magnitude_uv: float = 5000.0
    min_mean_corr: float = 0.7
    min_max_corr: float = 0.9
    delineation: str = "spatial"
    max_beats: int = 16  # length of the beat sequence for beat-token models
    #: A lead whose beat-to-beat noise (µV RMS) exceeds this fraction of its median beat's
    #: peak-to-peak, and min_noise_uv, is noise-dominated and left out (see lead_noise).
    max_noise_ratio: float = 0.4
    min_noise_uv: float = 50.0
    #: Where the record's intervals come from (record_delineation.INTERVAL_SOURCES): the
    #: median beat's global fiducials, or the median over beats of each beat's interval.
    intervals: str = DEFAULT_INTERVALS
    #: Which kept beats the median beats are of (beats.MEDIAN_SOURCES): all of them, or the
    #: dominant QRS family (beats.dominant_family).
    median_of: str = DEFAULT_MEDIAN_OF

    def __post_init__(self) -> None:
        if self.window not in WINDOWS:
            raise ValueError(f"unknown beat window {self.window!r}; known: {sorted(WINDOWS)}")
        check_interval_source(self.intervals)
        check_median_of(self.median_of)

    @property
    def beat_window(self) -> BeatWindow:
        return WINDOWS[self.window]

    def to_dict(self) -> dict:
        d = asdict(self)
        # options at the value they had before they existed: caches keep their key
        for key, before in (("intervals", "median_beat"), ("median_of", "all")):
            if d[key] == before:
                del d[key]
        return d


@dataclass
class BeatResult:
    """What the pipeline makes of one record. Arrays are float32 µV."""

    record_id: str
    fs: float
    leads: tuple[str, ...]
    signal: np.ndarray  # cleaned [leads, samples]
    rpeaks: np.ndarray  # all detected R peaks (samples)
    anchors: np.ndarray  # anchor sample of each kept beat in `beats`
    beats: np.ndarray  # kept beats in the configured window [beats, leads, W]
    quality: BeatQuality
    median: np.ndarray  # median beat in the configured window [leads, W]
    fiducials: Fiducials  # in the configured window's coordinates
    analysis_median: np.ndarray  # median beat in the wide analysis window
    analysis_fiducials: Fiducials  # in the analysis window's coordinates
    rr_ms: np.ndarray
    features: dict[str, float] = field(default_factory=dict)
    bad_leads: dict[str, str] = field(default_factory=dict)  # lead → why it was left out
    feature_notes: dict[str, str] = field(default_factory=dict)  # NaN feature → why
    # kept beats in the wide analysis window [beats, leads, W] (what the median is of)
    analysis_beats: np.ndarray | None = None
    # pacing spikes found on the raw signal (ecgcore.signal.pacing); paced None = unknown
    pacing: PacingResult | None = None
    # R peak of each analysis beat (samples of `signal`); each one's global fiducials in
    # the analysis window when the intervals come from the beats (config.intervals)
    analysis_r: np.ndarray | None = None
    beat_fiducials: list[Fiducials | None] | None = None
    # which analysis beats the median beats are of (config.median_of); None: all of them
    median_family: np.ndarray | None = None
    delineation: str = "spatial"  # the global delineation method (config.delineation)
    # one usable lead (not paced): the segmenter's per-beat QRS durations (ms), whose median
    # is the reported QRS duration (record_delineation.one_lead_qrs_beats)
    one_lead_qrs_beats: list[float] | None = None

    @property
    def median_beats(self) -> np.ndarray | None:
        """The analysis beats the analysis median beat is of."""
        return of_family(self.analysis_beats, self.median_family)

    @property
    def rhythm_regular(self) -> bool | None:
        """Whether the rhythm is regular (:func:`ecgcore.signal.delineate.rhythm_regular`),
        which lets the P acceptance take its regular rhythm's numbers (log item 35)."""
        return rhythm_regular(self.rr_ms, None if self.pacing is None else self.pacing.paced)

    def confidence(self) -> dict[str, dict]:
        """How sure each reported interval is (:func:`interval_confidence`): each kept beat
        delineated on its own as the ``beats`` interval source does (its own RR, a paced
        beat from its spike), the beats that give the interval, their spread (IQR, ms) and
        the ``uncertain`` / ``absent`` flags; what `ecgwb measure --json` and the Data view
        show beside the values."""
        fids = self.beat_fiducials
        source = "median_beat" if fids is None else "beats"
        if fids is None and self.analysis_beats is not None and self.analysis_r is not None:
            fids = _kept_beat_fiducials(self.analysis_beats, self.rpeaks, self.analysis_r,
                                        self.rr_ms, self.fs, self.pacing, self.delineation)
        return with_one_lead_qrs_confidence(
            interval_confidence(fids or [], self.analysis_fiducials, source),
            self.one_lead_qrs_beats)

    @property
    def intervals(self) -> dict[str, float | None]:
        """The record's reported P duration, PR, QRS duration and QT (ms; None where not
        measured), as :attr:`features` holds them: from ``config.intervals``, and a one-lead
        record's QRS from the learned segmenter (docs/DELINEATION.md log item 27)."""
        return {k: (None if not np.isfinite(v := self.features.get(k, np.nan)) else float(v))
                for k in ("p_ms", "pr_ms", "qrs_ms", "qt_ms")}


#: Beats compared pairwise by lead_noise (evenly spaced over a long record).
NOISE_MAX_BEATS = 200
#: When the quality filter leaves too few beats, the noisiest lead is left out (and the
#: filter run again) if its noise ratio is at least this and this many times the others'.
NOISE_OUTLIER_MIN = 0.1
NOISE_OUTLIER_FACTOR = 3.0


def lead_noise(x: np.ndarray, peaks: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Per lead: the beat-to-beat noise and the peak-to-peak of the median beat, in µV.

    Over the rate-adapted quality window around each R peak, each (detrended) beat is
    compared with its most similar other beat of the same lead; the noise is the median
    over beats of that residual's RMS / √2 (the noise of one beat). Comparing with the
    nearest beat rather than the median beat lets a second morphology (ectopic or paced
    beats, a change of pacing) pass as signal: only a lead whose every beat differs from
    every other one, by muscle noise, electrode motion or a loose contact, is noisy.
    """
    qb, qa = quality_window(float(np.median(np.diff(peaks))), fs)
    beats, _ = segment_beats(x, peaks, qb, qa)
    n_leads = x.shape[0]
    if beats.shape[0] < 3:
        return np.zeros(n_leads), np.ones(n_leads)
    if beats.shape[0] > NOISE_MAX_BEATS:
        beats = beats[np.linspace(0, beats.shape[0] - 1, NOISE_MAX_BEATS).round().astype(int)]
    # Detrended per beat: baseline wander left after the high-pass is not noise here.
    beats = detrend(beats.astype(np.float64), axis=-1)
    size = np.ptp(np.median(beats, axis=0), axis=-1)
    noise = np.empty(n_leads)
    width = beats.shape[-1]
    for k in range(n_leads):
        b = beats[:, k, :]
        sq = (b**2).sum(axis=1)
        dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * b @ b.T, 0.0)
        np.fill_diagonal(dist, np.inf)
        noise[k] = float(np.median(np.sqrt(dist.min(axis=1) / width / 2.0)))
    return noise, size


def _detect(x: np.ndarray, fs: float, config: PipelineConfig, src) -> np.ndarray:
    try:
        return ecg_peaks(x, fs)
    except ValueError as exc:
        raise RecordError(src, f"R-peak detection failed: {exc}") from None


def _good_beats(clean: np.ndarray, peaks: np.ndarray, fs: float, config: PipelineConfig, src):
    """Aligned R peaks, RR intervals, the wide beats, their anchors and quality; a
    RecordError when fewer than ``config.min_beats`` beats are usable."""
    if peaks.size < config.min_beats:
        raise RecordError(src, f"too few beats: {peaks.size} R peaks found, {config.min_beats} needed")
    peaks = align_to_template(clean, peaks, fs)
    rr = rr_intervals_ms(peaks, fs)
    before, after = WINDOW_ANALYSIS.offsets(fs)
    wide, wide_anchors = segment_beats(clean, peaks, before, after)
    if wide.shape[0] < config.min_beats:
        raise RecordError(src, f"too few beats: {wide.shape[0]} complete beats, {config.min_beats} needed")
    qb, qa = quality_window(float(np.median(np.diff(peaks))), fs)
    quality = beat_quality(
        wide[:, :, before - qb : before + qa],
        config.min_magnitude_uv, config.max_magnitude_uv,
        config.min_mean_corr, config.min_max_corr,
    )
    if quality.n_kept < config.min_beats:
        raise RecordError(
            src, f"too few beats: {quality.n_kept} of {wide.shape[0]} passed the quality filter, "
            f"{config.min_beats} needed",
        )
    return peaks, rr, wide, wide_anchors, quality


def _kept_beat_fiducials(beats: np.ndarray, peaks: np.ndarray, beat_r: np.ndarray,
                         rr_ms: np.ndarray, fs: float, pacing: PacingResult | None,
                         method: str) -> list[Fiducials | None]:
    """Each kept beat's global fiducials (``beats`` in the analysis window, R at ``beat_r``
    in the record): its own RR, a paced beat measured from its spike."""
    before = WINDOW_ANALYSIS.offsets(fs)[0]
    rr_med = float(np.median(rr_ms)) if np.size(rr_ms) else None
    rrs, spikes = beat_context(peaks, beat_r, fs, before, rr_med, pacing)
    return delineate_beats(beats, fs, before, rrs, method, spikes=spikes)


def process_record(record: Record, config: PipelineConfig = PipelineConfig()) -> BeatResult:
    """Run the beat pipeline on one record; a record that cannot be used raises RecordError."""
    src = record.source or record.record_id
    fs = float(record.fs)
    leads = tuple(record.leads)
    bad = dict(record.bad_leads)
    finite = np.isfinite(record.signal).all(axis=1)
    use = [i for i, lead in enumerate(leads) if finite[i] and lead not in bad]
    if not use:
        raise RecordError(src, "no usable lead: every lead is missing, NaN or left out as bad")
    x = record.signal[use]
    if config.target_fs and not np.isclose(fs, config.target_fs):
        x = resample(x, fs, config.target_fs)
        fs = float(config.target_fs)
    raw, raw_use = x, list(use)  # before cleaning: the low-pass removes pacing spikes
    try:
        clean = ecg_clean(x, fs, config.highpass_hz, config.lowpass_hz, config.powerline_hz)
    except ValueError as exc:
        raise RecordError(src, f"cleaning failed: {exc}") from None
    peaks = _detect(clean, fs, config, src)
    ratio = None
    if peaks.size >= config.min_beats:
        noise, size = lead_noise(clean, peaks, fs)
        ratio = noise / np.maximum(size, 1e-9)
        noisy = (ratio > config.max_noise_ratio) & (noise > config.min_noise_uv)
        for k in np.flatnonzero(noisy):
            bad[leads[use[k]]] = (f"dominated by noise: beat-to-beat variation {noise[k]:.0f} µV RMS "
                                  f"against a median beat of {size[k]:.0f} µV peak-to-peak")
        if noisy.all():
            reasons = "; ".join(f"{leads[use[k]]}: {bad[leads[use[k]]]}" for k in range(len(use)))
            raise RecordError(src, f"no usable lead left: {reasons}")
        if noisy.any():  # detect again on the clean leads alone
            use, clean, ratio = [i for i, k in zip(use, noisy) if not k], clean[~noisy], ratio[~noisy]
            peaks = _detect(clean, fs, config, src)
    while True:
        try:
            peaks, rr, _, wide_anchors, quality = _good_beats(clean, peaks, fs, config, src)
            break
        except RecordError as exc:
            # One lead far noisier than the rest can fail every beat: leave it out, try again.
            if ratio is None or len(use) < 2:
                raise
            k = int(np.argmax(ratio))
            others = np.median(np.delete(ratio, k))
            if not (ratio[k] >= NOISE_OUTLIER_MIN and ratio[k] >= NOISE_OUTLIER_FACTOR * others):
                raise
            bad[leads[use[k]]] = (f"dominated by noise: beat-to-beat variation {ratio[k]:.2f} × its "
                                  f"median beat's peak-to-peak ({others:.2f} in the other leads), "
                                  f"and with it {exc.problem}")
            keep = np.arange(len(use)) != k
            use, clean, ratio = [i for i, ok in zip(use, keep) if ok], clean[keep], ratio[keep]
            peaks = _detect(clean, fs, config, src)
    before, after = WINDOW_ANALYSIS.offsets(fs)
    raw = raw[[raw_use.index(i) for i in use]]
    pacing = detect_pacing(raw, fs, peaks, source_fs=float(record.fs))
    if pacing.paced:  # clean again without the spikes, so that they do not widen the QRS
        clean = ecg_clean(remove_spikes(raw, fs, pacing.spikes), fs, config.highpass_hz,
                          config.lowpass_hz, config.powerline_hz)
    # Back to the record's layout: leads not used are NaN rows.
    full = np.full((len(leads), clean.shape[1]), np.nan, dtype=np.float32)
    full[use] = clean
    clean = full
    kept_r = wide_anchors[quality.keep]
    wide_full, _ = segment_beats(clean, kept_r, before, after)
    family = median_family(wide_full[:, use], before, fs, config.median_of, config.min_beats)
    analysis_median = median_beat(wide_full[family])
    rr_med = float(np.median(rr)) if rr.size else None
    try:
        afid = ecg_delineate(analysis_median, fs, before, method=config.delineation,
                             rr_ms=rr_med, beats=wide_full[family],
                             rr_regular=rhythm_regular(rr, pacing.paced))
    except ValueError as exc:
        raise RecordError(src, f"delineation failed: {exc}") from None
    afid = qrs_from_spike(afid, pacing)
    beat_fids = None
    if config.intervals == "beats":
        beat_fids = _kept_beat_fiducials(wide_full, peaks, kept_r, rr, fs, pacing,
                                         config.delineation)

    window = config.beat_window
    wb, wa = window.offsets(fs)
    shift = afid.qrs_on - afid.r if window.anchor == "qrs_onset" else 0
    beats, anchors = segment_beats(clean, kept_r + shift, wb, wa)
    if beats.shape[0] == 0:
        raise RecordError(src, "no complete beat in the configured window")
    in_family = np.isin(anchors, kept_r[family] + shift)
    median = median_beat(beats[in_family] if in_family.any() else beats)
    # Position of the analysis window's start in the configured window's coordinates.
    fid = afid.shifted(before + shift - wb)
    one_qrs = one_lead_qrs_beats(clean, np.isin(np.arange(len(leads)), use), peaks, fs, pacing)
    intervals = with_one_lead_qrs(record_intervals(afid, beat_fids or [], config.intervals),
                                  one_qrs)
    features = ecg_features(analysis_median, afid, rr, leads, intervals=intervals)
    usable = tuple(leads[i] for i in use)
    return BeatResult(
        record_id=record.record_id, fs=fs, leads=leads, signal=clean, rpeaks=peaks,
        anchors=anchors, beats=beats, quality=quality, median=median, fiducials=fid,
        analysis_median=analysis_median, analysis_fiducials=afid, rr_ms=rr, features=features,
        bad_leads=bad, feature_notes=missing_feature_reasons(features, usable),
        analysis_beats=wide_full, pacing=pacing, analysis_r=kept_r, beat_fiducials=beat_fids,
        median_family=None if family.all() else family, delineation=config.delineation,
        one_lead_qrs_beats=one_qrs,
    )
