"""ECGs as delimited text (CSV, TSV, semicolon- or space-separated), one column per lead.

Semicolon-separated files may use decimal commas. A first row holding any non-number is
a header of lead names; a unit may follow a name in brackets (``"V1 (mV)"``,
``"I [uV]"``). A column named ``time``/``t`` (or Zeit, tijd, temps, tiempo, tempo;
``time_ms`` or ``"time (ms)"`` for milliseconds) gives the sampling rate. Without a time
column the rate is the ``fs`` argument; without units in the header they are the
``units`` argument. Missing either is a clear error: nothing is guessed. A file with no
header must have 12 columns (standard order I, II, III, aVR, aVL, aVF, V1–V6) or 8 (I,
II, V1–V6), or a ``lead_map`` naming its columns "1", "2", ….
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from ecgcore.io.formats.raw import RawECG, decode_text, uv_per_unit
from ecgcore.io.record import RecordError
from ecgcore.leads import INDEPENDENT_LEADS, STANDARD_LEADS

FORMAT = "CSV"
_UNIT = re.compile(r"^(.*?)\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$")
_TIME_NAMES = {"time": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
               "zeit": 1.0, "tijd": 1.0, "temps": 1.0, "tiempo": 1.0, "tempo": 1.0,
               "time_ms": 1e-3, "ms": 1e-3}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _split_name(column: str) -> tuple[str, str | None]:
    match = _UNIT.match(column.strip())
    return (match.group(1).strip(), match.group(2)) if match else (column.strip(), None)


def _time_scale(name: str, unit: str | None) -> float | None:
    """Seconds per unit of a time column, or None when ``name`` is not one."""
    key = name.strip().lower()
    if key not in _TIME_NAMES:
        return None
    if unit is not None:
        return {"s": 1.0, "sec": 1.0, "ms": 1e-3}.get(unit.strip().lower(), None) or 1.0
    return _TIME_NAMES[key]


def read_csv_ecg(
    path: Path, data: bytes, *, fs: float | None = None, units: str | None = None
) -> RawECG:
    """Read a delimited-text ECG (``data`` are its bytes); see the module docstring."""
    content = decode_text(data)
    lines = [line for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) < 2:
        raise RecordError(path, "CSV holds fewer than two rows")
    first = lines[0]
    delimiter = next((d for d in ("\t", ";", ",") if d in first), None)

    def split(line: str) -> list[str]:
        return [t.strip() for t in (next(csv.reader(io.StringIO(line), delimiter=delimiter))
                                    if delimiter else line.split())]

    decimal_comma = delimiter == ";" and any("," in line for line in lines[1:3])

    def number(token: str) -> float:
        return float(token.replace(",", ".") if decimal_comma else token)

    header = split(first)
    has_header = any(not _is_number(token.replace(",", ".") if decimal_comma else token)
                     for token in header if token)
    body = lines[1:] if has_header else lines
    try:
        table = np.array([[number(t) if t else np.nan for t in split(line)] for line in body])
    except ValueError as exc:
        raise RecordError(path, f"CSV holds a non-number below the header ({exc})") from exc
    if table.ndim != 2:
        raise RecordError(path, "CSV rows differ in their number of columns")
    n_cols = table.shape[1]

    if has_header:
        if len(header) != n_cols:
            raise RecordError(path, f"header names {len(header)} columns but rows have {n_cols}")
        names, header_units = zip(*(_split_name(c) for c in header))
    else:
        names = {12: STANDARD_LEADS, 8: INDEPENDENT_LEADS}.get(n_cols, tuple(str(i + 1) for i in range(n_cols)))
        header_units = (None,) * n_cols

    time_col = next((i for i, (n, u) in enumerate(zip(names, header_units))
                     if _time_scale(n, u) is not None), None)
    if time_col is not None:
        seconds = table[:, time_col] * _time_scale(names[time_col], header_units[time_col])
        steps = np.diff(seconds)
        if steps.size == 0 or not np.all(steps > 0):
            raise RecordError(path, f"time column {names[time_col]!r} does not increase")
        file_fs = 1.0 / float(np.median(steps))
        if fs is not None and abs(file_fs - fs) > 0.01 * fs:
            raise RecordError(path, f"time column gives {file_fs:.3f} Hz but fs={fs:g} was given")
        fs = fs or round(file_fs, 6)
    if fs is None:
        raise RecordError(path, "CSV has no time column: give the sampling rate (--fs)")

    leads, rows = [], []
    for i, (name, unit) in enumerate(zip(names, header_units)):
        if i == time_col:
            continue
        unit = unit or units
        if unit is None:
            raise RecordError(path, f"units of column {name!r} unknown: give --units (uV, mV or V)")
        scale = uv_per_unit(unit)
        if scale is None:
            raise RecordError(path, f"column {name!r}: unsupported units {unit!r} (uV, mV or V)")
        leads.append(name)
        rows.append(table[:, i] * scale)
    if not rows:
        raise RecordError(path, "CSV holds no signal columns")
    return RawECG(np.stack(rows), float(fs), tuple(leads), FORMAT, source=path,
                  metadata={"units": units})
