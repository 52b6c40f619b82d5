"""Pacemaker spikes: found on the raw signal, reported per record (``paced``) and per beat.

A pacing artefact is a pulse far narrower (0.1–2 ms) than anything the heart makes, so on
the raw signal it is a **jump** of one sample out of a flat stretch, in many leads at the
**same sample**, recurring **time-locked** before the complexes it drives. The detector
uses these three properties, each relative to the record itself:

1. *Jump*: per lead, the one-sample step ``|x[t] − x[t−1]|`` minus the largest step of the
   three samples before it (a spike leaves a flat baseline; a QRS upstroke accelerates
   over several samples), divided by the lead's own QRS slope (median over beats of the
   largest step within ±60 ms of R on the 40 Hz low-passed signal). A jump above
   :data:`JUMP_Z` is faster than the lead's QRS.
2. *Coincidence*: a candidate is a sample where at least :data:`MIN_LEAD_FRACTION` of the
   leads jump (at least one lead for a record of up to four leads); candidates within
   :data:`MERGE_MS` are one spike.
3. *Locking*: a spike that falls inside a QRS (less than :data:`REFRACTORY_MS` after the
   previous R peak) or on its upstroke (less than :data:`MIN_LAG_MS` before the next R) is
   not pacing (recorders' held samples on steep QRS upstrokes jump too). The rest are
   grouped by their lag to the next R peak: a group within ±:data:`LOCK_TOL_MS` of one
   lag, one spike per beat, in at least :data:`MIN_SPIKES` beats and
   :data:`MIN_BEAT_FRACTION` of them, whose spikes are alike across leads
   (:data:`MIN_SPIKE_SIMILARITY`, see :func:`_spike_similarity`), is pacing. Lag up to
   :data:`VENTRICULAR_MAX_LAG_MS` means ventricular pacing (the spike starts the QRS),
   longer atrial (the spike starts the P wave); both groups can be present
   (dual-chamber pacing).

The rules and numbers were set on LUDB dev (docs/DELINEATION.md, "Pacing spikes" and the
honest log, which also says what was changed after PTB-XL was seen).

Below :data:`MIN_FS` Hz the anti-aliasing filter of the recorder has spread a spike over
several samples and it cannot be told from a QRS: ``paced`` is then ``None`` (unknown),
not ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import signal as sps

from ecgcore.signal.fiducials import Fiducials

#: Lowest sampling rate (Hz) at which spikes are searched; below it ``paced`` is unknown.
MIN_FS = 400.0
#: A lead jumps when its one-sample step exceeds the steps before it by this many times
#: its own QRS slope.
JUMP_Z = 1.0
#: Leads that must jump at the same sample (fraction of the leads used, rounded up).
MIN_LEAD_FRACTION = 0.25
#: Jumps this close (ms) are one spike (a spike's decay, or the two of a bipolar pulse).
MERGE_MS = 10.0
#: A jump less than this (ms) after an R peak is inside the QRS, not a pacing spike.
REFRACTORY_MS = 150.0
#: Lags (ms) from a spike to the next R peak that are searched: a ventricular spike
#: precedes the QRS onset, and a paced QRS, conducted slowly from cell to cell, reaches
#: its largest deflection well after its onset (a jump just before R is the QRS upstroke).
MIN_LAG_MS = 40.0
MAX_LAG_MS = 450.0
#: Spikes whose lags to the next R peak agree within this (ms) are locked to the beats.
LOCK_TOL_MS = 12.0
#: At least this many locked spikes ...
MIN_SPIKES = 3
#: ... in at least this fraction of the beats make a record paced.
MIN_BEAT_FRACTION = 0.3
#: A locked group is pacing only if its spikes are this alike across leads (median
#: cosine over pairs of their first steps or areas): the same electrode fires each time.
MIN_SPIKE_SIMILARITY = 0.8
#: A spike's area is summed over this many ms from its first jump.
SPIKE_PEAK_MS = 6.0
#: Spike → R peak lags up to this (ms) are ventricular pacing, longer ones atrial.
VENTRICULAR_MAX_LAG_MS = 200.0


@dataclass
class PacingResult:
    """Pacing spikes of one record; sample indices of the signal that was searched."""

    fs: float
    paced: bool | None  # None: unknown (rate too low to see spikes)
    spikes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    chamber: list[str] = field(default_factory=list)  # per spike: "atrial" | "ventricular"
    lag_ms: list[float] = field(default_factory=list)  # per spike: to the next R peak
    n_candidates: int = 0  # jumps found before the locking test
    reason: str = ""

    @property
    def kind(self) -> str | None:
        """"ventricular", "atrial", "atrioventricular" (both), or None when not paced."""
        kinds = set(self.chamber)
        if not self.paced or not kinds:
            return None
        return "atrioventricular" if len(kinds) == 2 else kinds.pop()

    def describe(self) -> str:
        """One line for a reader (the Data view shows it)."""
        if self.paced is None:
            return f"Pacing: unknown ({self.reason})."
        if not self.paced:
            return "Pacing: no pacing spikes found."
        lag = self.ventricular_lag_ms()
        tail = (f"; the QRS is measured from the ventricular spike ({lag:.0f} ms before R)"
                if lag is not None else "")
        return f"Paced ({self.kind}): {self.spikes.size} pacing spikes{tail}."

    def ventricular_spikes(self) -> np.ndarray:
        return np.array([s for s, c in zip(self.spikes, self.chamber) if c == "ventricular"],
                        dtype=int)

    def ventricular_lag_ms(self) -> float | None:
        """Median spike → R peak lag (ms) of the ventricular spikes; None without any."""
        lags = [g for g, c in zip(self.lag_ms, self.chamber) if c == "ventricular"]
        return float(np.median(lags)) if lags else None

    def beat_spikes(self, beat_r: np.ndarray) -> list[dict]:
        """For each beat (R peak sample): its ventricular and atrial spike, or None."""
        out = []
        beat_r = np.asarray(beat_r, dtype=int)
        for r in beat_r:
            entry: dict[str, int | None] = {"atrial": None, "ventricular": None}
            for s, c, g in zip(self.spikes, self.chamber, self.lag_ms):
                if abs((r - s) * 1000.0 / self.fs - g) < 1.0:
                    entry[c] = int(s)
            out.append(entry)
        return out

    def to_dict(self, beat_r: np.ndarray | None = None) -> dict:
        d = {"paced": self.paced, "kind": self.kind, "n_spikes": int(self.spikes.size),
             "spikes": [int(s) for s in self.spikes], "chamber": list(self.chamber),
             "lag_to_r_ms": [round(g, 1) for g in self.lag_ms], "reason": self.reason}
        if beat_r is not None:
            d["paced_beats"] = [b["ventricular"] is not None or b["atrial"] is not None
                                for b in self.beat_spikes(beat_r)]
        return d


def _qrs_slope(x: np.ndarray, fs: float, rpeaks: np.ndarray) -> np.ndarray:
    """Per lead: median over beats of the largest one-sample step within ±60 ms of R on
    the 40 Hz low-passed signal (the spikes filtered out), µV per sample."""
    sos = sps.butter(2, min(40.0, 0.45 * fs) / (fs / 2.0), btype="lowpass", output="sos")
    step = np.abs(np.diff(sps.sosfiltfilt(sos, x, axis=-1), axis=-1))
    w = max(1, round(0.06 * fs))
    per_beat = np.stack([step[:, max(0, r - w): r + w].max(axis=1) for r in rpeaks])
    return np.maximum(np.median(per_beat, axis=0), 1e-6)


def jump_candidates(x: np.ndarray, fs: float, rpeaks: np.ndarray) -> np.ndarray:
    """Samples where at least :data:`MIN_LEAD_FRACTION` of the leads jump (see the module
    docstring), merged within :data:`MERGE_MS` (the first sample of each group)."""
    step = np.abs(np.diff(x, axis=-1))
    before = np.zeros_like(step)
    for j in (1, 2, 3):
        before[:, j:] = np.maximum(before[:, j:], step[:, :-j])
    z = (step - before) / _qrs_slope(x, fs, rpeaks)[:, None]
    need = max(1, int(np.ceil(MIN_LEAD_FRACTION * x.shape[0])))
    hits = np.flatnonzero((z > JUMP_Z).sum(axis=0) >= need) + 1  # the sample after the step
    if hits.size == 0:
        return hits
    gap = MERGE_MS * fs / 1000.0
    first = np.concatenate([[True], np.diff(hits) > gap])
    return hits[first]


def _locked_group(lags: np.ndarray) -> np.ndarray:
    """Indices of the largest group of lags within ±LOCK_TOL_MS of one of them."""
    if lags.size == 0:
        return np.zeros(0, dtype=int)
    ordered = np.sort(lags)
    counts = (np.searchsorted(ordered, ordered + LOCK_TOL_MS, side="right")
              - np.searchsorted(ordered, ordered - LOCK_TOL_MS, side="left"))
    centre = ordered[int(np.argmax(counts))]
    return np.flatnonzero(np.abs(lags - centre) <= LOCK_TOL_MS)


def _spike_areas(x: np.ndarray, fs: float, spikes: np.ndarray) -> np.ndarray:
    """``[leads, spikes]``: each spike's area (sum of its deviations from the sample before
    its first jump, over :data:`SPIKE_PEAK_MS`). A recorder's low-pass filter spreads a
    pulse over samples differently at each sampling phase, but keeps its area."""
    w = max(1, round(SPIKE_PEAK_MS * fs / 1000.0))
    out = np.empty((x.shape[0], spikes.size))
    for j, s in enumerate(spikes):
        out[:, j] = (x[:, s: s + w + 1] - x[:, s - 1: s]).sum(axis=1)
    return out


def _one_per_beat(group: np.ndarray, lags: np.ndarray, beat: np.ndarray) -> np.ndarray:
    """The group with one spike per beat: the one whose lag is nearest the group's median
    (a held or ringing spike can jump twice)."""
    if group.size == 0:
        return group
    centre = np.median(lags[group])
    best: dict[int, int] = {}
    for g in group:
        b = int(beat[g])
        if b not in best or abs(lags[g] - centre) < abs(lags[best[b]] - centre):
            best[b] = int(g)
    return np.array(sorted(best.values()), dtype=int)


def _median_cosine(vec: np.ndarray) -> float:
    vec = vec / np.maximum(np.linalg.norm(vec, axis=0), 1e-9)
    cos = vec.T @ vec
    return float(np.median(cos[np.triu_indices(vec.shape[1], 1)]))


def _spike_similarity(x: np.ndarray, fs: float, spikes: np.ndarray) -> float:
    """How alike the spikes are across leads: the median cosine similarity over pairs of
    spikes of their first steps or of their areas, whichever is higher. One pacing
    electrode gives the same pulse in every lead each time, seen either as a sharp first
    step (a recorder that keeps the spike) or, through a recorder's low-pass filter that
    spreads it differently at each sampling phase, with the same area; noise jumps
    alternate in sign and match in neither."""
    first = x[:, spikes] - x[:, spikes - 1]
    return max(_median_cosine(first), _median_cosine(_spike_areas(x, fs, spikes)))


def detect_pacing(signal: np.ndarray, fs: float, rpeaks: np.ndarray,
                  source_fs: float | None = None) -> PacingResult:
    """Pacing spikes of a raw ``[leads, samples]`` µV signal (not low-passed: the cleaning
    removes the spikes) with the record's R peaks (samples of ``signal``).

    ``source_fs``: the rate the record was recorded at, when ``signal`` was resampled to
    ``fs``; an upsampled low-rate record has no spikes to find. Leads with NaN are left
    out. Raises ValueError on a signal that is not 2-D.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"signal must be [leads, samples], got shape {x.shape}")
    rate = min(fs, source_fs or fs)
    if rate < MIN_FS:
        return PacingResult(fs=fs, paced=None, reason=(
            f"{rate:g} Hz is below {MIN_FS:g} Hz: the recorder's filter spreads a pacing "
            "spike over several samples, so pacing cannot be told from the QRS"))
    x = x[np.isfinite(x).all(axis=1)]
    rpeaks = np.sort(np.asarray(rpeaks, dtype=int))
    if x.shape[0] == 0 or rpeaks.size < MIN_SPIKES:
        return PacingResult(fs=fs, paced=None, reason="no usable lead or too few beats")
    cand = jump_candidates(x, fs, rpeaks)
    ms = 1000.0 / fs
    kept, lags, beat = [], [], []
    for s in cand:
        i = int(np.searchsorted(rpeaks, s))  # rpeaks[i] is the first R at or after s
        if i > 0 and (s - rpeaks[i - 1]) * ms < REFRACTORY_MS:
            continue  # inside (or just after) the previous QRS
        if i < rpeaks.size and MIN_LAG_MS <= (rpeaks[i] - s) * ms <= MAX_LAG_MS:
            kept.append(int(s))
            lags.append((rpeaks[i] - s) * ms)
            beat.append(i)
    kept_a, lags_a, beat_a = np.array(kept, dtype=int), np.array(lags), np.array(beat, dtype=int)
    need = max(MIN_SPIKES, int(np.ceil(MIN_BEAT_FRACTION * rpeaks.size)))
    spikes: list[int] = []
    chamber: list[str] = []
    lag_out: list[float] = []
    for _ in range(4):  # groups, largest first, until a ventricular and an atrial one
        group = _locked_group(lags_a)
        rest = np.setdiff1d(np.arange(lags_a.size), group)
        group = _one_per_beat(group, lags_a, beat_a)
        if group.size < need:
            break
        similar = _spike_similarity(x, fs, kept_a[group]) >= MIN_SPIKE_SIMILARITY
        kind = "ventricular" if np.median(lags_a[group]) <= VENTRICULAR_MAX_LAG_MS else "atrial"
        if similar and kind not in chamber:
            spikes += kept_a[group].tolist()
            chamber += [kind] * group.size
            lag_out += lags_a[group].tolist()
        kept_a, lags_a, beat_a = kept_a[rest], lags_a[rest], beat_a[rest]
    order = np.argsort(spikes)
    paced = bool(spikes)
    reason = (f"{len(spikes)} spikes locked to the beats" if paced else
              f"{cand.size} jumps, none locked to at least {need} beats")
    return PacingResult(fs=fs, paced=paced, spikes=np.array(spikes, dtype=int)[order],
                        chamber=[chamber[i] for i in order], lag_ms=[lag_out[i] for i in order],
                        n_candidates=int(cand.size), reason=reason)


#: Samples from one before a spike to this many ms after it are bridged by
#: :func:`remove_spikes` (the spike and the recorder's decay after it).
SPIKE_BLANK_MS = 12.0


def remove_spikes(signal: np.ndarray, fs: float, spikes: np.ndarray) -> np.ndarray:
    """``signal`` with each spike bridged by a straight line, from the sample before it to
    :data:`SPIKE_BLANK_MS` after it, in every lead: a zero-phase low-pass would otherwise
    spread the spike's energy before its own time, where the QRS onset is searched."""
    x = np.array(signal, dtype=np.float64, copy=True)
    n = x.shape[-1]
    w = max(1, round(SPIKE_BLANK_MS * fs / 1000.0))
    for s in np.asarray(spikes, dtype=int):
        a, b = max(0, s - 1), min(n - 1, s + w)
        if b - a < 2:
            continue
        t = np.linspace(0.0, 1.0, b - a + 1)[1:-1]
        x[:, a + 1: b] = x[:, a: a + 1] + (x[:, b: b + 1] - x[:, a: a + 1]) * t
    return x


def qrs_onset_at_spike(fid: Fiducials, spike: int | None) -> Fiducials:
    """``fid`` with its QRS onset moved to ``spike`` (same coordinates) when the onset lies
    before it: a paced QRS is measured from its spike, not from the P wave or the spike's
    filtered residue before it. Unchanged without a spike or when the spike is not before
    the QRS offset."""
    if spike is None or fid.qrs_on >= spike or spike >= fid.qrs_off:
        return fid
    return replace(fid, qrs_on=int(spike))


def qrs_from_spike(fid: Fiducials, pacing: PacingResult | None) -> Fiducials:
    """:func:`qrs_onset_at_spike` for a median beat (R at ``fid.r``), its spike placed the
    median ventricular lag before R. Unchanged when the record has no ventricular spikes."""
    lag = None if pacing is None or not pacing.paced else pacing.ventricular_lag_ms()
    if lag is None:
        return fid
    return qrs_onset_at_spike(fid, fid.r - round(lag * fid.fs / 1000.0))
