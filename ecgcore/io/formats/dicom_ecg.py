"""DICOM ECG waveforms (12-lead, General ECG and Ambulatory ECG storage) via pydicom.

The first multiplex group whose label is not a median/representative beat is read
(``MultiplexGroupLabel`` RHYTHM, or the first group). Samples are scaled by pydicom
(raw × sensitivity × correction + baseline) in the units of each channel's
``ChannelSensitivityUnitsSequence`` (UCUM ``uV``, ``mV``) and converted to µV. Lead names
are the channel source's code meaning (``"Lead I (Einthoven)"``), or its SCP-ECG code.
Numeric waveform annotations (PR, QRS, QT, QTc, axes) become the device measurements.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgcore.io.formats.raw import (
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    parse_number,
    parse_sex,
    uv_per_unit,
)
from ecgcore.io.record import RecordError

FORMAT = "DICOM ECG waveform"

# SCP-ECG lead codes (CodingSchemeDesignator SCPECG, "5.6.3-9-N") → lead names.
_SCP_LEADS = {
    "1": "I", "2": "II", "3": "V1", "4": "V2", "5": "V3", "6": "V4", "7": "V5", "8": "V6",
    "61": "III", "62": "aVR", "63": "aVL", "64": "aVF",
}
# Annotation concept (SCPECG code or meaning, lower-case) → project name.
_MEASUREMENTS = {
    "rr interval": "rr_ms", "pr interval": "pr_ms", "qrs duration": "qrs_ms",
    "qt interval": "qt_ms", "qtc interval": "qtc_ms", "p axis": "p_axis_deg",
    "qrs axis": "axis_deg", "t axis": "t_axis_deg", "p duration": "p_ms",
    "ventricular heart rate": "hr_bpm", "heart rate": "hr_bpm",
}
_IDENTIFYING = ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs",
                "PatientAddress", "AccessionNumber", "AdmissionID", "StudyDate",
                "AcquisitionDateTime", "ContentDate", "InstitutionName")


def _channel_label(channel) -> str:
    source = channel.get("ChannelSourceSequence")
    if not source:
        return channel.get("ChannelLabel") or "?"
    item = source[0]
    meaning = str(item.get("CodeMeaning") or "").strip()
    if meaning:
        return meaning
    code = str(item.get("CodeValue") or "")
    return _SCP_LEADS.get(code.rsplit("-", 1)[-1], code) if code.startswith("5.6.3-9") else code or "?"


def _channel_uv(channel, path: Path, label: str) -> float:
    units = channel.get("ChannelSensitivityUnitsSequence")
    unit = str(units[0].get("CodeValue")) if units else "uV"
    scale = uv_per_unit(unit)
    if scale is None:
        raise RecordError(path, f"channel {label}: unsupported sensitivity units {unit!r}")
    return scale


def _measurements(ds) -> DeviceMeasurements | None:
    values: dict[str, float] = {}
    for item in ds.get("WaveformAnnotationSequence") or []:
        concept = item.get("ConceptNameCodeSequence")
        value = parse_number(item.get("NumericValue")) if "NumericValue" in item else None
        if not concept or value is None:
            continue
        name = _MEASUREMENTS.get(str(concept[0].get("CodeMeaning") or "").strip().lower())
        if name and name not in values:
            values[name] = value
    if "hr_bpm" not in values and values.get("rr_ms", 0) > 0:
        values["hr_bpm"] = round(60_000.0 / values["rr_ms"], 1)
    maker = " ".join(str(ds.get(k) or "").strip() for k in ("Manufacturer", "ManufacturerModelName")).strip()
    return DeviceMeasurements(f"DICOM annotation ({maker})" if maker else "DICOM annotation", values) if values else None


def read_dicom_ecg(path: Path, data: bytes) -> RawECG:
    """Read a DICOM ECG waveform file (``data`` are its bytes) as a :class:`RawECG`."""
    import io

    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        groups = ds.WaveformSequence
    except AttributeError as exc:
        raise RecordError(path, "DICOM file holds no WaveformSequence (not an ECG waveform)") from exc
    except Exception as exc:  # pydicom raises many types for damaged files
        raise RecordError(path, f"unreadable DICOM: {type(exc).__name__}: {exc}") from exc
    index = 0
    for i, group in enumerate(groups):
        label = str(group.get("MultiplexGroupLabel") or "").upper()
        if "MEDIAN" not in label and "REPRESENTATIVE" not in label:
            index = i
            break
    group = groups[index]
    try:
        samples = np.asarray(ds.waveform_array(index), dtype=np.float64)  # [samples, channels]
        fs = float(group.SamplingFrequency)
        channels = list(group.ChannelDefinitionSequence)
    except Exception as exc:
        raise RecordError(path, f"unreadable DICOM waveform: {type(exc).__name__}: {exc}") from exc
    if samples.ndim != 2 or samples.shape[1] != len(channels):
        raise RecordError(path, f"waveform shape {samples.shape} does not match {len(channels)} channels")
    labels, rows, errors = [], [], {}
    for index, channel in enumerate(channels):
        label = _channel_label(channel)
        try:
            rows.append(samples[:, index] * _channel_uv(channel, path, label))
            labels.append(label)
        except RecordError as exc:  # one bad channel never costs the record
            errors[label] = exc.problem
    if not rows:
        raise RecordError(path, f"no usable channel: {'; '.join(errors.values())}")
    signal = np.stack(rows).astype(np.float32)

    age = str(ds.get("PatientAge") or "")
    metadata = {
        "age": parse_number(age[:-1]) if age.endswith("Y") else None,
        "sex": parse_sex(str(ds.get("PatientSex") or "")),
        "device": " ".join(str(ds.get(k) or "").strip()
                           for k in ("Manufacturer", "ManufacturerModelName")).strip() or None,
        "sop_class": str(getattr(ds.get("SOPClassUID"), "name", ds.get("SOPClassUID"))),
        "statements": [str(a.UnformattedTextValue) for a in ds.get("WaveformAnnotationSequence") or []
                       if "UnformattedTextValue" in a],
    }
    if errors:
        metadata["lead_errors"] = errors
    identifiers = {k: str(ds.get(k)) for k in _IDENTIFYING if ds.get(k) not in (None, "")}
    return RawECG(
        signal=signal,
        fs=fs,
        leads=tuple(labels),
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(ds),
        identifiers=PatientIdentifiers(identifiers),
    )
