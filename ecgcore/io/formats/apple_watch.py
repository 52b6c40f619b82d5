"""Apple Watch ECGs as the Health app exports them (``electrocardiograms/ecg_*.csv``).

One lead (the watch's "similar to lead I"), about 30 s at 512 Hz, one sample per line in
µV after a header of ``key,value`` lines::

    Name,…                      Date of Birth,"…"           Recorded Date,2026-03-14 …
    Classification,Sinus Rhythm Symptoms,…                  Software Version,1.90
    Device,"Watch6,2"           Sample Rate,512 hertz       Lead,Lead I
    Unit,µV                     (blank lines)               -12.345, 40.1, …

Name, birth date and recording date are patient identifiers (kept apart, never shown);
the watch's classification, symptoms, device and software go to the metadata, an
average heart rate line to the device's measurements. Older exports have no ``Lead`` or
``Unit`` line: the lead is then I and the unit µV, as the format defines them. The
decimal separator follows the phone's locale (``-265,868`` is −265.868 µV): below the
header every line is one sample.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from ecgcore.io.formats.raw import (
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    decode_text,
    uv_per_unit,
)
from ecgcore.io.record import RecordError

FORMAT = "Apple Watch ECG (Health export CSV)"
_RATE = re.compile(r"^\s*sample rate\s*,\s*\"?\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:hertz|hz)\b",
                   re.IGNORECASE | re.MULTILINE)
_KEYS = re.compile(r"^\s*(recorded date|classification|software version)\s*,",
                   re.IGNORECASE | re.MULTILINE)
_SAMPLE = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_IDENTIFYING = {"name": "name", "date of birth": "birth_date",
                "recorded date": "acquisition_date"}
_METADATA = {"classification": "device_classification", "symptoms": "symptoms",
             "software version": "software_version", "device": "device"}


def looks_like_apple_watch(head: bytes) -> bool:
    """Whether a text file's first bytes hold the export's ``Sample Rate,… hertz`` line and
    one of its other keys (a table of leads under a rate line of its own stays CSV)."""
    text = decode_text(head)
    return _RATE.search(text) is not None and _KEYS.search(text) is not None


def read_apple_watch(path: Path, data: bytes) -> RawECG:
    """Read one exported Apple Watch ECG (``data`` are the file's bytes)."""
    content = decode_text(data)
    lines = [line.strip() for line in content.splitlines()]
    first = next((i for i, line in enumerate(lines) if _SAMPLE.match(line)), None)
    if first is None:
        raise RecordError(path, "Apple Watch ECG export holds no samples below its header")
    fields: dict[str, str] = {}
    for line in lines[:first]:
        if not line:
            continue
        row = next(csv.reader(io.StringIO(line)))
        if row:
            fields[row[0].strip().lower()] = ",".join(row[1:]).strip()
    match = _RATE.search("\n".join(lines[:first]))
    if match is None:
        raise RecordError(path, "Apple Watch ECG export has no 'Sample Rate,… hertz' line")
    fs = float(match.group(1).replace(",", "."))

    body = [line for line in lines[first:] if line]
    bad = next((line for line in body if not _SAMPLE.match(line)), None)
    if bad is not None:
        raise RecordError(path, f"Apple Watch ECG export: {bad[:40]!r} below the header is "
                                "not one sample")
    samples = np.array([float(line.replace(",", ".")) for line in body])
    unit = fields.get("unit") or "µV"  # the export's unit when it does not say (older watchOS)
    scale = uv_per_unit(unit)
    if scale is None:
        raise RecordError(path, f"Apple Watch ECG export: unsupported unit {unit!r}")
    lead = fields.get("lead") or "Lead I"
    metadata = {key: fields[name] for name, key in _METADATA.items() if fields.get(name)}
    metadata["units"] = unit
    measurements = None
    rate = re.match(r"\s*([0-9]+(?:[.,][0-9]+)?)", fields.get("average heart rate", ""))
    if rate:
        measurements = DeviceMeasurements(
            "Apple Watch ECG app", {"hr_bpm": float(rate.group(1).replace(",", "."))})
    identifiers = PatientIdentifiers({key: fields.get(name) for name, key in _IDENTIFYING.items()})
    return RawECG((samples * scale)[None, :], fs, (lead,), FORMAT, source=path,
                  metadata=metadata, device_measurements=measurements, identifiers=identifiers)
