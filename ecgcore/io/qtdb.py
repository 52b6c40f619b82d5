"""The QT Database's two-lead Holter excerpts: the windows around the annotated beats.

Each QTDB record is 15 minutes at 250 Hz with two leads named as their source database
named them (``MLII``, ``V5``, ``CM5``, ``ECG1``, ``mod.V1``, …). Cardiologist 1 marked 30 or
more beats (``.q1c``). The windows measured against those marks run from the first mark
− 2 s to the last mark + 2 s, at least 10 s (widened equally on both sides where the
record allows), at 250 Hz with the original lead names: what ``../shared/data/README.md``
describes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from ecgcore.io.record import RecordError

MARGIN_S = 2.0
MIN_WINDOW_S = 10.0


def annotated_window(base: str | Path, annotator: str = "q1c") -> tuple[int, int]:
    """``(start, stop)`` samples of the window around a record's annotated beats."""
    base = Path(base)
    try:
        header = wfdb.rdheader(str(base))
        marks = wfdb.rdann(str(base), annotator).sample
    except (OSError, ValueError) as exc:
        raise RecordError(f"{base}.{annotator}", f"unreadable annotations: {exc}") from exc
    if marks.size == 0:
        raise RecordError(f"{base}.{annotator}", "no annotated beats")
    fs, n = float(header.fs), int(header.sig_len)
    start = max(0, int(marks.min() - MARGIN_S * fs))
    stop = min(n, int(marks.max() + MARGIN_S * fs) + 1)
    short = int(np.ceil(MIN_WINDOW_S * fs)) - (stop - start)
    if short > 0:
        start = max(0, start - short // 2 - short % 2)
        stop = min(n, start + int(np.ceil(MIN_WINDOW_S * fs)))
        start = max(0, stop - int(np.ceil(MIN_WINDOW_S * fs)))
    return start, stop


def write_annotated_windows(root: str | Path, out: str | Path, annotator: str = "q1c") -> list[Path]:
    """Cut every record of ``root`` that has ``annotator`` marks to its annotated window and
    write it to ``out`` as a WFDB record of the same name (digital samples, gains, units
    and lead names unchanged). Returns the headers written."""
    root, out = Path(root), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ann in sorted(root.glob(f"*.{annotator}")):
        base = ann.with_suffix("")
        start, stop = annotated_window(base, annotator)
        rec = wfdb.rdrecord(str(base), physical=False, sampfrom=start, sampto=stop)
        wfdb.wrsamp(base.name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                    d_signal=rec.d_signal, fmt=["16"] * rec.n_sig, adc_gain=rec.adc_gain,
                    baseline=rec.baseline, write_dir=str(out),
                    comments=[f"QTDB {base.name} samples {start}-{stop} around the {annotator} marks"])
        written.append(out / f"{base.name}.hea")
    return written
