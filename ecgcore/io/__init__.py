"""Readers for ECGs of any lead count: WFDB records, PTB-XL, folders with label tables, and
the clinical export formats of ``ecgcore.io.formats`` (``read_ecg`` reads any of them).

Everything returns :class:`Record` (float32 µV ``[leads, samples]``, the standard 12-lead
order whenever a record has any 12-lead name)
or raises :class:`RecordError` naming the file and the problem.
"""

from ecgcore.io.folder import FolderScan, Source, open_source, scan_folder, survey_folder
from ecgcore.io.formats import RawECG, detect_format, read_ecg, read_raw_ecg
from ecgcore.io.labels import (
    ID_COLUMNS,
    LabelKind,
    infer_label_kind,
    load_labels,
    prepare_labels,
    record_key,
)
from ecgcore.io.ptbxl import PTBXL, SUPERCLASSES, diagnostic_labels, is_ptbxl_root
from ecgcore.io.record import Record, RecordError
from ecgcore.io.wfdb_reader import (
    FLAT_PTP_UV,
    MAX_ABS_UV,
    MIN_DURATION_S,
    lead_layout,
    lead_problem,
    parse_header_comments,
    read_wfdb,
    validate_record,
)

__all__ = [
    "FLAT_PTP_UV",
    "ID_COLUMNS",
    "MAX_ABS_UV",
    "MIN_DURATION_S",
    "PTBXL",
    "SUPERCLASSES",
    "FolderScan",
    "LabelKind",
    "RawECG",
    "Record",
    "RecordError",
    "Source",
    "detect_format",
    "diagnostic_labels",
    "infer_label_kind",
    "is_ptbxl_root",
    "lead_layout",
    "lead_problem",
    "load_labels",
    "open_source",
    "parse_header_comments",
    "prepare_labels",
    "read_ecg",
    "read_raw_ecg",
    "read_wfdb",
    "record_key",
    "scan_folder",
    "survey_folder",
    "validate_record",
]
