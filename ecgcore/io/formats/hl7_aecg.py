"""HL7 annotated ECG (FDA aECG XML, root ``<AnnotatedECG>``, namespace ``urn:hl7-org:v3``).

The first rhythm ``series`` (not a ``derivedSeries``) holds a ``sequenceSet`` whose
sequences are the time axis (``TIME_ABSOLUTE`` GLIST_TS or ``TIME_RELATIVE`` GLIST_PQ,
whose ``increment`` gives the sampling interval) and one ``SLIST_PQ`` per lead
(``MDC_ECG_LEAD_I`` …): sample = origin + scale × digit, in the units of ``scale``.
Global measurements in ``annotation`` elements (``MDC_ECG_TIME_PD_PR``, ``…_QRS``,
``…_QT``, ``…_QTc``, ``MDC_ECG_HEART_RATE``, ``MDC_ECG_ANGLE_*_FRONT``; PQ values with
units) become the device measurements, the first of each code in document order.
A lead whose sequence is unusable is left out and named in ``metadata["lead_errors"]``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ecgcore.io.formats._xml import parse_xml
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

FORMAT = "HL7 aECG"
_SECONDS_PER = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_MEASUREMENTS = {
    "MDC_ECG_HEART_RATE": "hr_bpm", "MDC_ECG_TIME_PD_RR": "rr_ms", "MDC_ECG_TIME_PD_P": "p_ms",
    "MDC_ECG_TIME_PD_PR": "pr_ms", "MDC_ECG_TIME_PD_QRS": "qrs_ms", "MDC_ECG_TIME_PD_QT": "qt_ms",
    "MDC_ECG_TIME_PD_QTc": "qtc_ms", "MDC_ECG_ANGLE_P_FRONT": "p_axis_deg",
    "MDC_ECG_ANGLE_QRS_FRONT": "axis_deg", "MDC_ECG_ANGLE_T_FRONT": "t_axis_deg",
}


def _measurements(root: ET.Element) -> DeviceMeasurements | None:
    values: dict[str, float] = {}
    for annotation in root.iter("annotation"):
        code_el, value_el = annotation.find("code"), annotation.find("value")
        name = _MEASUREMENTS.get("" if code_el is None else code_el.get("code", ""))
        if name is None or value_el is None or name in values:
            continue
        value = parse_number(value_el.get("value"))
        unit = (value_el.get("unit") or "").strip()
        if value is None:
            continue
        if name.endswith("_ms") and unit in _SECONDS_PER:
            value *= _SECONDS_PER[unit] * 1000.0
        values[name] = value
    return DeviceMeasurements("HL7 aECG annotations", values) if values else None


def _attr_number(element: ET.Element | None, what: str, path: Path) -> tuple[float, str]:
    if element is None:
        raise RecordError(path, f"aECG sequence lacks {what}")
    value = parse_number(element.get("value"))
    if value is None:
        raise RecordError(path, f"aECG {what} has no numeric value")
    return value, element.get("unit") or ""


def _interval_s(value: ET.Element, path: Path) -> float:
    step, unit = _attr_number(value.find("increment"), "increment", path)
    per = _SECONDS_PER.get(unit.strip().lower() or "s")
    if per is None or step <= 0:
        raise RecordError(path, f"aECG time increment {step!r} {unit!r} is not usable")
    return step * per


def _lead(code: str, value: ET.Element, path: Path) -> np.ndarray:
    origin, origin_unit = _attr_number(value.find("origin"), f"{code} origin", path)
    scale, scale_unit = _attr_number(value.find("scale"), f"{code} scale", path)
    to_uv, origin_uv = uv_per_unit(scale_unit), uv_per_unit(origin_unit or scale_unit)
    if to_uv is None or origin_uv is None:
        raise RecordError(path, f"lead {code}: unsupported units {scale_unit!r}")
    digits = value.find("digits")
    if digits is None or not (digits.text or "").strip():
        raise RecordError(path, f"lead {code} has no digits")
    try:
        samples = np.array(digits.text.split(), dtype=np.float64)
    except ValueError as exc:
        raise RecordError(path, f"lead {code}: digits are not numbers ({exc})") from exc
    return (origin * origin_uv + scale * to_uv * samples).astype(np.float32)


def read_hl7_aecg(path: Path, data: bytes) -> RawECG:
    """Read an HL7 aECG file (``data`` are its bytes) as a :class:`RawECG`."""
    root = parse_xml(path, data)
    if root.tag != "AnnotatedECG":
        raise RecordError(path, f"not an HL7 aECG file (root element <{root.tag}>)")
    series = next(iter(root.iter("series")), None)
    if series is None:
        raise RecordError(path, "aECG holds no series")
    # representative beats (derivedSeries) may sit inside the series: skip their sequences
    derived = {id(s) for d in series.iter("derivedSeries") for s in d.iter("sequence")}
    fs = None
    leads: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for sequence in series.iter("sequence"):
        code_el, value = sequence.find("code"), sequence.find("value")
        code = "" if code_el is None else code_el.get("code", "")
        if id(sequence) in derived or value is None or not code:
            continue
        if code.startswith("TIME_"):
            fs = fs or 1.0 / _interval_s(value, path)
        else:
            try:
                leads[code] = _lead(code, value, path)
            except RecordError as exc:  # one bad lead never costs the record
                errors[code] = exc.problem
    if fs is None:
        raise RecordError(path, "aECG series has no time sequence (sampling rate unknown)")
    if not leads:
        found = f": {'; '.join(errors.values())}" if errors else ""
        raise RecordError(path, f"aECG series holds no readable lead sequence{found}")
    drop_odd_lengths(leads, errors)

    person = next(iter(root.iter("subjectDemographicPerson")), None)
    subject = next(iter(root.iter("trialSubject")), None)
    identifiers: dict[str, str | None] = {}
    metadata: dict[str, object] = {"lead_errors": errors} if errors else {}
    if person is not None:
        name = person.find("name")
        identifiers["name"] = " ".join(t.strip() for t in name.itertext() if t.strip()) if name is not None else None
        birth = person.find("birthTime")
        identifiers["birth_date"] = birth.get("value") if birth is not None else None
        gender = person.find("administrativeGenderCode")
        metadata["sex"] = parse_sex(gender.get("code") if gender is not None else None)
    if subject is not None and subject.find("id") is not None:
        identifiers["subject_id"] = subject.find("id").get("extension")
    low = root.find("effectiveTime/low")
    identifiers["acquisition_time"] = low.get("value") if low is not None else None
    model = next(iter(root.iter("manufacturerModelName")), None)
    metadata["device"] = model.text.strip() if model is not None and model.text else None
    names = tuple(leads)
    return RawECG(
        signal=np.stack([leads[n] for n in names]),
        fs=round(fs, 6),
        leads=names,
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(root),
        identifiers=PatientIdentifiers(identifiers),
    )
