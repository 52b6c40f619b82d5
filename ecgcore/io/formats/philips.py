"""Philips Sierra/PageWriter ECG XML (root ``<restingecgdata>``), XLI-compressed or not.

XLI-compressed samples come from sierraecg, which decodes them and restores III, aVR,
aVL, aVF (stored as residuals from I and II). sierraecg 0.4.0 fails on uncompressed
files (it writes into a read-only buffer), so those are split here; whether their limb
leads are residuals too is decided by Einthoven's law (III = II − I), which only the
right reading satisfies. Amplitudes are scaled by ``signalcharacteristics/resolution``
(µV per count, the schema's default 5). Global measurements (``globalmeasurements``:
heart rate, PR, QRS, QT, QTc, axes) become :class:`DeviceMeasurements` ("Philips").
"""

from __future__ import annotations

import base64
import binascii
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ecgcore.io.formats._xml import numbers, parse_xml, text
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
    values = numbers(block, _MEASUREMENTS)  # Philips writes "Invalid" or "Failed" for gaps
    return DeviceMeasurements(SOURCE, values) if values else None


def _restore_limb_leads(q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """sierraecg's restoration of III, aVR, aVL, aVF from residuals, on int64 counts."""
    out = dict(q)
    one, two = q["I"], q["II"]
    out["III"] = two - one - q["III"]
    out["aVR"] = -q["aVR"] - np.floor_divide(one + two, 2)
    out["aVL"] = np.floor_divide(one - out["III"], 2) - q["aVL"]
    out["aVF"] = np.floor_divide(two + out["III"], 2) - q["aVF"]
    return out


def _uncompressed(root: ET.Element, path: Path) -> tuple[list[str], np.ndarray, float]:
    parsed = next(iter(root.iter("parsedwaveforms")), None)
    characteristics = next(iter(root.iter("signalcharacteristics")), None)
    fs = parse_number(text(characteristics, "samplingrate"))
    duration = parse_number(parsed.get("durationperchannel")) if parsed is not None else None
    labels = (parsed.get("leadlabels") or "").split() if parsed is not None else []
    if not fs or not duration or not labels or parsed is None:
        raise RecordError(path, "Philips ECG lacks samplingrate, durationperchannel or leadlabels")
    n = int(duration * fs / 1000)
    try:
        counts = np.frombuffer(base64.b64decode("".join((parsed.text or "").split())), dtype="<i2")
    except (binascii.Error, ValueError) as exc:
        raise RecordError(path, f"Philips waveform data are not base64 ({exc})") from exc
    if counts.size < n * len(labels):
        raise RecordError(path, f"Philips waveform holds {counts.size} of the "
                                f"{n * len(labels)} samples declared (damaged?)")
    rows = counts[: n * len(labels)].reshape(len(labels), n).astype(np.int64)
    q = dict(zip(labels, rows))
    if {"I", "II", "III", "aVR", "aVL", "aVF"} <= set(q):
        restored = _restore_limb_leads(q)

        def einthoven(leads: dict[str, np.ndarray]) -> float:
            return float(np.median(np.abs(leads["II"] - leads["I"] - leads["III"])))

        if einthoven(restored) < einthoven(q):
            q = restored
    return labels, np.stack([q[label] for label in labels]), fs


def read_philips(path: Path, data: bytes) -> RawECG:
    """Read a Philips Sierra ECG XML file (``data`` are its bytes) as a :class:`RawECG`."""
    import sierraecg

    root = parse_xml(path, data)  # the safe parser first: sierraecg also uses defusedxml
    if root.tag != "restingecgdata":
        raise RecordError(path, f"not a Philips Sierra ECG file (root element <{root.tag}>)")
    parsed = next(iter(root.iter("parsedwaveforms")), None)
    method = "" if parsed is None else parsed.get("compressmethod", parsed.get("compression", ""))
    errors: dict[str, str] = {}
    if method.lower() in ("", "uncompressed"):
        labels, counts, fs = _uncompressed(root, path)
        document = text(root, "documentinfo/documenttype"), text(root, "documentinfo/documentversion")
    else:
        try:
            ecg = sierraecg.read_file(io.BytesIO(data))
        except Exception as exc:  # sierraecg raises its own errors, and others on damaged data
            raise RecordError(path, f"unreadable Philips ECG: {type(exc).__name__}: {exc}") from exc
        leads = ecg.leads
        if not leads:
            raise RecordError(path, "Philips ECG holds no leads")
        n = int(leads[0].duration * leads[0].sampling_freq / 1000)
        good = [lead for lead in leads if len(lead.samples) >= n]  # one bad lead never costs the record
        errors = {lead.label: f"lead {lead.label}: {len(lead.samples)} of the {n} samples declared"
                  for lead in leads if len(lead.samples) < n}
        if not good:
            raise RecordError(path, f"every lead holds fewer than the {n} samples declared (damaged?)")
        labels = [lead.label for lead in good]
        counts = np.stack([np.asarray(lead.samples[:n], dtype=np.int64) for lead in good])
        fs = float(leads[0].sampling_freq)
        document = ecg.doc_type, ecg.doc_ver
    characteristics = next(iter(root.iter("signalcharacteristics")), None)
    resolution = parse_number(text(characteristics, "resolution"))
    resolution = 5.0 if resolution is None else resolution
    if resolution <= 0:
        raise RecordError(path, f"invalid resolution {resolution!r} µV per count")
    signal = counts.astype(np.float64) * resolution

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
        "document": " ".join(d for d in document if d),
    }
    if errors:
        metadata["lead_errors"] = errors
    return RawECG(
        signal=signal,
        fs=float(fs),
        leads=tuple(labels),
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(root),
        identifiers=PatientIdentifiers(identifiers),
    )
