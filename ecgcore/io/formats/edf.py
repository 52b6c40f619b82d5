"""EDF, EDF+ and BDF (24-bit BioSemi) recordings via edfio.

ECG channels are chosen by label: a label naming a standard lead (``"V1"``,
``"ECG II"``, ``"EKG aVR"``) or holding ``ECG``/``EKG``; a ``lead_map`` (label → lead
name) chooses and names channels explicitly instead (e.g. ``{"ECG1": "II"}``). Every
chosen channel must share one sampling rate. Samples are edfio's physical values in each
channel's physical dimension (uV, mV, V). EDF+ patient fields (code, name, birth date)
and the start date go to the identifiers.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ecgcore.io.formats.raw import PatientIdentifiers, RawECG, parse_sex, standard_lead, uv_per_unit
from ecgcore.io.record import RecordError

FORMAT = "EDF"
_ECG_LABEL = re.compile(r"\b(?:ECG|EKG)", re.IGNORECASE)


def is_ecg_label(label: str) -> bool:
    """True for a channel label that names an ECG lead or says ECG/EKG."""
    return standard_lead(label) is not None or bool(_ECG_LABEL.search(label))


def read_edf(path: Path, data: bytes, lead_map: Mapping[str, str] | None = None) -> RawECG:
    """Read the ECG channels of an EDF/EDF+ file (``data`` are its bytes) as a RawECG."""
    import edfio

    bdf = data[:8] == b"\xffBIOSEMI"
    try:
        with warnings.catch_warnings():  # edfio warns and truncates: checked below instead
            warnings.simplefilter("ignore")
            edf = edfio.read_bdf(data) if bdf else edfio.read_edf(data)
        signals = list(edf.signals)
    except Exception as exc:  # edfio raises ValueError and others for damaged headers
        kind = "BDF" if bdf else "EDF"
        raise RecordError(path, f"unreadable {kind}: {type(exc).__name__}: {exc}") from exc
    declared = data[236:244].decode("ascii", "replace").strip()
    if declared.lstrip("-").isdigit() and int(declared) > edf.num_data_records:
        raise RecordError(
            path,
            f"unreadable EDF: truncated, holds {edf.num_data_records} of the {declared} data "
            "records its header declares",
        )
    labels = [s.label.strip() for s in signals]
    if lead_map:
        chosen = [i for i, label in enumerate(labels) if label in lead_map]
        if not chosen:
            raise RecordError(path, f"none of the channels {sorted(lead_map)} is in the file (it has {labels})")
    else:
        chosen = [i for i, label in enumerate(labels) if is_ecg_label(label)]
        if not chosen:
            raise RecordError(
                path, f"no ECG channel among {labels} (name them with a lead map, e.g. --lead-map 'Fp1=I')"
            )
    rates = {float(signals[i].sampling_frequency) for i in chosen}
    if len(rates) > 1:
        raise RecordError(path, f"ECG channels differ in sampling rate: {sorted(rates)} Hz")
    rows, kept, errors = [], [], {}
    for i in chosen:  # one bad channel never costs the record
        unit = signals[i].physical_dimension.strip()
        scale = uv_per_unit(unit)
        if scale is None:
            errors[labels[i]] = f"channel {labels[i]}: unsupported physical dimension {unit!r}"
            continue
        try:
            rows.append(np.asarray(signals[i].data, dtype=np.float64) * scale)
            kept.append(i)
        except Exception as exc:  # noqa: BLE001 - edfio raises several types on bad data
            errors[labels[i]] = f"channel {labels[i]}: unreadable data ({exc})"
    if not rows:
        raise RecordError(path, f"no usable ECG channel: {'; '.join(errors.values())}")
    lengths = {r.size for r in rows}
    if len(lengths) > 1:
        raise RecordError(path, f"ECG channels differ in length: {sorted(lengths)} samples")

    identifiers: dict[str, object] = {"local_patient": edf.local_patient_identification,
                                      "local_recording": edf.local_recording_identification}
    metadata: dict[str, object] = {"extra_channels": [labels[i] for i in range(len(labels)) if i not in chosen]}
    # EDF+ subfields of the patient field; plain EDF gives "X" or raises ValueError
    fields = {"code": lambda: edf.patient.code, "name": lambda: edf.patient.name,
              "birth_date": lambda: edf.patient.birthdate, "start_date": lambda: edf.startdate}
    for key, read in fields.items():
        with contextlib.suppress(ValueError):  # anonymised ("X") or not EDF+ subfields
            identifiers[key] = read()
    with contextlib.suppress(ValueError):
        metadata["sex"] = parse_sex(edf.patient.sex)
    if errors:
        metadata["lead_errors"] = errors
    identifiers = {k: v for k, v in identifiers.items() if v not in (None, "", "X")}
    return RawECG(
        signal=np.stack(rows).astype(np.float32),
        fs=rates.pop(),
        leads=tuple(labels[i] for i in kept),
        format="BDF" if bdf else "EDF+" if str(edf.reserved).startswith("EDF+") else FORMAT,
        source=path,
        metadata=metadata,
        identifiers=PatientIdentifiers(identifiers),
    )
