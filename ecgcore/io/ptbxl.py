"""PTB-XL: the metadata table with benchmark labels, and records by ecg_id.

Labels follow the PTB-XL benchmark (Strodthoff et al., IEEE JBHI 2021, "Deep learning
for ECG analysis: benchmarks and insights from PTB-XL"): of a record's ``scp_codes``,
every statement with ``diagnostic == 1.0`` in ``scp_statements.csv`` counts, whatever
its likelihood (0.0 included); its ``diagnostic_class`` gives the superclass (NORM, MI,
STTC, CD, HYP) and its ``diagnostic_subclass`` one of the 23 subclasses. A record may
have several labels, or none (only non-diagnostic statements).
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.io.record import Record
from ecgcore.io.wfdb_reader import MIN_DURATION_S, read_wfdb

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
DATABASE_FILE = "ptbxl_database.csv"
STATEMENTS_FILE = "scp_statements.csv"
#: PTB-XL's two sampling rates (Hz) and the metadata column naming each rate's files.
RATE_FILES = {100: "filename_lr", 500: "filename_hr"}
RATES = tuple(RATE_FILES)
_AGE_CAP_CODE = 300  # PTB-XL writes 300 for ages above 89 (HIPAA); read as 90


def is_ptbxl_root(path: str | Path) -> bool:
    """True when ``path`` is a folder holding ``ptbxl_database.csv``."""
    return (Path(path) / DATABASE_FILE).is_file()


def load_diagnostic_statements(path: str | Path) -> pd.DataFrame:
    """Rows of ``scp_statements.csv`` with ``diagnostic == 1.0``, indexed by SCP code."""
    statements = pd.read_csv(path, index_col=0)
    return statements[statements["diagnostic"] == 1.0]


def parse_scp_codes(text: str) -> dict[str, float]:
    """The ``scp_codes`` cell (a Python dict literal) as ``{code: likelihood}``."""
    codes = ast.literal_eval(text) if isinstance(text, str) and text.strip() else {}
    if not isinstance(codes, dict):
        raise ValueError(f"scp_codes is not a dict literal: {text!r}")  # noqa: TRY004
    return {str(code): float(likelihood) for code, likelihood in codes.items()}


def diagnostic_labels(
    scp_codes: dict[str, float], statements: pd.DataFrame
) -> tuple[list[str], list[str]]:
    """(superclasses, subclasses) of one record, each sorted, per the benchmark rule."""
    return _labels(scp_codes, *_label_maps(statements))


def _label_maps(statements: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    def mapping(column: str) -> dict[str, str]:
        return {code: value for code, value in statements[column].items() if isinstance(value, str)}

    return mapping("diagnostic_class"), mapping("diagnostic_subclass")


def _labels(
    scp_codes: dict[str, float], classes: dict[str, str], subclasses: dict[str, str]
) -> tuple[list[str], list[str]]:
    supers = {classes[code] for code in scp_codes if code in classes}
    subs = {subclasses[code] for code in scp_codes if code in subclasses}
    return sorted(supers, key=SUPERCLASSES.index), sorted(subs)


def _age(value: float) -> float:
    return 90.0 if value == _AGE_CAP_CODE else float(value)


def _sex(value: Any) -> str | None:
    return {0: "M", 1: "F"}.get(int(value)) if pd.notna(value) else None


def _clean(value: Any) -> Any:
    """NaN → None, numpy scalars → Python scalars, for Record metadata."""
    if value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


class PTBXL:
    """A PTB-XL folder (``ptbxl_database.csv``, ``scp_statements.csv``, ``records500/``…).

    ``metadata`` is indexed by ``ecg_id`` and holds every database column, with ``sex``
    as "M"/"F" (PTB-XL: 0 = male, 1 = female), ``age`` (300, PTB-XL's code for >89, read
    as 90), ``scp_codes`` kept as the database's dict-literal text (Parquet-safe; parse
    with :func:`parse_scp_codes`; ``read_record`` gives it parsed), ``filename`` for the chosen ``rate`` (relative to the
    root, without extension), list columns ``superclasses``/``subclasses`` and 0/1 int8
    columns ``superclass_<NAME>`` (5) and ``subclass_<NAME>`` (23).
    """

    def __init__(self, root: str | Path, rate: int = 500, min_duration_s: float = MIN_DURATION_S):
        self.root = Path(root)
        if rate not in RATES:
            raise ValueError(f"PTB-XL rate must be one of {RATES}, got {rate!r}")
        for name in (DATABASE_FILE, STATEMENTS_FILE):
            if not (self.root / name).is_file():
                raise FileNotFoundError(f"not a PTB-XL folder: {self.root / name} not found")
        self.rate = rate
        self.min_duration_s = min_duration_s
        self.statements = load_diagnostic_statements(self.root / STATEMENTS_FILE)
        self.subclasses: tuple[str, ...] = tuple(
            sorted(self.statements["diagnostic_subclass"].dropna().unique())
        )
        self.metadata = self._build_metadata(
            pd.read_csv(self.root / DATABASE_FILE, index_col="ecg_id")
        )

    def _build_metadata(self, db: pd.DataFrame) -> pd.DataFrame:
        db = db.copy()
        db.index = db.index.astype(int)
        db["patient_id"] = db["patient_id"].astype("Int64")
        db["age"] = db["age"].map(_age)
        db["sex"] = db["sex"].map(_sex).astype(object)
        codes = db["scp_codes"].map(parse_scp_codes)
        db["filename"] = db[RATE_FILES[self.rate]]
        db = db.drop(columns=list(RATE_FILES.values()))
        maps = _label_maps(self.statements)
        labels = codes.map(lambda record_codes: _labels(record_codes, *maps))
        db["superclasses"] = labels.map(lambda pair: pair[0])
        db["subclasses"] = labels.map(lambda pair: pair[1])
        hot = {
            f"superclass_{name}": db["superclasses"].map(lambda have, n=name: n in have)
            for name in SUPERCLASSES
        } | {
            f"subclass_{name}": db["subclasses"].map(lambda have, n=name: n in have)
            for name in self.subclasses
        }
        return pd.concat([db, pd.DataFrame(hot).astype("int8")], axis=1)

    @property
    def ecg_ids(self) -> list[int]:
        return self.metadata.index.tolist()

    def record_path(self, ecg_id: int | str) -> Path:
        """The record's header path for the chosen rate."""
        return self.root / f"{self._row(ecg_id)['filename']}.hea"

    def _row(self, ecg_id: int | str) -> pd.Series:
        try:
            return self.metadata.loc[int(ecg_id)]
        except (KeyError, ValueError):
            raise KeyError(f"ecg_id {ecg_id!r} is not in {self.root / DATABASE_FILE}") from None

    def read_record(self, ecg_id: int | str) -> Record:
        """The record at the chosen rate, ``record_id`` = str(ecg_id), with its metadata."""
        row = self._row(ecg_id)
        record = read_wfdb(self.root / f"{row['filename']}.hea", min_duration_s=self.min_duration_s)
        record.record_id = str(int(ecg_id))
        keep = ["patient_id", "age", "sex", "strat_fold", "filename", "superclasses", "subclasses",
                "report", "heart_axis", "device", "recording_date"]  # fmt: skip
        record.metadata.update({k: _clean(row[k]) for k in keep if k in row})
        record.metadata["ecg_id"] = int(ecg_id)
        record.metadata["scp_codes"] = parse_scp_codes(row["scp_codes"])
        return record
