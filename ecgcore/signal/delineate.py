"""Global delineation of a multi-lead beat (a median beat or a single beat): P, QRS and T.

Global means as a cardiologist reads the boundaries on simultaneous leads (the CSE
referees' and IEC 60601-2-25's convention): the QRS begins where the fast deflections
begin in the leads taken together and ends where they have ended — not at the single
earliest or latest mark of twelve noisy per-lead boundaries. The ``"spatial"`` method works
on lead-combined curves, so that no single lead decides and a flat or noisy lead cannot
move a boundary on its own:

- **QRS onset/offset** — the spatial velocity (norm over leads of the time derivative)
  rises above / falls back to the isoelectric level next to the QRS plus a fraction of
  its peak height (:class:`SpatialParams`; at least a small absolute margin).
- **T peak/offset** — the dominant direction of the ST-T segment (first principal
  component of the baseline-corrected leads) gives the T peak, its most prominent
  extremum (a depressed ST segment is far from the PR level but is no wave); each lead
  with a large T wave then gets its T end by the area method of Zhang et al. (2006), the
  point that maximises the area between the signal and the horizontal line through that
  point over a trailing window, searched at most ``SpatialParams.t_span_ms`` after the
  lead's peak (so that a U wave, the next P or a slow tail cannot carry it away); the
  global offset is a high percentile of those ends (the latest lead, robust to one lead's
  noise).
- **P onset/offset** — the spatial velocity of the low-passed leads in the diastolic
  segment between the previous T wave and the QRS, bounded where the P bump's velocity
  falls to fractions of its height (:class:`SpatialParams`); dips narrower than 20 ms
  inside the bump (the velocity's zero at the P apex, a bifid P's notch) are bridged, so
  that one wave is not split into several. The P wave is accepted only when its
  bump stands above the activity of the rest of that segment: an isolated wave,
  as a sinus P is; atrial fibrillation (averaged away in a median beat), flutter
  (continuous activity) and junctional rhythms return no P. Given the record's beats, the
  P wave must also recur at the same distance before every QRS (:func:`p_locking`), which
  fibrillatory waves do not; without them only the isolation test applies (see
  docs/DELINEATION.md).

Search windows are physiological: the T peak and the T end lie within Bazett-like √RR
bounds after QRS onset, and before the next beat's QRS or P wave when these show in the
window (the next P is found by its likeness to this beat's P). Beats sampled below 500 Hz
are interpolated to it first, so that the constants mean the same at every rate. Indices
are samples into the median beat; see :class:`ecgcore.signal.fiducials.Fiducials`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy import signal as sps
from scipy.ndimage import grey_closing, uniform_filter1d

from ecgcore.signal.fiducials import Fiducials

# Low-pass cut-offs (Hz) of the curves each wave is delineated on.
QRS_LOWPASS_HZ = 30.0
T_LOWPASS_HZ = 25.0
P_LOWPASS_HZ = 20.0
#: The P search ends this long before QRS onset (the PR segment is never shorter).
P_QRS_GAP_MS = 20.0
#: Longest P wave accepted (ms). A physiological bound, not a tuned number: atrial
#: depolarisation lasts about 80–120 ms, 160 ms in marked left atrial enlargement (LUDB's
#: and QTDB's experts mark at most 166 and 152 ms). A longer "P" is a T wave's tail or a U
#: wave the search began in, and is reported as no P rather than a wrong PR.
P_MAX_MS = 200.0
#: Spatial velocity (µV/ms) above the isoelectric level that counts as QRS activity, at least.
QRS_MARGIN_UV_PER_MS = 1.5
#: A P wave's mean velocity must exceed this multiple of the rest of the segment's activity
#: (the default of ``SpatialParams.p_isolation``; chosen by k-fold on LUDB dev together with
#: the locking and bridging defaults below: was 2.0, then 1.75 before dips were bridged).
P_MIN_ISOLATION = 1.25
#: The default of ``SpatialParams.p_locked`` (k-fold on LUDB dev; 0, off, before bridging).
P_MIN_LOCKING = 1.0
#: The defaults of ``SpatialParams.p_isolation_regular`` and ``p_locked_regular``: a record
#: whose rhythm is regular (:func:`rhythm_regular`) needs no locking test, only the P wave
#: standing above the rest of the diastole (chosen on LUDB dev and PTB-XL's rhythm labels
#: together, by folds over PTB-XL's patients: docs/DELINEATION.md log item 35).
P_MIN_ISOLATION_REGULAR = 1.0
P_MIN_LOCKING_REGULAR = 0.0
#: The default of ``SpatialParams.p_bridge_ms`` (k-fold on LUDB dev: 20 ms in every fold).
P_BRIDGE_MS = 20.0
#: Leads whose T amplitude reaches this fraction of the largest take part in the T offset.
T_LEAD_FRACTION = 0.3
#: Percentile of the per-lead T ends taken as the global offset.
T_END_PERCENTILE = 90.0
#: A T end is ambiguous (``Fiducials.t_ambiguous``, the QT reported uncertain) when taking
#: each lead's T peak as its most prominent extremum instead of its largest excursion moves
#: the end by more than this (ms): the IEC 60601-2-25 QT SD tolerance. A biphasic or notched
#: T whose end hangs on which lobe is "the peak" (docs/DELINEATION.md log items 20–23).
T_AMBIGUOUS_MS = 30.0
#: Trailing window of the area method (Zhang et al. 2006 use ~ 128 ms).
T_AREA_WINDOW_MS = 128.0
#: Longest T peak → T end (ms): the default of ``SpatialParams.t_span_ms`` (chosen by k-fold
#: on LUDB dev; was a fixed 250 ms, which let a U wave or a slow tail carry the end away).
T_SPAN_MS = 120.0
#: Bazett-like bounds (in s per √s of RR) after QRS onset: T peak before, T end before.
T_PEAK_MAX_K = 0.5
T_END_MAX_K = 0.7
#: Cues read from the leads together are trusted only with at least this many usable leads.
#: The next beat's P found by its likeness to this P wave: in one or two leads a T wave is a
#: rounded bump much like a P wave (LUDB 1, lead II alone: the "next P" fell on the T wave
#: and cut the T search short, QT 282 ms against 488 on 12 leads); with fewer leads the RR
#: interval alone places the next P. A QRS end at the first sample of low lead-combined
#: velocity: one or two leads can turn at the same instant (QTDB sel103: the S nadir of V2
#: as MLII turns, QRS 28 ms short); with fewer leads the boundary must stay quiet for
#: :data:`LEAD_QRS_QUIET_MS` (log items 12 and 17).
MIN_COMBINED_LEADS = 3



@dataclass(frozen=True)
class SpatialParams:
    """The tuned numbers of the ``"spatial"`` method (see docs/BENCHMARKS.md).

    QRS boundaries lie where the spatial velocity falls to a fraction of its peak above the
    isoelectric level (onset / offset), as a reader sees the fast deflections start and end
    on simultaneous leads; relative, so that it means the same for small and large QRS
    complexes and for one lead or twelve. P boundaries lie where the P bump's velocity falls
    to a fraction of its height above the diastolic floor. The defaults were chosen by 5-fold
    cross-validation over LUDB dev records against the global reference of
    :mod:`ecgcore.io.ludb` (``ecgwb bench delineation`` repeats that choice inside each
    training fold and scores only held-out records).
    """

    qrs_on: float = 0.02
    qrs_off: float = 0.04
    p_on: float = 0.15
    p_off: float = 0.5
    #: A P wave is accepted when it stands above the rest of the diastole by ``p_isolation``
    #: and, when the record's beats are given (:func:`ecg_delineate` ``beats=``), is locked
    #: to the QRS across them by at least ``p_locked`` (:func:`p_locking`; 0: not tested).
    p_isolation: float = P_MIN_ISOLATION
    p_locked: float = P_MIN_LOCKING
    #: The same two numbers for a record whose rhythm is regular (:func:`rhythm_regular`;
    #: :func:`ecg_delineate` ``rr_regular=True``) and that has at least
    #: :data:`MIN_COMBINED_LEADS` usable leads: a regular rhythm is not atrial fibrillation,
    #: so a low-amplitude P wave may be accepted on less evidence (log item 35).
    p_isolation_regular: float = P_MIN_ISOLATION_REGULAR
    p_locked_regular: float = P_MIN_LOCKING_REGULAR
    #: The P search starts this long after the previous beat's T end (negative: before it,
    #: where a P wave of a long PR interval rides on the T wave's tail).
    p_after_t_ms: float = 40.0
    #: Each lead's T end lies at most this long after its T peak (the area method's search
    #: span): a U wave or the next P wave beyond it cannot carry the end away.
    t_span_ms: float = T_SPAN_MS
    #: Dips of the P bump's velocity narrower than this are bridged (ms; 0: none): a P
    #: wave's up- and down-stroke are two velocity humps with a near-zero dip at its apex
    #: (and a bifid P has more), which must not split one wave into several.
    p_bridge_ms: float = P_BRIDGE_MS
    #: A QRS boundary is where the velocity stays below its threshold for at least this long
    #: (ms; 0: the first sample below it). In one lead the velocity vanishes at every turn of
    #: the QRS (a q or S nadir, the R apex), which is no end of activity; the lead-combined
    #: velocity of several leads rarely does. None (the default): by the beat's usable leads,
    #: :data:`LEAD_QRS_QUIET_MS` for fewer than :data:`MIN_COMBINED_LEADS` (a one- or two-lead
    #: record, or each lead of the per-lead delineation in
    #: :mod:`ecgcore.signal.record_delineation`), 0 for more.
    qrs_quiet_ms: float | None = None


DEFAULT_PARAMS = SpatialParams()

#: One lead's QRS quiet duration (ms; :attr:`SpatialParams.qrs_quiet_ms`): shorter dips of a
#: lead's velocity are the turns of the wave (a q or S nadir). The value LUDB dev's 100
#: records choose per lead (smallest mean per-lead QRS onset / offset SD); ``ecgwb bench
#: delineation`` repeats the choice inside each training fold (docs/DELINEATION.md log
#: item 11).
LEAD_QRS_QUIET_MS = 8.0


#: A rhythm is regular when the median absolute difference of successive RR intervals is
#: under this fraction of the median RR (log item 35: LUDB dev's sinus records 1.7–2.4 % by
#: sinus type, its non-paced atrial fibrillation 7.3–69 %). A fixed number, not tuned.
RR_REGULAR_MAX = 0.05
#: Fewest RR intervals a regularity is judged on.
RR_REGULAR_MIN_INTERVALS = 4


def rhythm_regular(rr_ms: np.ndarray | list[float], paced: bool | None = None) -> bool | None:
    """Whether a record's rhythm is regular (:data:`RR_REGULAR_MAX`): True or False, None when
    it cannot be told (too few RR intervals). A paced rhythm is set by the pacemaker, not the
    atria: False."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    rr = rr[np.isfinite(rr)]
    if rr.size < RR_REGULAR_MIN_INTERVALS:
        return None
    if paced:
        return False
    return bool(np.median(np.abs(np.diff(rr))) < RR_REGULAR_MAX * np.median(rr))


#: Beats sampled slower than this are interpolated up to it before delineation.
MIN_INTERNAL_FS = 500.0

KNOWN_METHODS = ("spatial",)


@dataclass(frozen=True)
class _Beat:
    """The usable leads of a median beat and the timing facts the steps share."""

    x: np.ndarray  # [leads, W] float64; finite, non-flat leads only
    fs: float
    r: int
    rr: int | None  # RR interval in samples, when known
    params: SpatialParams = DEFAULT_PARAMS
    # The record's beats [n, leads, W'] (same leads, R at r // beats_factor), when given.
    beats: np.ndarray | None = field(default=None, repr=False, compare=False)
    beats_factor: int = 1  # this beat's samples per sample of `beats` (low-rate upsampling)
    rr_regular: bool | None = None  # the record's rhythm is regular (rhythm_regular)
    # Low-passed copies of x by cut-off, shared by the steps (and by replace()d copies).
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def lowpass(self, cutoff_hz: float) -> np.ndarray:
        if cutoff_hz not in self.cache:
            self.cache[cutoff_hz] = _lowpass(self.x, self.fs, cutoff_hz)
        return self.cache[cutoff_hz]

    @property
    def n(self) -> int:
        return int(self.x.shape[1])

    @property
    def qrs_quiet_ms(self) -> float:
        """:attr:`SpatialParams.qrs_quiet_ms`, its default resolved by the usable leads."""
        if self.params.qrs_quiet_ms is not None:
            return self.params.qrs_quiet_ms
        return LEAD_QRS_QUIET_MS if self.x.shape[0] < MIN_COMBINED_LEADS else 0.0

    def ms(self, value_ms: float) -> int:
        return round(value_ms * self.fs / 1000.0)

    def clip(self, i: float) -> int:
        return int(min(max(int(i), 0), self.n))


@lru_cache(maxsize=64)
def _sos(fs: float, low_hz: float | None, high_hz: float | None, order: int = 2) -> np.ndarray:
    """Butterworth second-order sections: low-pass, high-pass or band-pass (cached design)."""
    nyq = fs / 2.0
    if low_hz and high_hz:
        return sps.butter(order, [low_hz / nyq, high_hz / nyq], btype="bandpass", output="sos")
    if high_hz:
        return sps.butter(order, high_hz / nyq, btype="lowpass", output="sos")
    return sps.butter(order, low_hz / nyq, btype="highpass", output="sos")


def _filtfilt(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    return sps.sosfiltfilt(sos, x, axis=-1, padlen=min(x.shape[-1] - 1, 30))


def _lowpass(x: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass (no shift of the boundaries)."""
    return _filtfilt(x, _sos(float(fs), None, min(cutoff_hz, 0.45 * fs)))


def _norm_derivative(xf: np.ndarray, fs: float) -> np.ndarray:
    """Spatial velocity: norm over leads of the time derivative (µV/ms)."""
    d = np.gradient(xf, axis=-1) * (fs / 1000.0)
    return np.sqrt((d**2).sum(axis=0))


def _last_below(v: np.ndarray, thr: float, lo: int, hi: int) -> int | None:
    """Last index in ``[lo, hi)`` where ``v < thr``, or None."""
    idx = np.flatnonzero(v[lo:hi] < thr)
    return lo + int(idx[-1]) if idx.size else None


def _first_below(v: np.ndarray, thr: float, lo: int, hi: int) -> int | None:
    """First index in ``[lo, hi)`` where ``v < thr``, or None."""
    idx = np.flatnonzero(v[lo:hi] < thr)
    return lo + int(idx[0]) if idx.size else None


def _runs_below(v: np.ndarray, thr: float, lo: int, hi: int) -> np.ndarray:
    """``[k, 2]`` start and end (inclusive) of each run of ``v < thr`` in ``[lo, hi)``."""
    below = np.concatenate([[False], v[lo:hi] < thr, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(below))
    return lo + edges.reshape(-1, 2) - np.array([0, 1])


def _quiet_end_before(v: np.ndarray, thr: float, lo: int, hi: int, min_run: int) -> int | None:
    """Last index in ``[lo, hi)`` of a run of ``v < thr`` lasting ``min_run`` samples or
    reaching ``lo`` (a shorter dip is a turn of the wave, not its end), or None."""
    for start, end in _runs_below(v, thr, lo, hi)[::-1]:
        if end - start + 1 >= min_run or start == lo:
            return int(end)
    return None


def _quiet_start_after(v: np.ndarray, thr: float, lo: int, hi: int, min_run: int) -> int | None:
    """First index in ``[lo, hi)`` of a run of ``v < thr`` lasting ``min_run`` samples or
    reaching ``hi`` − 1, or None."""
    for start, end in _runs_below(v, thr, lo, hi):
        if end - start + 1 >= min_run or end == hi - 1:
            return int(start)
    return None


# --------------------------------------------------------------------------------- QRS


def _qrs(beat: _Beat) -> tuple[int, int, int | None]:
    """QRS onset, offset and the onset of a following QRS inside the window (or None)."""
    sv = _norm_derivative(beat.lowpass(QRS_LOWPASS_HZ), beat.fs)
    r = beat.r
    lo, hi = beat.clip(r - beat.ms(80)), beat.clip(r + beat.ms(80) + 1)
    peak_i = lo + int(np.argmax(sv[lo:hi]))
    # Isoelectric level on each side: the quiet part of the PR segment / of the ST-T.
    pre = sv[beat.clip(r - beat.ms(200)) : beat.clip(r - beat.ms(20))]
    post = sv[beat.clip(r + beat.ms(40)) : beat.clip(r + beat.ms(250))]
    base_on = float(np.percentile(pre, 10)) if pre.size else 0.0
    base_off = float(np.percentile(post, 10)) if post.size else 0.0
    if sv[peak_i] < 3.0 * max(base_on, base_off, QRS_MARGIN_UV_PER_MS):
        raise ValueError(
            "no QRS complex near r: the beat has no activity standing above its baseline"
        )
    # Walk outwards from the first and last strong samples near R (the velocity of one
    # lead vanishes at the R apex, so walking from the single largest sample can stop there).
    core = lo + np.flatnonzero(sv[lo:hi] >= 0.3 * sv[peak_i])
    search_lo, search_hi = beat.clip(r - beat.ms(200)), beat.clip(r + beat.ms(250))
    f_on, f_off = beat.params.qrs_on, beat.params.qrs_off
    thr_on = base_on + max(QRS_MARGIN_UV_PER_MS, f_on * (sv[peak_i] - base_on))
    thr_off = base_off + max(QRS_MARGIN_UV_PER_MS, f_off * (sv[peak_i] - base_off))
    quiet = max(beat.ms(beat.qrs_quiet_ms), 1)
    on = _quiet_end_before(sv, thr_on, search_lo, int(core[0]) + 1, quiet)
    off = _quiet_start_after(sv, thr_off, int(core[-1]), search_hi, quiet)
    on = search_lo if on is None else on
    off = search_hi - 1 if off is None else off
    return on, off, _next_qrs(beat, off)


def _next_qrs(beat: _Beat, qrs_off: int) -> int | None:
    """Start of the next beat's QRS when it falls inside the window (fast or irregular rates).

    Looked for in the 10–40 Hz band, where a QRS is strong and a T wave is not: activity
    (averaged over 40 ms) above 15 % of this QRS's for at least 20 ms (a QRS lasts, a spike
    or notch does not), at least 200 ms after this QRS and, when the RR interval is known,
    not before half of it. The next QRS of a median beat in atrial fibrillation is smeared
    over the RR spread, hence the low level.
    """
    if beat.fs < 90:  # no usable 10–40 Hz band
        return None
    hf = _filtfilt(beat.x, _sos(beat.fs, 10.0, min(40.0, 0.45 * beat.fs)))
    e = uniform_filter1d(np.sqrt((hf**2).sum(axis=0)), max(beat.ms(40), 1))
    start = beat.clip(qrs_off + beat.ms(200))
    if beat.rr is not None:
        start = max(start, beat.clip(beat.r + beat.rr // 2))
    run = max(beat.ms(20), 1)
    if beat.n - start < run:
        return None
    main = e[beat.clip(beat.r - beat.ms(80)) : beat.clip(beat.r + beat.ms(80))].max()
    active = (e[start:] > 0.15 * main).astype(np.int64)
    # Runs of `run` active samples in a row: their first sample is the QRS start.
    full = np.flatnonzero(np.convolve(active, np.ones(run, dtype=np.int64), "valid") == run)
    return start + int(full[0]) if full.size else None


# ----------------------------------------------------------------------------------- T


def _area_ends(
    x: np.ndarray, peaks: np.ndarray, signs: np.ndarray, stop: int, w: int, span: int, gap: int
) -> np.ndarray:
    """Zhang's T end per lead: argmax of sign·Σ_{t-w<s≤t}(x[s] − x[t]) over t after each peak."""
    ends = np.full(x.shape[0], -1, dtype=np.int64)
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    for lead, (tp, sign) in enumerate(zip(peaks, signs)):
        cand = np.arange(tp + gap, min(stop, tp + span))
        if cand.size == 0:
            continue
        lo = np.maximum(cand - w, 0)
        area = (csum[lead, cand + 1] - csum[lead, lo + 1]) - (cand - lo) * x[lead, cand]
        ends[lead] = cand[int(np.argmax(sign * area))]
    return ends


def _prominent_extremum(pc: np.ndarray, start: int, peak_stop: int, end_stop: int
                        ) -> tuple[int, float, float] | None:
    """The most prominent extremum (either polarity) of ``pc`` in ``[start, peak_stop)``, its
    prominence measured within ``[start, end_stop)``: (index, +1 for a maximum or −1 for a
    minimum, prominence); None when there is no interior extremum."""
    seg = pc[start:end_stop]
    best = None
    for sign in (1.0, -1.0):
        peaks, props = sps.find_peaks(sign * seg, prominence=0)
        inside = peaks < peak_stop - start
        for i, prom in zip(peaks[inside], props["prominences"][inside]):
            if best is None or prom > best[2]:
                best = (start + int(i), sign, float(prom))
    return best


def _t_peak(pc: np.ndarray, start: int, peak_stop: int, end_stop: int) -> int:
    """The T peak: the most prominent extremum (either polarity) of the T direction's time
    course in ``[start, peak_stop)``, its prominence measured within ``[start, end_stop)``.

    Prominence, not height: with ST depression or a PR level off the baseline the ST segment
    stands far from the PR level but is no wave; the T wave rises out of it. When the curve
    has no interior extremum, the largest magnitude is taken.
    """
    best = _prominent_extremum(pc, start, peak_stop, end_stop)
    if best is None:
        return start + int(np.argmax(np.abs(pc[start:peak_stop])))
    return best[0]


def _t_wave(beat: _Beat, qrs_on: int, qrs_off: int, stop: int | None = None
            ) -> tuple[int | None, int | None]:
    """T peak and global T offset; (None, None) when no T wave can be found."""
    t_peak, t_off, _ = _t_wave_ends(beat, qrs_on, qrs_off, stop)
    return t_peak, t_off


def _t_wave_ends(beat: _Beat, qrs_on: int, qrs_off: int, stop: int | None = None
                 ) -> tuple[int | None, int | None, int | None]:
    """T peak, global T offset and the offset had every lead's T peak been its most
    prominent extremum near the global one rather than its largest excursion from the PR
    level (:data:`T_AMBIGUOUS_MS` compares the two; None where either cannot be found)."""
    x = beat.lowpass(T_LOWPASS_HZ)
    pr_segment = slice(beat.clip(qrs_on - beat.ms(20)), max(beat.clip(qrs_on - beat.ms(4)), 1))
    xb = x - np.median(x[:, pr_segment], axis=1)[:, None]  # relative to the PR level
    start = beat.clip(qrs_off + beat.ms(40))
    # Bazett-like bounds: the T peak and the QT scale with √RR (RR of 1 s when unknown).
    sqrt_rr = np.sqrt(beat.rr / beat.fs) if beat.rr is not None else 1.0
    peak_stop = beat.clip(qrs_on + beat.ms(1000 * T_PEAK_MAX_K * sqrt_rr))
    end_stop = beat.clip(qrs_on + beat.ms(1000 * T_END_MAX_K * sqrt_rr))
    if stop is not None:
        end_stop = min(end_stop, stop)
        peak_stop = min(peak_stop, end_stop)
    if end_stop - start < beat.ms(120) or peak_stop - start < beat.ms(40):
        return None, None, None
    # Dominant direction of the ST-T segment: its time course has one sign per wave.
    u, _, _ = np.linalg.svd(xb[:, start:end_stop], full_matrices=False)
    pc = u[:, 0] @ xb
    t_peak = _t_peak(pc, start, peak_stop, end_stop)
    # Each lead's own T peak near the global one, its amplitude and polarity.
    a, b = max(start, t_peak - beat.ms(80)), min(peak_stop, t_peak + beat.ms(80) + 1)
    seg = xb[:, a:b]
    rel = np.argmax(np.abs(seg), axis=1)
    vals = seg[np.arange(seg.shape[0]), rel]
    # The alternative (log item 23): each lead's most prominent extremum, its prominence the
    # height; a lead without one keeps its largest excursion.
    alt_peaks, alt_signs, alt_amp = a + rel, np.sign(vals), np.abs(vals)
    for i in range(x.shape[0]):
        if (own := _prominent_extremum(xb[i], a, b, end_stop)) is not None:
            alt_peaks[i], alt_signs[i], alt_amp[i] = own
    return (t_peak, _t_end(beat, x, a + rel, np.sign(vals), np.abs(vals), end_stop),
            _t_end(beat, x, alt_peaks, alt_signs, alt_amp, end_stop))


def _t_end(beat: _Beat, x: np.ndarray, peaks: np.ndarray, signs: np.ndarray, amp: np.ndarray,
           end_stop: int) -> int | None:
    """The global T offset from each lead's T peak (sample), polarity and height (µV): the
    90th percentile of the area ends of the leads at least :data:`T_LEAD_FRACTION` as high
    as the highest; None when no lead has a T wave to speak of."""
    if amp.max() < 10.0:  # µV: no T wave to speak of
        return None
    strong = np.flatnonzero(amp >= T_LEAD_FRACTION * amp.max())
    ends = _area_ends(
        x[strong], peaks[strong], signs[strong], end_stop,
        w=max(beat.ms(T_AREA_WINDOW_MS), 2), span=beat.ms(beat.params.t_span_ms),
        gap=max(beat.ms(20), 1),
    )
    ends = ends[ends >= 0]
    if ends.size == 0:
        return None
    return round(float(np.percentile(ends, T_END_PERCENTILE)))


# ----------------------------------------------------------------------------------- P


def _p_wave(beat: _Beat, qrs_on: int, prev_t_off: int | None) -> tuple[int | None, int | None]:
    """P onset and offset in the segment before the QRS; (None, None) when no P wave."""
    lo = beat.clip(qrs_on - beat.ms(400))
    if prev_t_off is not None:
        lo = max(lo, beat.clip(prev_t_off + beat.ms(beat.params.p_after_t_ms)))
    hi = beat.clip(qrs_on - beat.ms(P_QRS_GAP_MS))
    win = max(beat.ms(100), 3)
    if hi - lo < win + beat.ms(40):
        return None, None
    s = _norm_derivative(beat.lowpass(P_LOWPASS_HZ), beat.fs)[lo:hi]
    # The P wave is where the velocity, averaged over a P-wave length, is largest.
    centre = int(np.argmax(uniform_filter1d(s, win, mode="nearest")))
    floor = float(np.percentile(s, 10))
    a, b = max(0, centre - win // 2), min(s.size, centre + win // 2 + 1)
    peak = a + int(np.argmax(s[a:b]))
    height = s[peak] - floor
    if height <= 0:
        return None, None
    strong = a + np.flatnonzero(s[a:b] >= floor + 0.5 * height)
    bridge = beat.ms(beat.params.p_bridge_ms)
    # Morphological closing fills dips narrower than `bridge`; the outer flanks stay put.
    closed = grey_closing(s, size=bridge, mode="nearest") if bridge > 1 else s

    def edges(fraction: float) -> tuple[int, int]:
        thr = floor + fraction * height
        on = _last_below(closed, thr, 0, int(strong[0]) + 1)
        off = _first_below(closed, thr, int(strong[-1]), s.size)
        return (0 if on is None else on), (s.size - 1 if off is None else off)

    # Isolation: a P wave stands above the activity of the rest of the segment.
    core_on, core_off = edges(0.1)
    margin = beat.ms(10)
    rest = np.concatenate([s[: max(0, core_on - margin)], s[core_off + margin + 1 :]])
    if rest.size < 3 or core_off - core_on < beat.ms(30):
        return None, None
    isolation = s[core_on : core_off + 1].mean() / max(float(np.percentile(rest, 90)), 1e-9)
    on, off = edges(beat.params.p_on)[0], edges(beat.params.p_off)[1]
    p = beat.params
    # The regular rhythm's pair needs leads to combine: in one or two leads a small P's
    # isolation is weak evidence, and the pair let other waves in (log item 35).
    lenient = beat.rr_regular and beat.x.shape[0] >= MIN_COMBINED_LEADS
    min_isolation, min_locked = ((p.p_isolation_regular, p.p_locked_regular) if lenient
                                 else (p.p_isolation, p.p_locked))
    if isolation < min_isolation or off - on > beat.ms(P_MAX_MS):
        return None, None
    if beat.beats is not None and min_locked > 0:
        f = beat.beats_factor
        locking = p_locking(beat.beats, beat.fs / f, (lo + on) // f, (lo + off) // f + 1)
        if locking < min_locked:  # NaN (too few beats): not tested
            return None, None
    return lo + on, lo + off


def p_locking(beats: np.ndarray, fs: float, a: int, b: int) -> float:
    """How firmly the activity in samples ``[a, b)`` is locked to the QRS across beats.

    In each lead, the energy of the beats' median over the window (the lead's mean removed,
    20 Hz low-pass) divided by the mean energy of each beat's difference from it; the
    leads' mean of that ratio. A sinus P wave sits at the same distance before every QRS and
    survives the median (ratio well above 1), while fibrillatory waves are not locked to the
    QRS and average away (ratio near 0). Flutter waves are locked too; the isolation test
    rejects them. Averaging the leads' ratios weighs each lead by its own noise: a lead
    drowned in artefact adds about nothing instead of swamping the others, as it did when
    the leads' energies were summed (log item 18). NaN-free beats ``[n, leads, W]`` with R
    at the same sample as the median; ``nan`` with fewer than three.
    """
    x = np.asarray(beats, dtype=np.float64)
    pad = round(0.05 * fs)  # filter a little wider than the window, then cut
    lo, hi = max(0, a - pad), min(x.shape[-1], b + pad)
    if x.shape[0] < 3 or b - a < 3 or hi - lo < 6:
        return float("nan")
    seg = _lowpass(x[:, :, lo:hi], fs, P_LOWPASS_HZ)[:, :, a - lo : b - lo]
    seg = seg - seg.mean(axis=2, keepdims=True)
    med = np.median(seg, axis=0)
    resid = ((seg - med) ** 2).sum(axis=2).mean(axis=0)  # per lead
    return float(np.mean((med**2).sum(axis=1) / np.maximum(resid, 1e-12)))


# ------------------------------------------------------------------------------ driver


def _validate(median: np.ndarray, fs: float, r: int, rr_ms: float | None,
              params: SpatialParams = DEFAULT_PARAMS, beats: np.ndarray | None = None,
              rr_regular: bool | None = None) -> _Beat:
    x = np.asarray(median, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"median beat must be [leads, samples], got shape {x.shape}")
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"sampling rate must be a positive number, got {fs}")
    if beats is not None:
        beats = np.asarray(beats, dtype=np.float64)
        if beats.ndim == 2:
            beats = beats[:, None, :]
        if beats.ndim != 3 or beats.shape[1:] != x.shape:
            raise ValueError(f"beats must be [n, leads, samples] like the median beat "
                             f"{list(x.shape)}, got shape {list(beats.shape)}")
    keep = np.isfinite(x).all(axis=1)
    keep[keep] = np.ptp(x[keep], axis=1) > 1.0  # a lead spanning ≤ 1 µV is flat
    x = x[keep]
    if beats is not None:
        beats = beats[:, keep]
        beats = beats[np.isfinite(beats).all(axis=(1, 2))]  # a beat with a gap says nothing
    if x.shape[0] == 0:
        raise ValueError("no usable lead: every lead of the median beat is flat or has NaN")
    r, n = int(r), x.shape[1]
    need_before, need_after = round(0.25 * fs), round(0.35 * fs)
    if not (need_before <= r <= n - need_after):
        raise ValueError(
            f"window too short: R at sample {r} of {n}; delineation needs at least 250 ms "
            f"before R ({need_before} samples) and 350 ms after ({need_after}) at {fs:g} Hz"
        )
    rr = None
    if rr_ms is not None:
        if not (np.isfinite(rr_ms) and 200.0 <= rr_ms <= 3000.0):
            raise ValueError(f"rr_ms must be a plausible RR interval (200–3000 ms), got {rr_ms}")
        rr = round(rr_ms * fs / 1000.0)
    return _Beat(x=x, fs=float(fs), r=r, rr=rr, params=params, beats=beats,
                 rr_regular=rr_regular)


def _next_p(beat: _Beat, p_on: int, p_off: int, start: int) -> int | None:
    """Onset of the next beat's P wave after ``start``, found by its likeness to this P wave.

    The next P wave has this beat's P morphology in every lead, so the multi-lead P template
    is slid over the rest of the window; a match needs a correlation of at least 0.8 and an
    amplitude within a factor of two (a T wave rarely matches a P wave in all leads at once;
    with fewer than ``MIN_COMBINED_LEADS`` leads it is not called).
    """
    x = beat.lowpass(P_LOWPASS_HZ)
    tmpl = x[:, p_on : p_off + 1]
    tmpl = tmpl - tmpl.mean(axis=1, keepdims=True)
    m = tmpl.shape[1]
    norm_t = np.sqrt((tmpl**2).sum())
    if start + m > beat.n or norm_t == 0:
        return None
    win = np.lib.stride_tricks.sliding_window_view(x[:, start:], m, axis=1)  # [L, K, m]
    win = win - win.mean(axis=2, keepdims=True)
    norm_w = np.sqrt((win**2).sum(axis=(0, 2)))
    corr = np.einsum("lkm,lm->k", win, tmpl) / np.maximum(norm_w * norm_t, 1e-12)
    ratio = norm_w / norm_t
    ok = np.flatnonzero((corr >= 0.8) & (ratio > 0.5) & (ratio < 2.0))
    return start + int(ok[np.argmax(corr[ok])]) if ok.size else None


def _delineate_spatial(beat: _Beat) -> Fiducials:
    qrs_on, qrs_off, next_qrs = _qrs(beat)
    stop = None if next_qrs is None else next_qrs - beat.ms(20)
    if beat.rr is None and next_qrs is not None:  # the next QRS in the window gives the RR
        beat = replace(beat, rr=next_qrs - qrs_on)
    t_peak, t_off, t_alt = _t_wave_ends(beat, qrs_on, qrs_off, stop=stop)
    prev_t_off = t_off - beat.rr if (t_off is not None and beat.rr is not None) else None
    p_on, p_off = _p_wave(beat, qrs_on, prev_t_off)
    if p_on is not None:
        # The T search must end before the next beat's P wave: where the RR interval puts
        # it, or where this beat's P morphology appears again (which also gives the RR).
        next_p = (_next_p(beat, p_on, p_off, beat.clip(qrs_off + beat.ms(250)))
                  if beat.x.shape[0] >= MIN_COMBINED_LEADS else None)
        if beat.rr is not None:
            next_p = p_on + beat.rr if next_p is None else min(next_p, p_on + beat.rr)
        elif next_p is not None:
            beat = replace(beat, rr=next_p - p_on)
        # Searched again whenever the next P is known (the RR is known by then): a first T
        # end after the next P must move before it, and the √RR bounds now use the RR.
        if next_p is not None:
            stop = next_p if stop is None else min(stop, next_p)
            t_peak, t_off, t_alt = _t_wave_ends(beat, qrs_on, qrs_off, stop=stop)
    return Fiducials(
        fs=beat.fs, r=beat.r, qrs_on=qrs_on, qrs_off=qrs_off,
        p_on=p_on, p_off=p_off, t_peak=t_peak, t_off=t_off,
        t_ambiguous=(t_off is not None and t_alt is not None
                     and abs(t_alt - t_off) > beat.ms(T_AMBIGUOUS_MS)),
    )


_METHODS = {"spatial": _delineate_spatial}


def ecg_delineate(
    median: np.ndarray, fs: float, r: int, method: str = "spatial", rr_ms: float | None = None,
    params: SpatialParams = DEFAULT_PARAMS, beats: np.ndarray | None = None,
    rr_regular: bool | None = None,
) -> Fiducials:
    """Global fiducial points of a median beat.

    Args:
        median: ``[leads, W]`` median beat in µV (cleaned; NaN or flat leads are ignored).
        fs: sampling rate in Hz (any rate; 100 Hz works with coarser resolution).
        r: sample index of the R peak in ``median``.
        method: delineation algorithm; one of :data:`KNOWN_METHODS`.
        rr_ms: the record's median RR interval; when given it bounds the T-wave search
            (Bazett-like √RR limits) and the P search (after the previous T wave).
        params: the tuned fractions of the ``"spatial"`` method (benchmarks vary them).
        beats: the record's single beats ``[n, leads, W]``, aligned like ``median`` (R at
            ``r``); when given, a P wave must also be time-locked to the QRS across them
            (:func:`p_locking`), which tells a sinus P wave from atrial fibrillation.
        rr_regular: the record's rhythm is regular (:func:`rhythm_regular`): with at least
            :data:`MIN_COMBINED_LEADS` usable leads the P wave is accepted by ``params``'
            ``p_isolation_regular`` / ``p_locked_regular``.

    Returns:
        :class:`Fiducials` with ``p_on``/``p_off`` None when no P wave is found and
        ``t_off`` None when the T end cannot be found.

    Raises:
        ValueError: unknown method, no usable lead, a window too short around ``r``, no
        QRS complex near ``r``, or ``beats`` not shaped like ``median``.
    """
    if method not in _METHODS:
        raise ValueError(
            f"unknown delineation method {method!r}; known methods: {list(KNOWN_METHODS)}"
        )
    beat = _validate(median, fs, r, rr_ms, params, beats, rr_regular)
    factor = int(np.ceil(MIN_INTERNAL_FS / beat.fs))
    if factor <= 1:
        return _METHODS[method](beat)
    # Low rates (PTB-XL's 100 Hz): delineate an exactly interpolated copy, so that slopes and
    # thresholds mean the same at every rate, then map the points back.
    up = sps.resample_poly(beat.x, factor, 1, axis=-1)
    fine = _METHODS[method](_Beat(x=up, fs=beat.fs * factor, r=beat.r * factor,
                                  rr=None if beat.rr is None else beat.rr * factor,
                                  params=params, beats=beat.beats, beats_factor=factor,
                                  rr_regular=rr_regular))

    def back(i: int | None) -> int | None:
        return None if i is None else int(min(max(round(i / factor), 0), beat.n - 1))

    return Fiducials(
        fs=beat.fs, r=beat.r, qrs_on=back(fine.qrs_on), qrs_off=back(fine.qrs_off),
        p_on=back(fine.p_on), p_off=back(fine.p_off),
        t_peak=back(fine.t_peak), t_off=back(fine.t_off), t_ambiguous=fine.t_ambiguous,
    )
