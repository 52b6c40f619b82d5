"""GE CardioSoft resting-ECG XML (root ``<CardiologyXML>``), the format UK Biobank's ECGs
are shared in.

``<StripData>`` (in some versions ``<Strip><StripData>``) holds ``<SampleRate>``,
``<Resolution units="uVperLsb">`` and one ``<WaveformData lead="I">`` per lead: integer
samples separated by commas. ``<RestingECGMeasurements>`` holds the device's own
measurements and ``<MedianSamples>``, its representative beat in the same layout. A lead
whose samples are not numbers or are of another length is left out and named in
``metadata["lead_errors"]``; ``<PatientInfo>`` (ID, name, birth date) and the observation
date are identifiers, the age and sex metadata. The full-disclosure recording some exports
add (``<FullDisclosure>``, leads interleaved in blocks) is not read: the 10-s strip is the
resting ECG.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ecgcore.io.formats._xml import numbers, parse_xml, text
from ecgcore.io.formats.raw import (
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    drop_odd_lengths,
    parse_number,
    parse_sex,
    uv_per_unit,
)
from ecgcore.io.record import RecordError

FORMAT = "GE CardioSoft XML"
SOURCE = "GE CardioSoft"

# <RestingECGMeasurements> element → project name (ms, bpm or degrees).
_MEASUREMENTS = {
    "VentricularRate": "hr_bpm",
    "PDuration": "p_ms",
    "PQInterval": "pr_ms",
    "QRSDuration": "qrs_ms",
    "QTInterval": "qt_ms",
    "QTCInterval": "qtc_ms",
    "RRInterval": "rr_ms",
    "PAxis": "p_axis_deg",
    "RAxis": "axis_deg",
    "TAxis": "t_axis_deg",
}


def _strip(block: ET.Element, path: Path, what: str
           ) -> tuple[dict[str, np.ndarray], float, dict[str, str]]:
    """A strip's leads (µV), rate and the leads left out with their reasons."""
    fs = parse_number(text(block, "SampleRate"))
    if fs is None or fs <= 0:
        raise RecordError(path, f"CardioSoft {what} has no valid SampleRate")
    resolution = block.find("Resolution")
    per_lsb = parse_number(text(block, "Resolution"))
    unit = (resolution.get("units") if resolution is not None else None) or "uVperLsb"
    scale = uv_per_unit(unit.lower().replace("perlsb", "").replace("/lsb", ""))
    if per_lsb is None or scale is None:
        raise RecordError(path, f"CardioSoft {what}: resolution {text(block, 'Resolution')!r} "
                                f"{unit!r} is not a voltage per bit")
    leads: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for data in block.findall("WaveformData"):
        name = (data.get("lead") or "").strip()
        if not name:
            continue
        tokens = [t for t in (data.text or "").replace("\n", ",").split(",") if t.strip()]
        if not tokens:
            errors[name] = f"lead {name}: no samples"
            continue
        try:
            leads[name] = np.array([float(t) for t in tokens]) * per_lsb * scale
        except ValueError:
            errors[name] = f"lead {name}: samples are not numbers"
    drop_odd_lengths(leads, errors)
    return leads, float(fs), errors


def _date(block: ET.Element | None) -> str | None:
    """``Year-Month-Day`` of a CardioSoft date element (its children), None when absent."""
    if block is None:
        return None
    parts = [text(block, key) for key in ("Year", "Month", "Day")]
    return "-".join(p for p in parts if p) or (block.text or "").strip() or None


def read_cardiosoft(path: Path, data: bytes) -> RawECG:
    """Read a GE CardioSoft XML export (``data`` are the file's bytes) as a :class:`RawECG`."""
    root = parse_xml(path, data)
    if root.tag != "CardiologyXML":
        raise RecordError(path, f"not a CardioSoft XML file (root element <{root.tag}>)")
    strip = root.find("StripData")
    if strip is None:
        strip = root.find("Strip/StripData")
    if strip is None:
        raise RecordError(path, "CardioSoft XML holds no StripData")
    leads, fs, errors = _strip(strip, path, "StripData")
    if not leads:
        raise RecordError(path, "CardioSoft XML holds no readable lead"
                          + (f" ({'; '.join(errors.values())})" if errors else ""))
    names = tuple(leads)

    patient = root.find("PatientInfo")
    name = patient.find("Name") if patient is not None else None
    identifiers = {
        "patient_id": text(patient, "PID"),
        "last_name": text(name, "FamilyName"),
        "first_name": text(name, "GivenName"),
        "birth_date": _date(patient.find("BirthDateTime") if patient is not None else None),
        "acquisition_date": _date(root.find("ObservationDateTime")),
    }
    metadata = {
        "age": parse_number(text(patient, "Age")),
        "sex": parse_sex(text(patient, "Gender")),
        "observation_type": text(root, "ObservationType"),
    }
    if errors:
        metadata["lead_errors"] = errors
    measured = root.find("RestingECGMeasurements")
    values = numbers(measured, _MEASUREMENTS) if measured is not None else {}
    raw = RawECG(
        signal=np.stack([leads[n] for n in names]),
        fs=fs,
        leads=names,
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=DeviceMeasurements(SOURCE, values) if values else None,
        identifiers=PatientIdentifiers(identifiers),
    )
    median = measured.find("MedianSamples") if measured is not None else None
    if median is not None:
        try:
            beat, beat_fs, _ = _strip(median, path, "MedianSamples")
        except RecordError:
            beat = {}  # a damaged representative beat costs only itself
        if beat:
            raw.median_leads = tuple(beat)
            raw.median = np.stack([beat[n] for n in raw.median_leads])
            raw.median_fs = beat_fs
    return raw
