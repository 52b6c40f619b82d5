"""The reader-neutral result of every clinical-format reader, and its path to a Record.

Each reader in ``ecgcore.io.formats`` returns a :class:`RawECG`: the samples in
microvolts with the lead names exactly as the file spells them, the non-identifying
metadata, the device's own measurements labelled by their source, and the patient's
identifiers kept apart in a :class:`PatientIdentifiers` that is never printed, logged,
pickled (so never cached) or serialised to JSON. :func:`to_record` turns a RawECG into
the standard 12-lead :class:`Record` that the rest of the project reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgcore.io.record import Record, RecordError
from ecgcore.io.wfdb_reader import MIN_DURATION_S, layout_channels, validate_record
from ecgcore.leads import normalize_lead_name

#: Largest file any reader opens (a 24-hour 12-lead Holter in EDF is ~1 GB; a resting
#: ECG is under 5 MB). Larger files are refused before they are read.
MAX_FILE_BYTES = 200 * 1024 * 1024

# Microvolts per unit, compared lower-case with µ/μ spelt "u".
_UV_PER_UNIT = {
    "nv": 1e-3, "uv": 1.0, "microvolt": 1.0, "microvolts": 1.0,
    "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3, "v": 1e6, "volt": 1e6, "volts": 1e6,
}


def uv_per_unit(unit: str | None) -> float | None:
    """Microvolts per ``unit`` ("uV", "µV", "mV", "MICROVOLTS", …); None when unknown."""
    if unit is None:
        return None
    key = str(unit).strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    return _UV_PER_UNIT.get(key)


def decode_text(data: bytes) -> str:
    """A text export's bytes as text: UTF-8 (a BOM dropped), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class PatientIdentifiers(Mapping[str, str]):
    """Names, IDs, birth and acquisition dates read from a file: kept apart from metadata.

    Read it only when the user asks to see who the ECG belongs to. ``repr``/``str`` show
    only how many fields are held, pickling raises (so no cache can store it), and it is
    not a ``dict`` (so ``json.dumps`` refuses it).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None):
        cleaned = {str(k): str(v).strip() for k, v in (values or {}).items()}
        self._values = {k: v for k, v in cleaned.items() if v}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<{len(self._values)} patient identifiers, hidden>"

    __str__ = __repr__

    def __reduce__(self):  # pickle, and so every on-disk cache, refuses identifiers
        raise TypeError("patient identifiers are never pickled or cached")

    def __copy__(self) -> PatientIdentifiers:
        return PatientIdentifiers(self._values)

    def __deepcopy__(self, memo: dict) -> PatientIdentifiers:
        return PatientIdentifiers(self._values)

    def reveal(self) -> dict[str, str]:
        """A plain dict of the identifiers, for a user who asked to see them."""
        return dict(self._values)


@dataclass(frozen=True)
class DeviceMeasurements:
    """Measurements a device stored in the file, labelled by their ``source``.

    ``values`` uses the project's names where one exists: ``hr_bpm``, ``p_ms``,
    ``pr_ms``, ``qrs_ms``, ``qt_ms``, ``qtc_ms``, ``axis_deg`` (QRS axis), plus
    ``rr_ms``, ``atrial_rate_bpm``, ``p_axis_deg``, ``t_axis_deg``, ``qtcf_ms``.
    """

    source: str  # e.g. "GE MUSE 12SL", "Philips", "DICOM waveform annotation"
    values: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.values}


@dataclass
class RawECG:
    """One ECG as a clinical-format reader found it.

    ``signal`` is float32 microvolts ``[leads, samples]`` in file order; ``leads`` are the
    names exactly as in the file (``"Lead I (Einthoven)"``, ``"MDC_ECG_LEAD_AVR"``,
    ``"ECG V1"``); ``format`` names the format ("GE MUSE XML"). ``metadata`` holds only
    non-identifying fields (age, sex, device, filters, diagnosis statements, derived
    leads); ``identifiers`` holds names, IDs and dates and is never logged or exported.
    ``median`` is the device's representative beat ``[leads, samples]`` in µV at
    ``median_fs`` when the file stores one (rows in the order of ``median_leads``).
    """

    signal: np.ndarray
    fs: float
    leads: tuple[str, ...]
    format: str
    source: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    device_measurements: DeviceMeasurements | None = None
    identifiers: PatientIdentifiers = field(default_factory=PatientIdentifiers, repr=False)
    median: np.ndarray | None = field(default=None, repr=False)
    median_fs: float | None = None
    median_leads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.signal = np.asarray(self.signal, dtype=np.float32)
        if self.signal.ndim != 2 or self.signal.shape[0] != len(self.leads):
            raise RecordError(
                self.source,
                f"signal shape {self.signal.shape} does not match {len(self.leads)} lead names",
            )
        if not self.fs or not np.isfinite(self.fs) or self.fs <= 0:
            raise RecordError(self.source, f"invalid sampling rate {self.fs!r}")


_PREFIX = re.compile(r"^(?:MDC_ECG_LEAD_|ECG[ _-]?|EKG[ _-]?|LEAD[ _-]?)", re.IGNORECASE)


def standard_lead(label: str) -> str | None:
    """The standard lead a file's label names, or None.

    Beyond :func:`ecgcore.leads.normalize_lead_name`, a parenthesised remark
    (``"Lead I (Einthoven)"``) and the prefixes ``MDC_ECG_LEAD_`` (HL7), ``ECG``/``EKG``
    (EDF) are ignored.
    """
    name = normalize_lead_name(label)
    if name is not None:
        return name
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", str(label)).strip()
    for _ in range(2):  # "ECG Lead II"
        text = _PREFIX.sub("", text).strip()
    return normalize_lead_name(text) if text else None


def rename_leads(raw: RawECG, lead_map: Mapping[str, str] | None) -> RawECG:
    """``raw`` with leads renamed by ``lead_map`` (file label → lead name), in place."""
    if lead_map:
        raw.leads = tuple(lead_map.get(label, label) for label in raw.leads)
    return raw


def to_record(
    raw: RawECG, *, validate: bool = True, min_duration_s: float = MIN_DURATION_S
) -> Record:
    """The :class:`Record` of ``raw``, in the layout ``read_wfdb`` gives (``lead_layout``).

    Labels that name a standard lead (see :func:`standard_lead`) take its row of the 12
    standard leads; absent standard leads are NaN rows in ``missing_leads``; other labels
    are kept as leads of their own (a wearable's ``ECG``), a repeated lead is named in
    ``metadata["extra_leads"]``. ``metadata`` gains ``format``, the file's own name of each
    lead and, when the file holds them, ``device_measurements`` (``{"source": …, …}``).
    Identifiers are not copied. With ``validate`` the record goes through
    :func:`validate_record`.
    """
    mapped = [standard_lead(label) or label.strip() or f"lead{row + 1}"
              for row, label in enumerate(raw.leads)]
    leads, signal, repeated, _ = layout_channels(mapped, list(raw.signal), raw.signal.shape[1])
    extra = [raw.leads[i] for i in repeated]
    metadata = dict(raw.metadata)
    metadata["format"] = raw.format
    metadata["extra_leads"] = extra
    metadata["lead_names"] = dict(zip(mapped, raw.leads))
    if raw.device_measurements is not None:
        metadata["device_measurements"] = raw.device_measurements.as_dict()
    source = raw.source
    record = Record(
        record_id=source.stem if source is not None else "ecg",
        signal=signal,
        fs=float(raw.fs),
        leads=leads,
        metadata=metadata,
        source=source,
        missing_leads=tuple(lead for lead in leads if lead not in mapped),
    )
    return validate_record(record, min_duration_s=min_duration_s) if validate else record


def derive_limb_leads(leads: dict[str, np.ndarray]) -> list[str]:
    """Add III, aVR, aVL, aVF from I and II (Einthoven, Goldberger) where absent.

    ``leads`` maps standard names to µV rows and is extended in place; returns the names
    added. III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2.
    """
    if "I" not in leads or "II" not in leads:
        return []
    one, two = leads["I"].astype(np.float64), leads["II"].astype(np.float64)
    formulas = {"III": two - one, "aVR": -(one + two) / 2, "aVL": one - two / 2, "aVF": two - one / 2}
    added = [name for name in formulas if name not in leads]
    for name in added:
        leads[name] = formulas[name].astype(np.float32)
    return added


def drop_odd_lengths(leads: dict[str, np.ndarray], errors: dict[str, str]) -> None:
    """Leave out (into ``errors``) the leads whose length differs from the most common."""
    sizes = [v.size for v in leads.values()]
    if not sizes:
        return
    n = max(set(sizes), key=sizes.count)
    for name in [name for name, v in leads.items() if v.size != n]:
        errors[name] = f"lead {name}: {leads.pop(name).size} samples, the others {n}"


def check_size(path: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """RecordError for a missing, empty or over-large file."""
    if not path.is_file():
        raise RecordError(path, "file not found")
    size = path.stat().st_size
    if size == 0:
        raise RecordError(path, "empty file")
    if size > max_bytes:
        raise RecordError(
            path, f"file is {size / 2**20:.0f} MiB, above the {max_bytes / 2**20:.0f} MiB limit"
        )


def parse_sex(value: str | None) -> str | None:
    token = (value or "").strip().lower()
    if token in {"m", "male", "man"}:
        return "M"
    if token in {"f", "female", "woman"}:
        return "F"
    return None


def parse_number(text: str | None) -> float | None:
    """A finite float from ``text``, or None (empty, "N/A", garbage)."""
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None
