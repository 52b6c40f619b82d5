"""Readers for ECGs exported by clinical systems, all landing in one :class:`RawECG`.

GE MUSE XML, GE CardioSoft XML, HL7 aECG, Philips Sierra XML (XLI), DICOM ECG waveforms,
SCP-ECG (uncompressed data only), EDF/EDF+, Apple Watch ECGs exported by the Health app
and delimited text. :func:`read_ecg` picks the reader from the file's content (and WFDB
by ``.hea``) and returns a standard 12-lead Record.

Libraries: pydicom (the reference DICOM implementation; it ships a real 12-lead ECG),
edfio rather than pyedflib (pure Python on numpy, no C build, EDF+ patient subfields),
sierraecg (the maintained Python decoder of Philips' XLI compression), defusedxml for
every XML file. SCP-ECG has no maintained Python reader, hence ``scp.py``.
"""

from ecgcore.io.formats.dispatch import (
    ECG_SUFFIXES,
    FORMATS,
    detect_format,
    read_ecg,
    read_raw_ecg,
)
from ecgcore.io.formats.raw import (
    MAX_FILE_BYTES,
    DeviceMeasurements,
    PatientIdentifiers,
    RawECG,
    standard_lead,
    to_record,
)

__all__ = [
    "ECG_SUFFIXES",
    "FORMATS",
    "MAX_FILE_BYTES",
    "DeviceMeasurements",
    "PatientIdentifiers",
    "RawECG",
    "detect_format",
    "read_ecg",
    "read_raw_ecg",
    "standard_lead",
    "to_record",
]
