"""Philips Sierra/PageWriter ECG XML (root ``<restingecgdata>``), XLI-compressed or not.

Samples come from sierraecg (which decodes XLI and restores III, aVR, aVL, aVF, stored
as residuals from I and II); amplitudes are scaled by ``signalcharacteristics/resolution``
(µV per count, the schema's default 5). Global measurements (``globalmeasurements``:
heart rate, PR, QRS, QT, QTc, axes) become :class:`DeviceMeasurements` ("Philips").
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ecgcore.io.formats._xml import parse_xml, text
from ecgcore.io.formats.raw import (
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    parse_number,
    parse_sex,
)
from ecgcore.io.record import RecordError

FORMAT = "Philips Sierra XML"
SOURCE = "Philips"

_MEASUREMENTS = {
    "heartrate": "hr_bpm", "rrint": "rr_ms", "pdur": "p_ms", "print": "pr_ms",
    "qrsdur": "qrs_ms", "qtint": "qt_ms", "qtcb": "qtc_ms", "qtcf": "qtcf_ms",
    "pfrontaxis": "p_axis_deg", "qrsfrontaxis": "axis_deg", "tfrontaxis": "t_axis_deg",
}


def _measurements(root: ET.Element) -> DeviceMeasurements | None:
    block = next(iter(root.iter("globalmeasurements")), None)
    if block is None:
        return None
    values = {}
    for tag, name in _MEASUREMENTS.items():
        value = parse_number(text(block, tag))
        # Philips writes "Invalid" or "Failed" for what it could not measure
        if value is not None:
            values[name] = value
    return DeviceMeasurements(SOURCE, values) if values else None


def read_philips(path: Path, data: bytes) -> RawECG:
    """Read a Philips Sierra ECG XML file (``data`` are its bytes) as a :class:`RawECG`."""
    import sierraecg

    root = parse_xml(path, data)  # the safe parser first: sierraecg also uses defusedxml
    if root.tag != "restingecgdata":
        raise RecordError(path, f"not a Philips Sierra ECG file (root element <{root.tag}>)")
    try:
        ecg = sierraecg.read_file(io.BytesIO(data))
    except Exception as exc:  # sierraecg raises its own errors, and others on damaged data
        raise RecordError(path, f"unreadable Philips ECG: {type(exc).__name__}: {exc}") from exc
    leads = ecg.leads
    if not leads:
        raise RecordError(path, "Philips ECG holds no leads")
    n = int(leads[0].duration * leads[0].sampling_freq / 1000)
    short = [lead.label for lead in leads if len(lead.samples) < n]
    if short:
        raise RecordError(path, f"leads {short} hold fewer than the {n} samples declared (damaged?)")
    characteristics = next(iter(root.iter("signalcharacteristics")), None)
    resolution = parse_number(text(characteristics, "resolution"))
    resolution = 5.0 if resolution is None else resolution
    if resolution <= 0:
        raise RecordError(path, f"invalid resolution {resolution!r} µV per count")
    signal = np.stack([np.asarray(lead.samples[:n], dtype=np.float32) for lead in leads]) * np.float32(resolution)

    patient = next(iter(root.iter("generalpatientdata")), None)
    identifiers = {
        "patient_id": text(patient, "patientid"),
        "last_name": text(patient, "name/lastname"),
        "first_name": text(patient, "name/firstname"),
        "birth_date": text(patient, "age/dateofbirth"),
    }
    acquisition = root.find("dataacquisition")
    if acquisition is not None:
        identifiers["acquisition_date"] = acquisition.get("date")
        identifiers["acquisition_time"] = acquisition.get("time")
    machine = next(iter(root.iter("machine")), None)
    metadata = {
        "age": parse_number(text(patient, "age/years")),
        "sex": parse_sex(text(patient, "sex")),
        "device": (machine.text or "").strip() or None if machine is not None else None,
        "document": f"{ecg.doc_type} {ecg.doc_ver}",
    }
    return RawECG(
        signal=signal,
        fs=float(leads[0].sampling_freq),
        leads=tuple(lead.label for lead in leads),
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(root),
        identifiers=PatientIdentifiers(identifiers),
    )
