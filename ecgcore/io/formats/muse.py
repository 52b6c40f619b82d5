"""GE MUSE resting-ECG XML (root ``<RestingECG>``).

Each ``<Waveform>`` (``Rhythm`` and ``Median``) holds ``<LeadData>`` elements with base64
little-endian int16 samples (``WaveFormData``), ``LeadAmplitudeUnitsPerBit`` with
``LeadAmplitudeUnits`` and an optional ``LeadDataCRC32`` of the decoded bytes. MUSE
stores 8 leads (I, II, V1–V6); III, aVR, aVL and aVF are derived (Einthoven,
Goldberger) and listed in ``metadata["derived_leads"]``. A lead whose data are damaged
(CRC, base64, length) is left out and named in ``metadata["lead_errors"]``. The 12SL measurements in
``<RestingECGMeasurements>`` become :class:`DeviceMeasurements` ("GE MUSE 12SL").
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np

from ecgcore.io.formats._xml import numbers, parse_xml, text
from ecgcore.io.formats.raw import (
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    derive_limb_leads,
    drop_odd_lengths,
    parse_number,
    parse_sex,
    standard_lead,
    uv_per_unit,
)
from ecgcore.io.record import RecordError

FORMAT = "GE MUSE XML"
SOURCE = "GE MUSE 12SL"

# <RestingECGMeasurements> element → project name (all ms, bpm or degrees).
_MEASUREMENTS = {
    "VentricularRate": "hr_bpm",
    "AtrialRate": "atrial_rate_bpm",
    "PRInterval": "pr_ms",
    "QRSDuration": "qrs_ms",
    "QTInterval": "qt_ms",
    "QTCorrected": "qtc_ms",
    "QTcFrederica": "qtcf_ms",
    "PAxis": "p_axis_deg",
    "RAxis": "axis_deg",
    "TAxis": "t_axis_deg",
}
_SIGNATURE = re.compile(r"^\s*(confirmed|unconfirmed|referred|overread|edited)\b.*\bby\b", re.IGNORECASE)
_IDENTIFYING = {
    "PatientID": "patient_id",
    "PatientLastName": "last_name",
    "PatientFirstName": "first_name",
    "DateofBirth": "birth_date",
}


def _sample_rate(waveform: ET.Element, path: Path) -> float:
    base = parse_number(text(waveform, "SampleBase"))
    exponent = parse_number(text(waveform, "SampleExponent")) or 0.0
    if not base or base <= 0:
        raise RecordError(path, f"{text(waveform, 'WaveformType')} waveform has no valid SampleBase")
    return base * 10.0**exponent


def _lead_samples(lead: ET.Element, path: Path, kind: str) -> tuple[str, np.ndarray]:
    name = text(lead, "LeadID") or "?"
    where = f"{kind} lead {name}"
    encoded = text(lead, "WaveFormData")
    if encoded is None:
        raise RecordError(path, f"{where} has no WaveFormData")
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordError(path, f"{where}: WaveFormData is not valid base64 ({exc})") from exc
    crc = parse_number(text(lead, "LeadDataCRC32"))
    if crc is not None and zlib.crc32(data) != int(crc):
        raise RecordError(path, f"{where}: data fail their CRC32 check (damaged file)")
    size = int(parse_number(text(lead, "LeadSampleSize")) or 2)
    if size != 2 or len(data) % 2:
        raise RecordError(path, f"{where}: expected 2-byte samples, got size {size} and {len(data)} bytes")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32)
    count = parse_number(text(lead, "LeadSampleCountTotal"))
    if count is not None and int(count) != samples.size:
        raise RecordError(
            path, f"{where}: holds {samples.size} samples but declares {int(count)} (truncated?)"
        )
    per_bit = parse_number(text(lead, "LeadAmplitudeUnitsPerBit"))
    units = text(lead, "LeadAmplitudeUnits") or "MICROVOLTS"
    scale = uv_per_unit(units)
    if per_bit is None or per_bit <= 0 or scale is None:
        raise RecordError(
            path, f"{where}: unusable amplitude scale {per_bit!r} {units!r} per bit"
        )
    return name, samples * np.float32(per_bit * scale)


def _waveform(
    root: ET.Element, kind: str, path: Path
) -> tuple[dict[str, np.ndarray], float, list[str], dict[str, str]] | None:
    """Standard-named leads (µV) of the ``kind`` waveform with derived leads, and the
    problems of the leads left out (one bad lead never costs the record); None if absent."""
    for waveform in root.findall("Waveform"):
        if (text(waveform, "WaveformType") or "").lower() != kind.lower():
            continue
        fs = _sample_rate(waveform, path)
        leads: dict[str, np.ndarray] = {}
        errors: dict[str, str] = {}
        for lead in waveform.findall("LeadData"):
            try:
                name, samples = _lead_samples(lead, path, kind)
            except RecordError as exc:
                errors[text(lead, "LeadID") or "?"] = exc.problem
                continue
            leads[standard_lead(name) or name] = samples
        if not leads:
            found = f": {'; '.join(errors.values())}" if errors else ""
            raise RecordError(path, f"{kind} waveform holds no readable lead{found}")
        drop_odd_lengths(leads, errors)
        return leads, fs, derive_limb_leads(leads), errors
    return None


def _measurements(root: ET.Element) -> DeviceMeasurements | None:
    block = root.find("RestingECGMeasurements")
    if block is None:
        return None
    values = numbers(block, _MEASUREMENTS)
    onset, offset = parse_number(text(block, "POnset")), parse_number(text(block, "POffset"))
    base = parse_number(text(block, "ECGSampleBase"))
    if onset is not None and offset is not None and base and offset > onset:
        values["p_ms"] = (offset - onset) * 1000.0 / base  # fiducials are sample indices
    if "hr_bpm" in values and values["hr_bpm"] > 0:
        values["rr_ms"] = round(60_000.0 / values["hr_bpm"], 1)
    return DeviceMeasurements(SOURCE, values) if values else None


def _statements(root: ET.Element) -> list[str]:
    """The interpretation's statements, without the signature lines that name people
    and dates ("Confirmed by …", "Referred by …")."""
    diagnosis = root.find("Diagnosis")
    if diagnosis is None:
        return []
    lines = [(e.text or "").strip() for e in diagnosis.iter("StmtText")]
    return [line for line in lines if line and not _SIGNATURE.match(line)]


def read_muse(path: Path, data: bytes) -> RawECG:
    """Read a GE MUSE XML export (``data`` are the file's bytes) as a :class:`RawECG`."""
    root = parse_xml(path, data)
    if root.tag != "RestingECG":
        raise RecordError(path, f"not a MUSE XML file (root element <{root.tag}>)")
    rhythm = _waveform(root, "Rhythm", path)
    if rhythm is None:
        raise RecordError(path, "MUSE XML holds no Rhythm waveform")
    leads, fs, derived, lead_errors = rhythm
    names = tuple(leads)
    signal = np.stack([leads[name] for name in names])

    demographics = root.find("PatientDemographics")
    tests = root.find("TestDemographics")
    identifiers = {key: text(demographics, tag) for tag, key in _IDENTIFYING.items()}
    identifiers["acquisition_date"] = text(tests, "AcquisitionDate")
    identifiers["acquisition_time"] = text(tests, "AcquisitionTime")
    age_units = (text(demographics, "AgeUnits") or "YEARS").upper()
    age = parse_number(text(demographics, "PatientAge"))
    metadata = {
        "age": age if age_units == "YEARS" else None,
        "sex": parse_sex(text(demographics, "Gender")),
        "device": text(tests, "AcquisitionDevice"),
        "software": text(tests, "AcquisitionSoftwareVersion"),
        "derived_leads": derived,
        "statements": _statements(root),
    }
    if lead_errors:
        metadata["lead_errors"] = lead_errors
    median = _waveform(root, "Median", path)
    raw = RawECG(
        signal=signal,
        fs=fs,
        leads=names,
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(root),
        identifiers=PatientIdentifiers(identifiers),
    )
    if median is not None:  # median leads with problems are simply absent
        raw.median_leads = tuple(median[0])
        raw.median = np.stack([median[0][n] for n in raw.median_leads])
        raw.median_fs = median[1]
    return raw
