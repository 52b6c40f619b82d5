"""One entry point for every ECG file: pick the reader by content, then by suffix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ecgcore.io.formats.raw import MAX_FILE_BYTES, RawECG, check_size, rename_leads, to_record
from ecgcore.io.record import Record, RecordError
from ecgcore.io.wfdb_reader import MIN_DURATION_S, read_wfdb

#: Format names :func:`detect_format` returns.
FORMATS = ("wfdb", "muse", "hl7_aecg", "philips", "dicom", "scp", "edf", "cardiosoft",
           "apple_watch", "csv")
#: Suffixes of files that may hold one ECG (lower-case), for folder scans.
ECG_SUFFIXES = (".xml", ".dcm", ".scp", ".edf", ".bdf", ".csv", ".tsv", ".txt")
_XML_ROOTS = {"RestingECG": "muse", "AnnotatedECG": "hl7_aecg", "restingecgdata": "philips",
              "CardiologyXML": "cardiosoft"}
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")


def _xml_root(head: bytes) -> str | None:
    """Local name of the first element in ``head`` (after the prolog, comments, DOCTYPE)."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):  # some exports are UTF-16: sniff their ASCII transcription
            head = head[2:].decode(codec, "ignore").encode("ascii", "ignore")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return None
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", text, flags=re.DOTALL)
    match = _ROOT.search(text)
    return match.group(2).decode("ascii", "replace") if match else None


def detect_format(path: str | Path, head: bytes | None = None) -> str:
    """The format of ``path`` (one of :data:`FORMATS`) from its first bytes, then its suffix.

    XML by root element (``RestingECG`` → MUSE, ``AnnotatedECG`` → HL7 aECG,
    ``restingecgdata`` → Philips, ``CardiologyXML`` → GE CardioSoft), DICOM by ``DICM`` at
    byte 128, SCP-ECG by ``SCPECG`` in section 0, EDF by its ``0`` version field (BDF by
    ``\xffBIOSEMI``); WFDB by ``.hea``/``.dat`` or a ``.hea`` beside; text with the Health
    app's ``Sample Rate,… hertz`` and ``Recorded Date`` (or ``Classification``) lines as an
    Apple Watch ECG; other text suffixes as CSV. RecordError naming the file when none fits.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".hea", ".dat"} or (not path.exists() and Path(f"{path}.hea").is_file()):
        return "wfdb"
    if head is None:
        check_size(path)
        with path.open("rb") as handle:
            head = handle.read(4096)
    if head[128:132] == b"DICM":
        return "dicom"
    if head[16:22] == b"SCPECG":
        return "scp"
    if head[:8] in (b"0       ", b"\xffBIOSEMI"):
        return "edf"  # EDF/EDF+ or BDF
    root = _xml_root(head)
    if root is not None:
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        raise RecordError(path, f"XML with root element <{root}> is not a known ECG format "
                                "(GE MUSE, HL7 aECG, Philips Sierra, GE CardioSoft)")
    if suffix in _TEXT_SUFFIXES:
        from ecgcore.io.formats.apple_watch import looks_like_apple_watch

        return "apple_watch" if looks_like_apple_watch(head) else "csv"
    if suffix == ".dcm":
        return "dicom"  # without the 128-byte preamble; pydicom says if it is not DICOM
    raise RecordError(path, "unrecognised file format (expected WFDB, GE MUSE XML, HL7 aECG, "
                            "Philips XML, DICOM, SCP-ECG, EDF or CSV)")


def read_raw_ecg(
    path: str | Path,
    *,
    fs: float | None = None,
    units: str | None = None,
    lead_map: Mapping[str, str] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> RawECG:
    """Read any non-WFDB ECG file as a :class:`RawECG` (leads renamed by ``lead_map``).

    ``fs`` and ``units`` are for delimited text without a time column or units;
    ``lead_map`` (file label → lead name) also chooses the channels of an EDF file.
    Files above ``max_bytes`` are refused unread. RecordError names the file and problem.
    """
    path = Path(path)
    check_size(path, max_bytes)
    data = path.read_bytes()
    kind = detect_format(path, data[:4096])
    if kind == "wfdb":
        raise RecordError(path, "a WFDB record: read it with read_ecg or read_wfdb")
    if kind == "muse":
        from ecgcore.io.formats.muse import read_muse as reader
    elif kind == "hl7_aecg":
        from ecgcore.io.formats.hl7_aecg import read_hl7_aecg as reader
    elif kind == "philips":
        from ecgcore.io.formats.philips import read_philips as reader
    elif kind == "cardiosoft":
        from ecgcore.io.formats.cardiosoft import read_cardiosoft as reader
    elif kind == "dicom":
        from ecgcore.io.formats.dicom_ecg import read_dicom_ecg as reader
    elif kind == "scp":
        from ecgcore.io.formats.scp import read_scp as reader
    elif kind == "edf":
        from ecgcore.io.formats.edf import read_edf

        return rename_leads(read_edf(path, data, lead_map), lead_map)
    elif kind == "apple_watch":
        from ecgcore.io.formats.apple_watch import read_apple_watch as reader
    else:
        from ecgcore.io.formats.csv_ecg import read_csv_ecg

        return rename_leads(read_csv_ecg(path, data, fs=fs, units=units), lead_map)
    return rename_leads(reader(path, data), lead_map)


def read_ecg(
    path: str | Path,
    *,
    fs: float | None = None,
    units: str | None = None,
    lead_map: Mapping[str, str] | None = None,
    validate: bool = True,
    min_duration_s: float = MIN_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> Record:
    """Read an ECG file of any supported format as a standard 12-lead :class:`Record`.

    WFDB (``.hea``) goes to :func:`read_wfdb`; everything else through
    :func:`read_raw_ecg` and :func:`to_record`. Patient identifiers never reach the Record.
    """
    path = Path(path)
    if detect_format(path) == "wfdb":
        return read_wfdb(path, min_duration_s=min_duration_s, validate=validate,
                         lead_map=dict(lead_map) if lead_map else None)
    raw = read_raw_ecg(path, fs=fs, units=units, lead_map=lead_map, max_bytes=max_bytes)
    return to_record(raw, validate=validate, min_duration_s=min_duration_s)
