"""A labels table attached in memory (ecgcore.data.attached_labels): read from bytes, joined
by record key, kinds kept, the input table untouched."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ecgcore.data.attached_labels import attach_labels, dataset_record_ids, read_labels
from ecgcore.data.label_columns import grouped_label_name, label_group, label_kinds

CSV = b"ecg_id,lvef,dilated,rhythm\n1,55,no,SR\n00003_hr,35.5,yes,AF\n7,62,no,SR\n999,40,yes,SR\n"


def _records() -> pd.DataFrame:
    return pd.DataFrame({"record_id": ["1", "2", "3", "7"], "age": [50.0, 61.0, 70.0, 45.0],
                         "site": [1.0, 2.0, 1.0, 3.0]})


def test_read_labels_types_each_column():
    table = read_labels(CSV, "echo.csv")
    assert table.attrs["label_kinds"] == {"lvef": "continuous", "dilated": "binary",
                                          "rhythm": "categorical"}
    assert table["label_key"].tolist() == ["1", "3", "7", "999"]


def test_attach_joins_by_key_and_counts_matches():
    records = _records()
    before = records.copy()
    att = attach_labels(records, read_labels(CSV, "echo.csv"))
    assert (att.n_matched, att.n_records, att.unmatched) == (3, 4, ["999"])
    np.testing.assert_array_equal(att.table["lvef"].to_numpy(), [55.0, np.nan, 35.5, 62.0])
    assert att.table["dilated"].iloc[[0, 2, 3]].tolist() == [False, True, False]
    assert att.table["dilated"].isna().tolist() == [False, True, False, False]
    assert att.table["rhythm"].tolist()[2] == "AF"
    assert att.table["record_id"].tolist() == ["1", "2", "3", "7"]  # row order kept
    pd.testing.assert_frame_equal(records, before)  # the input is not modified
    assert "3 of 4" in att.summary and "1 label rows matched no record" in att.summary


def test_a_label_column_named_like_a_dataset_column_wins():
    att = attach_labels(_records(), read_labels(b"record_id,age\n1,99\n2,98\n", "ages.csv"))
    assert att.table["age"].tolist()[:2] == [99.0, 98.0]
    assert att.table["age_dataset"].tolist() == [50.0, 61.0, 70.0, 45.0]


def test_attached_labels_come_first_with_their_kinds_and_group_names():
    # an LVEF with 3 distinct values would read as categorical; its declared kind wins
    att = attach_labels(_records(), read_labels(CSV, "echo.csv"))
    kinds = label_kinds(att.table)
    assert list(kinds)[:3] == ["lvef", "dilated", "rhythm"]
    assert kinds["lvef"] == "continuous" and kinds["dilated"] == "categorical"
    attached = set(att.kinds)
    assert grouped_label_name("lvef", attached) == "Your labels · LVEF (%)"
    assert grouped_label_name("age", attached) == "Age (years)"
    assert grouped_label_name("site", attached) == "Metadata · site"
    assert label_group("superclass_MI") == "clinical"
    assert list(kinds).index("age") < list(kinds).index("site")  # raw metadata last


def test_parquet_bytes_and_bad_tables_name_the_file():
    buf = io.BytesIO()
    pd.DataFrame({"record_id": ["1", "2"], "lvef": [50.0, 60.0]}).to_parquet(buf)
    assert read_labels(buf.getvalue(), "t.parquet")["lvef"].tolist() == [50.0, 60.0]
    with pytest.raises(ValueError, match="notes.xlsx.*CSV, TSV or Parquet"):
        read_labels(b"x", "notes.xlsx")
    with pytest.raises(ValueError, match="bad.csv.*no record-id column"):
        read_labels(b"patient,lvef\n1,50\n", "bad.csv")
    with pytest.raises(ValueError, match="only.csv.*at least one label column"):
        read_labels(b"record_id\n1\n", "only.csv")
    with pytest.raises(ValueError, match="dup.csv.*more than once"):
        read_labels(b"record_id,lvef\n1,50\n0001,60\n", "dup.csv")


def test_dataset_record_ids_of_a_cache_and_of_a_folder(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    pd.DataFrame({"record_id": ["10", "11"], "age": [1, 2]}).to_parquet(cache / "records.parquet")
    assert dataset_record_ids(str(cache)) == ["10", "11"]
    from pathlib import Path
    demo = Path(__file__).resolve().parents[2] / "assets" / "demo" / "ptbxl100"
    ids = dataset_record_ids(str(demo))
    assert len(ids) == len(pd.read_csv(demo / "ptbxl_database.csv"))
