"""Cleaning and resampling of multi-lead ECG signals (``[leads, samples]``, µV)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps


def ecg_clean(
    x: np.ndarray,
    fs: float,
    highpass_hz: float | None = 0.5,
    lowpass_hz: float | None = 100.0,
    powerline_hz: float | None = 50.0,
) -> np.ndarray:
    """Remove baseline wander, powerline interference and high-frequency noise.

    Zero-phase filters (forward-backward) so that wave timing, which the fiducial
    points measure, is not shifted. The low-pass is capped below Nyquist, so a 100 Hz
    record is cleaned with the same call as a 500 Hz one; the notch is applied only when
    the powerline frequency is below Nyquist.
    """
    x = np.asarray(x, dtype=np.float64)
    nyq = fs / 2.0
    if x.shape[-1] < 3 * int(fs):  # too short for stable 0.5 Hz filtering; leave to caller
        raise ValueError(f"signal of {x.shape[-1]} samples is too short to clean at {fs} Hz")
    if highpass_hz:
        sos = sps.butter(2, highpass_hz / nyq, btype="highpass", output="sos")
        x = sps.sosfiltfilt(sos, x, axis=-1)
    if powerline_hz and powerline_hz < 0.95 * nyq:
        b, a = sps.iirnotch(powerline_hz, Q=30.0, fs=fs)
        x = sps.filtfilt(b, a, x, axis=-1)
    if lowpass_hz:
        cutoff = min(lowpass_hz, 0.45 * fs)
        sos = sps.butter(4, cutoff / nyq, btype="lowpass", output="sos")
        x = sps.sosfiltfilt(sos, x, axis=-1)
    return x.astype(np.float32)


def resample(x: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """Resample along the last axis with a polyphase anti-aliasing filter (e.g. 400 → 500 Hz)."""
    if np.isclose(fs, target_fs):
        return np.asarray(x, dtype=np.float32)
    ratio = Fraction(float(target_fs) / float(fs)).limit_denominator(1000)
    y = sps.resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator, axis=-1)
    return y.astype(np.float32)
