"""A labels table attached to a records table in memory: the app's way of colouring and
stratifying any run's records by a user's labels (LVEF, outcomes…) with no retraining and
no rebuilt cache.

:func:`read_labels` reads an uploaded CSV/TSV/Parquet table (bytes) the way
:func:`ecgcore.io.labels.load_labels` reads a file; :func:`attach_labels` left-joins it onto
a records or embedding table by :func:`ecgcore.io.labels.record_key` and returns a *new*
table: nothing is written, so a shared cache or another run's files never change.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import PurePath

import pandas as pd

from ecgcore.io.labels import LabelKind, find_id_column, prepare_labels, record_key

#: The attached columns of a table returned by :func:`attach_labels` (``table.attrs``).
ATTACHED = "attached_labels"


def read_labels(data: bytes, filename: str) -> pd.DataFrame:
    """A labels table from the bytes of a CSV, TSV or Parquet file named ``filename``.

    Returns :func:`ecgcore.io.labels.prepare_labels` of it (typed label columns, their
    kinds in ``attrs["label_kinds"]``). A table that cannot be read is a ValueError that
    names the file and the problem.
    """
    suffix = PurePath(filename).suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            table = pd.read_parquet(io.BytesIO(data))
        elif suffix in {".csv", ".tsv", ".txt"}:
            sep = "\t" if suffix == ".tsv" else ","
            header = pd.read_csv(io.BytesIO(data), sep=sep, nrows=0).columns
            table = pd.read_csv(io.BytesIO(data), sep=sep,
                                dtype={find_id_column(list(header)): str})
        else:
            raise ValueError(f"labels must be CSV, TSV or Parquet, not {suffix or 'no extension'}")
    except ValueError as exc:
        raise ValueError(f"{filename}: {exc}") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{filename}: cannot be read as a table ({exc})") from None
    if table.shape[1] < 2:
        raise ValueError(f"{filename}: a labels table needs a record-id column and at least "
                         "one label column")
    return prepare_labels(table, origin=filename)


@dataclass(frozen=True)
class Attachment:
    """What attaching a labels table to a records table gave."""

    table: pd.DataFrame  # a new table: the records' columns plus the label columns
    kinds: dict[str, LabelKind]  # each attached label column and its kind
    n_matched: int  # records that found a row of the labels table
    n_records: int
    unmatched: list[str] = field(default_factory=list)  # label ids that matched no record

    @property
    def summary(self) -> str:
        """'lvef (continuous) matched 480 of 500 records; 3 label rows matched none'."""
        cols = ", ".join(f"{c} ({k})" for c, k in self.kinds.items())
        text = f"{cols}: matched {self.n_matched:,} of {self.n_records:,} records"
        if self.unmatched:
            text += f"; {len(self.unmatched):,} label rows matched no record"
        return text


def attach_labels(records: pd.DataFrame, labels: pd.DataFrame) -> Attachment:
    """Left-join ``labels`` (:func:`read_labels` / ``prepare_labels``) onto ``records`` (a
    table with a ``record_id`` column, in its row order) by record key.

    A records column with the name of a label column is kept as ``<name>_dataset``: the
    user's table wins. The result's ``attrs[ATTACHED]`` maps the attached columns to their
    kinds; ``records`` itself is not modified.
    """
    if "record_id" not in records.columns:
        raise ValueError("the records table has no record_id column")
    if "label_key" not in labels.columns or "label_kinds" not in labels.attrs:
        labels = prepare_labels(labels)
    kinds: dict[str, LabelKind] = dict(labels.attrs["label_kinds"])
    keys = records["record_id"].map(record_key)
    by_key = labels.drop(columns=["record_id"]).set_index("label_key")
    joined = by_key.reindex(keys.to_numpy())
    joined.index = records.index
    out = records.rename(columns={c: f"{c}_dataset" for c in kinds if c in records.columns})
    out = pd.concat([out, joined[list(kinds)]], axis=1)
    out.attrs = {**records.attrs, ATTACHED: kinds}
    matched = keys.isin(by_key.index)
    unmatched = sorted(labels.loc[~labels["label_key"].isin(set(keys)), "record_id"].astype(str))
    return Attachment(out, kinds, int(matched.sum()), len(records), unmatched)


def dataset_record_ids(path: str) -> list[str]:
    """The record ids of a dataset folder or preprocessed cache (without reading a signal):
    what the sidebar counts a labels table's matches against."""
    from pathlib import Path

    from ecgcore.io import open_source

    folder = Path(path)
    if (folder / "records.parquet").is_file():
        return pd.read_parquet(folder / "records.parquet", columns=["record_id"])[
            "record_id"].astype(str).tolist()
    return [str(r) for r in open_source(folder).record_ids]
