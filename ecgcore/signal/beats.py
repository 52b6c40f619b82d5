"""Beat segmentation, alignment, the beat quality filter and the median beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class BeatWindow:
    """Where a beat starts and ends around its anchor point.

    ``anchor='r'`` places the window around each R peak; ``anchor='qrs_onset'`` around the
    QRS onset measured on the record's median beat (the offset between R and QRS onset is
    taken from the median beat and applied to every beat).
    """

    before_ms: float
    after_ms: float
    anchor: Literal["r", "qrs_onset"] = "r"

    def n_samples(self, fs: float) -> int:
        return int(round((self.before_ms + self.after_ms) * fs / 1000.0))

    def offsets(self, fs: float) -> tuple[int, int]:
        """Samples before and after the anchor; they add up to ``n_samples(fs)``."""
        before = int(round(self.before_ms * fs / 1000.0))
        return before, self.n_samples(fs) - before


#: ±400 ms around R, as in 001_b5d5f7f7ff326883.txt §2.2 (800 ms beats).
WINDOW_R400 = BeatWindow(before_ms=400.0, after_ms=400.0, anchor="r")
#: 750 ms centred 100 ms after QRS onset, as in 000_373bb2e520864e4e.txt:
#: from QRS onset − 275 ms to QRS onset + 475 ms.
WINDOW_QRS750 = BeatWindow(before_ms=275.0, after_ms=475.0, anchor="qrs_onset")
#: The wide window the delineator sees: long PR and long QT both fit.
WINDOW_ANALYSIS = BeatWindow(before_ms=500.0, after_ms=700.0, anchor="r")

WINDOWS = {"r400": WINDOW_R400, "qrs750": WINDOW_QRS750}


def segment_beats(
    x: np.ndarray, anchors: np.ndarray, before: int, after: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``[beats, leads, before + after]`` windows around anchor samples.

    Beats whose window leaves the record are dropped; the anchors actually used are
    returned with the beats.
    """
    anchors = np.asarray(anchors, dtype=np.int64)
    n = x.shape[-1]
    ok = (anchors - before >= 0) & (anchors + after <= n)
    used = anchors[ok]
    if used.size == 0:
        return np.empty((0, x.shape[0], before + after), dtype=np.float32), used
    idx = used[:, None] + np.arange(-before, after)[None, :]
    beats = np.transpose(x[:, idx], (1, 0, 2))
    return np.ascontiguousarray(beats, dtype=np.float32), used


def align_to_template(
    x: np.ndarray, anchors: np.ndarray, fs: float, max_shift_ms: float = 20.0
) -> np.ndarray:
    """Shift each anchor by the lag that best matches the multi-lead QRS template.

    The template is the median of the initial beats over ±60 ms; each beat's lag within
    ±``max_shift_ms`` maximises its correlation with the template summed over leads.
    This removes detector jitter before averaging.
    """
    half = int(round(0.06 * fs))
    max_shift = int(round(max_shift_ms * fs / 1000.0))
    beats, used = segment_beats(x, anchors, half + max_shift, half + max_shift + 1)
    if used.size < 2:
        return anchors
    centre = beats[:, :, max_shift : max_shift + 2 * half + 1]
    template = np.median(centre, axis=0)
    template = template - template.mean(axis=-1, keepdims=True)
    lags = np.arange(-max_shift, max_shift + 1)
    scores = np.empty((beats.shape[0], lags.size))
    for j, lag in enumerate(lags):
        seg = beats[:, :, max_shift + lag : max_shift + lag + 2 * half + 1]
        seg = seg - seg.mean(axis=-1, keepdims=True)
        scores[:, j] = (seg * template).sum(axis=(1, 2))
    shifted = used + lags[np.argmax(scores, axis=1)]
    rest = np.setdiff1d(anchors, used)
    return np.sort(np.concatenate([shifted, rest]))


@dataclass(frozen=True)
class BeatQuality:
    """Result of the beat quality filter for one record."""

    keep: np.ndarray  # bool per beat
    magnitude_uv: np.ndarray  # mean absolute amplitude per beat
    mean_corr: np.ndarray  # mean correlation of each beat with the others
    max_corr: np.ndarray  # highest correlation of each beat with another beat

    @property
    def n_kept(self) -> int:
        return int(self.keep.sum())

    @property
    def score(self) -> float:
        """Median correlation of the kept beats with the others, 0 when none is kept."""
        return float(np.median(self.mean_corr[self.keep])) if self.keep.any() else 0.0


def beat_quality(
    beats: np.ndarray,
    min_magnitude_uv: float = 20.0,
    max_magnitude_uv: float = 5000.0,
    min_mean_corr: float = 0.7,
    min_max_corr: float = 0.9,
) -> BeatQuality:
    """The magnitude and autocorrelation criteria of 001_b5d5f7f7ff326883.txt §2.2.

    A beat is dropped when its mean absolute amplitude is below ``min_magnitude_uv``
    (flat or disconnected) or above ``max_magnitude_uv`` (saturation, artefact), or when
    *both* its mean and its maximum correlation with the other beats are low: a second
    rhythm (e.g. ectopic beats) lowers the mean but keeps a high maximum, noise lowers both.
    """
    n = beats.shape[0]
    flat = beats.reshape(n, -1).astype(np.float64)
    magnitude = np.abs(flat - flat.mean(axis=1, keepdims=True)).mean(axis=1)
    if n < 2:
        ones = np.ones(n)
        keep = (magnitude >= min_magnitude_uv) & (magnitude <= max_magnitude_uv)
        return BeatQuality(keep, magnitude, ones, ones)
    with np.errstate(invalid="ignore", divide="ignore"):  # a flat beat has no correlation
        corr = np.nan_to_num(np.corrcoef(flat), nan=0.0)
    np.fill_diagonal(corr, np.nan)
    mean_corr = np.nanmean(corr, axis=1)
    max_corr = np.nanmax(corr, axis=1)
    keep = (magnitude >= min_magnitude_uv) & (magnitude <= max_magnitude_uv)
    keep &= ~((mean_corr < min_mean_corr) & (max_corr < min_max_corr))
    return BeatQuality(keep, magnitude, mean_corr, max_corr)


def quality_window(rr_samples: float, fs: float) -> tuple[int, int]:
    """Samples before and after R over which beats are compared for quality.

    The span follows the heart rate, ``[R − min(250 ms, 0.3·RR), R + min(450 ms, 0.6·RR)]``,
    so that the neighbouring QRS complexes, which move with every RR change in atrial
    fibrillation or tachycardia, stay out of the comparison.
    """
    return (int(min(0.25 * fs, 0.3 * rr_samples)), int(min(0.45 * fs, 0.6 * rr_samples)))


def median_beat(beats: np.ndarray) -> np.ndarray:
    """Sample-wise median over beats, per lead: ``[beats, leads, W] -> [leads, W]``."""
    if beats.shape[0] == 0:
        raise ValueError("no beats to take the median of")
    return np.median(beats, axis=0).astype(np.float32)


#: Where the dominant QRS morphology is judged around R (ms): wide enough for a wide QRS.
FAMILY_WINDOW_MS = (80.0, 120.0)
#: Correlation with the family's template that makes a beat one of the family.
FAMILY_MIN_CORR = 0.9
#: Where the record's median beat comes from: every kept beat, or the dominant family.
MEDIAN_SOURCES = ("all", "dominant")
#: The default (docs/DELINEATION.md log item 16).
DEFAULT_MEDIAN_OF = "all"


def check_median_of(median_of: str) -> str:
    """``median_of`` if it is one of :data:`MEDIAN_SOURCES`, else a ValueError naming them."""
    if median_of not in MEDIAN_SOURCES:
        raise ValueError(f"unknown median beat source {median_of!r}; choose from {MEDIAN_SOURCES}")
    return median_of


def dominant_family(beats: np.ndarray, r: int, fs: float, min_beats: int = 3) -> np.ndarray:
    """Which beats ``[beats, leads, W]`` (R at sample ``r``) make the dominant QRS family.

    Commercial programs measure on the representative beat of the dominant QRS morphology,
    not on a sample-wise median of two shapes (ectopic, paced and intrinsic, intermittently
    pre-excited beats), which the quality filter keeps on purpose. Each beat's QRS window
    (:data:`FAMILY_WINDOW_MS`), each lead's mean removed and the leads concatenated, is
    correlated with the others; the seed is the beat with the most others at correlation
    ≥ :data:`FAMILY_MIN_CORR`, the template the median of the seed and those others, the
    family every beat at that correlation with the template. Returns a bool mask: the
    family when it has at least ``min_beats`` beats and at least half of them, else every
    beat (no clear dominant shape: noise, or too few beats). NaN leads are ignored.
    """
    n = beats.shape[0]
    everyone = np.ones(n, dtype=bool)
    if n < max(min_beats, 2):
        return everyone
    lo = max(r - int(round(FAMILY_WINDOW_MS[0] * fs / 1000.0)), 0)
    hi = min(r + int(round(FAMILY_WINDOW_MS[1] * fs / 1000.0)), beats.shape[-1])
    seg = beats[:, :, lo:hi].astype(np.float64)
    seg = seg[:, np.isfinite(seg).all(axis=(0, 2))]
    if seg.shape[1] == 0:
        return everyone
    flat = (seg - seg.mean(axis=-1, keepdims=True)).reshape(n, -1)

    def corr_with(template: np.ndarray) -> np.ndarray:
        a = flat - flat.mean(axis=1, keepdims=True)
        b = template - template.mean()
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b)
        return np.divide(a @ b, den, out=np.zeros(n), where=den > 0)

    with np.errstate(invalid="ignore", divide="ignore"):  # a flat beat has no correlation
        corr = np.nan_to_num(np.corrcoef(flat), nan=0.0)
    close = corr >= FAMILY_MIN_CORR  # the diagonal counts the beat itself
    seed = int(np.argmax(close.sum(axis=1)))
    family = corr_with(np.median(flat[close[seed]], axis=0)) >= FAMILY_MIN_CORR
    if family.sum() < min_beats or 2 * family.sum() < n:
        return everyone
    return family


def of_family(beats: np.ndarray | None, family: np.ndarray | None) -> np.ndarray | None:
    """``beats`` restricted to ``family`` (a bool mask; None: every beat)."""
    return beats if beats is None or family is None else beats[family]


def median_family(beats: np.ndarray, r: int, fs: float, median_of: str,
                  min_beats: int = 3) -> np.ndarray:
    """Which beats the median beat is of, by ``median_of`` (:data:`MEDIAN_SOURCES`): every
    beat, or :func:`dominant_family` (NaN samples read as 0 there)."""
    if check_median_of(median_of) == "all":
        return np.ones(beats.shape[0], dtype=bool)
    return dominant_family(np.nan_to_num(beats), r, fs, min_beats)
