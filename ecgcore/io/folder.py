"""Folders of WFDB records as a lazy, iterable data source with labels joined.

``open_source(path, labels=None)`` accepts a PTB-XL root (detected by
``ptbxl_database.csv``), any folder of WFDB records and clinical exports (searched
recursively; see :func:`survey_folder`) or a single record file. Listing reads no signals: a folder is listed from file names and the first
line of each header (to skip multi-segment records), PTB-XL from its database table.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ecgcore.io.formats.dispatch import ECG_SUFFIXES, detect_format, read_ecg
from ecgcore.io.labels import LabelKind, load_labels, prepare_labels, record_key
from ecgcore.io.ptbxl import PTBXL, is_ptbxl_root
from ecgcore.io.record import Record, RecordError
from ecgcore.io.wfdb_reader import MIN_DURATION_S, is_multisegment_header, read_wfdb


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.as_posix())]


@dataclass
class FolderScan:
    """Headers found under ``root``: usable ``records`` and ``skipped`` ones with reasons."""

    root: Path
    records: list[Path] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)


def _is_ecg_export(path: Path) -> bool:
    """A non-WFDB file whose content names an ECG format (XML root, DICOM, SCP, EDF, an
    Apple Watch export's header).

    Other delimited text is not taken: label tables sit beside records as CSV too.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
        return detect_format(path, head) not in ("csv", "wfdb")
    except (OSError, RecordError):
        return False


def survey_folder(root: str | Path) -> FolderScan:
    """Find ``*.hea`` and clinical exports recursively (hidden folders ignored), in natural order.

    Exports are files with a suffix in ``ECG_SUFFIXES`` whose content is a known ECG
    format (GE MUSE, HL7 aECG, Philips XML, DICOM, SCP-ECG, EDF, Apple Watch CSV; a plain
    table of numbers is not one). Multi-segment headers
    are skipped with a reason. Other headers are listed even when damaged: reading them
    gives a RecordError that says why.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    scan = FolderScan(root)
    candidates = [p for p in root.rglob("*") if p.suffix.lower() in {*ECG_SUFFIXES, ".hea"}]
    for header in sorted(candidates, key=_natural_key):
        relative = header.relative_to(root)
        if any(part.startswith(".") for part in relative.parts[:-1]) or not header.is_file():
            continue
        if header.suffix.lower() != ".hea":
            if _is_ecg_export(header):
                scan.records.append(header)
            continue
        try:
            multisegment = is_multisegment_header(header)
        except (OSError, IndexError):
            multisegment = False
        if multisegment:
            scan.skipped[header] = "multi-segment record (not supported)"
        else:
            scan.records.append(header)
    return scan


def scan_folder(root: str | Path) -> list[Path]:
    """Paths of the records (WFDB headers, exports) under ``root`` (see :func:`survey_folder`)."""
    return survey_folder(root).records


class Source:
    """Records that the data pipeline can list, read and label.

    ``record_ids`` lists ids in order; ``read(record_id)`` reads one record lazily;
    ``metadata`` has one row per record id (index ``record_id``) with ``path``,
    ``label_key``, the dataset's own metadata (PTB-XL) and the joined label columns
    (``label_kinds`` names them). A label column clashing with a dataset column keeps its
    name; the dataset's column becomes ``<name>_dataset``.
    """

    def __init__(
        self,
        name: str,
        root: Path,
        kind: str,
        metadata: pd.DataFrame,
        reader: Callable[[str], Record],
        *,
        skipped: dict[Path, str] | None = None,
        dataset: PTBXL | None = None,
    ):
        self.name = name
        self.root = root
        self.kind = kind
        self.metadata = metadata
        self._reader = reader
        self.skipped = dict(skipped or {})  # headers left out when listing, with reasons
        self.dataset = dataset  # the PTBXL object behind a PTB-XL source
        self.label_kinds: dict[str, LabelKind] = {}
        self.unmatched_labels: list[str] = []

    @property
    def record_ids(self) -> list[str]:
        return self.metadata.index.tolist()

    def __len__(self) -> int:
        return len(self.metadata)

    def __iter__(self) -> Iterator[str]:
        return iter(self.record_ids)

    def __contains__(self, record_id: object) -> bool:
        return str(record_id) in self.metadata.index

    def __repr__(self) -> str:
        return f"Source({self.name!r}, kind={self.kind!r}, records={len(self)}, labels={list(self.label_kinds)})"

    def read(self, record_id: str) -> Record:
        """Read one record; KeyError for an unknown id, RecordError for a bad record."""
        record_id = str(record_id)
        if record_id not in self.metadata.index:
            raise KeyError(f"record {record_id!r} is not in source {self.name!r}")
        return self._reader(record_id)

    def iter_records(self) -> Iterator[tuple[str, Record | RecordError]]:
        """Every record in order as ``(record_id, Record)``, or ``(record_id, RecordError)``
        for a bad one, so that one bad file never stops a pass over the dataset."""
        for record_id in self.record_ids:
            try:
                yield record_id, self.read(record_id)
            except RecordError as error:
                yield record_id, error

    def join_labels(self, labels: pd.DataFrame) -> None:
        """Left-join a labels table (see :func:`ecgcore.io.labels.prepare_labels`) on record keys."""
        if "label_key" not in labels.columns or "label_kinds" not in labels.attrs:
            labels = prepare_labels(labels)
        kinds: dict[str, LabelKind] = labels.attrs["label_kinds"]
        table = labels.rename(columns={"record_id": "label_id"}).set_index("label_key")
        metadata = self.metadata.rename(
            columns={c: f"{c}_dataset" for c in [*kinds, "label_id"] if c in self.metadata.columns}
        )
        joined = metadata.join(table, on="label_key", how="left", validate="many_to_one")
        joined.index.name = "record_id"
        self.unmatched_labels = sorted(
            table.loc[~table.index.isin(metadata["label_key"]), "label_id"].tolist()
        )
        if self.unmatched_labels:
            warnings.warn(
                f"{len(self.unmatched_labels)} label rows match no record in {self.name!r}, "
                f"e.g. {self.unmatched_labels[:5]}",
                stacklevel=2,
            )
        self.metadata = joined
        self.label_kinds = {**self.label_kinds, **kinds}


def _folder_source(root: Path, scan: FolderScan, min_duration_s: float, name: str,
                   lead_map: dict[str, str] | None = None) -> Source:
    stems = [header.stem for header in scan.records]
    if len(set(stems)) == len(stems):
        ids = stems
    else:
        ids = [(p.relative_to(root).with_suffix("") if p.suffix.lower() == ".hea"
                else p.relative_to(root)).as_posix() for p in scan.records]
    paths = dict(zip(ids, scan.records))
    metadata = pd.DataFrame(
        {
            "path": [str(p) for p in scan.records],
            "label_key": [record_key(p.stem) for p in scan.records],
        },
        index=pd.Index(ids, name="record_id"),
    )

    def reader(record_id: str) -> Record:
        path = paths[record_id]
        if path.suffix.lower() == ".hea":
            record = read_wfdb(path, min_duration_s=min_duration_s, lead_map=lead_map)
        else:
            record = read_ecg(path, min_duration_s=min_duration_s, lead_map=lead_map)
        record.record_id = record_id
        return record

    return Source(name, root, "folder", metadata, reader, skipped=scan.skipped)


def _ptbxl_source(root: Path, rate: int, min_duration_s: float, name: str) -> Source:
    dataset = PTBXL(root, rate=rate, min_duration_s=min_duration_s)
    metadata = dataset.metadata.copy()
    metadata.insert(0, "ecg_id", metadata.index)
    metadata.insert(0, "label_key", [record_key(i) for i in metadata.index])
    metadata.insert(0, "path", [str(root / f"{f}.hea") for f in metadata["filename"]])
    metadata.index = pd.Index([str(i) for i in metadata.index], name="record_id")
    return Source(name, root, "ptbxl", metadata, dataset.read_record, dataset=dataset)


def open_source(
    path: str | Path,
    labels: str | Path | pd.DataFrame | None = None,
    *,
    rate: int | None = None,
    min_duration_s: float = MIN_DURATION_S,
    name: str | None = None,
    lead_map: dict[str, str] | None = None,
) -> Source:
    """Open a PTB-XL root, a folder of WFDB records or one ``.hea`` file as a :class:`Source`.

    ``labels`` (a CSV/Parquet path or a DataFrame) is joined by :func:`record_key`.
    ``lead_map`` (``{'ECG': 'I'}``, see :func:`ecgcore.leads.parse_lead_map`) says what the
    lead names of a folder's records mean (PTB-XL's names are standard).
    ``rate`` picks PTB-XL's 500 or 100 Hz records; None takes 500 Hz when the root has
    ``records500/``, else 100 Hz (the bundled demo ships only ``records100/``). A missing path is a FileNotFoundError;
    a folder without records a ValueError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data source not found: {path}")
    if path.is_file():
        if path.suffix.lower() != ".hea" and path.suffix.lower() not in ECG_SUFFIXES:
            raise ValueError(f"{path}: a data source is a folder, a WFDB header (.hea) or an "
                             f"ECG file ({', '.join(ECG_SUFFIXES)})")
        scan = FolderScan(path.parent, records=[path])
        source = _folder_source(path.parent, scan, min_duration_s, name or path.stem, lead_map)
    elif is_ptbxl_root(path):
        if rate is None:
            rate = 500 if (path / "records500").is_dir() else 100
        source = _ptbxl_source(path, rate, min_duration_s, name or path.name)
    else:
        scan = survey_folder(path)
        if not scan.records:
            skipped = (
                f" ({len(scan.skipped)} multi-segment headers skipped)" if scan.skipped else ""
            )
            raise ValueError(f"no WFDB records (.hea headers) or ECG exports found under {path}{skipped}")
        source = _folder_source(path, scan, min_duration_s, name or path.resolve().name, lead_map)
    if labels is not None:
        source.join_labels(labels if isinstance(labels, pd.DataFrame) else load_labels(labels))
    return source
