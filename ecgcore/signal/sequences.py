"""Heartbeat segment sequences for beat-token models (002_7330616470893508.txt)."""

from __future__ import annotations

import numpy as np

from ecgcore.signal.beats import BeatWindow, segment_beats


def beat_sequence(
    x: np.ndarray, rpeaks: np.ndarray, fs: float, window: BeatWindow, max_beats: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Beats in temporal order, padded to ``max_beats``.

    Returns ``beats [max_beats, leads, W]`` (zeros where padded) and ``mask [max_beats]``
    (True for a real beat). Beats whose window leaves the record are not included; a
    record with more beats than ``max_beats`` keeps the first ``max_beats``.
    """
    before, after = window.offsets(fs)
    beats, _ = segment_beats(x, rpeaks, before, after)
    beats = beats[:max_beats]
    out = np.zeros((max_beats, x.shape[0], before + after), dtype=np.float32)
    out[: len(beats)] = beats
    mask = np.zeros(max_beats, dtype=bool)
    mask[: len(beats)] = True
    return out, mask


def beat_sequence_spans(
    x: np.ndarray, rpeaks: np.ndarray, fs: float, window: BeatWindow, max_beats: int = 16
) -> np.ndarray:
    """``[beats, 2]`` (start, stop) samples of ``x`` of the beats :func:`beat_sequence`
    cuts, in its order (stop exclusive): where a beat-token model's beats lie on the record."""
    before, after = window.offsets(fs)
    _, used = segment_beats(x, rpeaks, before, after)
    used = np.asarray(used, dtype=np.int64)[:max_beats]
    return np.stack([used - before, used + after], axis=1).reshape(-1, 2)
