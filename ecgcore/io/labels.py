"""Users' label tables (CSV or Parquet) and how their ids match records.

Id matching rule (:func:`record_key`): an id and a record match when their keys are
equal, where the key of ``"records500/00000/00001_hr.hea"`` is built by taking the last
path component, dropping a ``.hea``/``.dat``/``.mat`` extension, lower-casing, dropping
a PTB-XL rate suffix ``_hr``/``_lr`` and, when only digits remain, leading zeros. So
``"00001_hr"``, ``"1"``, ``1``, ``1.0`` and ``"records500/00000/00001_hr"`` all give
``"1"`` and match the record whose stem is ``00001_hr`` (or PTB-XL ecg_id 1).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

import pandas as pd

LabelKind = Literal["continuous", "binary", "categorical"]
ID_COLUMNS: tuple[str, ...] = ("record_id", "record", "ecg_id", "filename", "id")

_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}
_EXTENSIONS = (".hea", ".dat", ".mat")


def record_key(record_id: object) -> str:
    """The matching key of a record id or file path (see the module docstring)."""
    if isinstance(record_id, float) and math.isfinite(record_id) and record_id.is_integer():
        record_id = int(record_id)
    text = str(record_id).strip().replace("\\", "/").rstrip("/")
    text = text.rsplit("/", 1)[-1]
    if text.lower().endswith(_EXTENSIONS):
        text = text[:-4]
    text = text.lower()
    text = re.sub(r"_(hr|lr)$", "", text)
    if re.fullmatch(r"\d+(\.0+)?", text):
        text = str(int(float(text)))
    return text


def _tokens(series: pd.Series) -> set[str]:
    return {str(v).strip().lower() for v in series}


def infer_label_kind(series: pd.Series) -> LabelKind:
    """ "binary", "continuous" or "categorical" for a label column (missing values ignored).

    binary: booleans, or only the values 0/1/true/false/yes/no/y/n/t/f (any case);
    continuous: any other numbers (also numeric strings); categorical: everything else
    (including an all-missing column). Integer-coded classes (0/1/2) read as continuous:
    pass ``kinds=`` to :func:`load_labels` to say otherwise.
    """
    values = series.dropna()
    if values.empty:
        return "categorical"
    if pd.api.types.is_bool_dtype(values) or _tokens(values) <= _TRUE | _FALSE:
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        return "continuous"
    if pd.to_numeric(values.astype(str).str.strip(), errors="coerce").notna().all():
        return "continuous"
    return "categorical"


def coerce_label(series: pd.Series, kind: LabelKind) -> pd.Series:
    """The column as nullable ``boolean`` (binary), float64 (continuous) or str objects."""
    if kind == "binary":

        def to_bool(value: object) -> object:
            if pd.isna(value):
                return pd.NA
            token = str(value).strip().lower()
            if token in _TRUE:
                return True
            if token in _FALSE:
                return False
            raise ValueError(f"column {series.name!r}: {value!r} is not a binary value")

        return series.map(to_bool).astype("boolean")
    if kind == "continuous":
        stripped = series.map(lambda v: v.strip() if isinstance(v, str) else v)
        return pd.to_numeric(stripped, errors="raise").astype("float64")
    if kind == "categorical":
        return series.map(lambda v: v if pd.isna(v) else str(v).strip()).astype(object)
    raise ValueError(f"unknown label kind {kind!r}; expected continuous, binary or categorical")


def find_id_column(columns: list[str]) -> str:
    """The record-id column: the first of ``ID_COLUMNS`` present (case-insensitive)."""
    lowered = {str(c).strip().lower(): c for c in columns}
    for candidate in ID_COLUMNS:
        if candidate in lowered:
            return lowered[candidate]
    raise ValueError(
        f"no record-id column: expected one of {list(ID_COLUMNS)}, found {list(columns)}"
    )


def load_labels(path: str | Path, kinds: dict[str, LabelKind] | None = None) -> pd.DataFrame:
    """Read a labels table (``.csv``/``.tsv``/``.parquet``) with typed label columns.

    Returns :func:`prepare_labels` of the table: a str ``record_id`` column (the ids as
    written), a ``label_key`` column (:func:`record_key`) and one column per label,
    coerced by kind (``kinds`` overrides :func:`infer_label_kind`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels table not found: {path}")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        table = pd.read_parquet(path)
    elif suffix in {".csv", ".tsv", ".txt"}:
        sep = "\t" if suffix == ".tsv" else ","
        id_column = find_id_column(list(pd.read_csv(path, sep=sep, nrows=0).columns))
        table = pd.read_csv(path, sep=sep, dtype={id_column: str})
    else:
        raise ValueError(
            f"{path}: labels must be CSV, TSV or Parquet, not {suffix or 'no extension'}"
        )
    return prepare_labels(table, kinds, origin=str(path))


def prepare_labels(
    table: pd.DataFrame, kinds: dict[str, LabelKind] | None = None, origin: str = "labels"
) -> pd.DataFrame:
    """Type a labels table already in memory (see :func:`load_labels`).

    Every column but the id column (first of ``ID_COLUMNS``) is a label.
    ``df.attrs["label_kinds"]`` maps each label column to its kind and
    ``df.attrs["id_column"]`` names the original id column. Duplicate ids (after
    :func:`record_key`) or empty ids are a ValueError naming ``origin``.
    """
    table = table.reset_index(drop=True)
    id_column = find_id_column(list(table.columns))
    ids = table[id_column]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise ValueError(
            f"{origin}: {int(empty.sum())} rows have no value in id column {id_column!r}"
        )
    keys = ids.map(record_key)
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        examples = sorted(set(ids[duplicated].astype(str)))[:6]
        raise ValueError(f"{origin}: ids that name the same record more than once: {examples}")

    label_columns = [c for c in table.columns if c != id_column]
    kinds = dict(kinds or {})
    unknown = set(kinds) - set(map(str, label_columns))
    if unknown:
        raise ValueError(f"{origin}: kinds given for absent columns {sorted(unknown)}")
    labels = pd.DataFrame({"record_id": ids.astype(str).str.strip(), "label_key": keys})
    label_kinds: dict[str, LabelKind] = {}
    for column in label_columns:
        name = str(column)
        if name in labels.columns:
            raise ValueError(f"{origin}: label column {name!r} clashes with the id columns")
        kind = kinds.get(name) or infer_label_kind(table[column])
        try:
            labels[name] = coerce_label(table[column], kind)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{origin}: column {name!r} cannot be read as {kind}: {exc}") from exc
        label_kinds[name] = kind
    labels.attrs["label_kinds"] = label_kinds
    labels.attrs["id_column"] = str(id_column)
    return labels
