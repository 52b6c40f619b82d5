"""The sidebar's labels table: a CSV/Parquet file the user attaches to whatever dataset is
shown, held in this session only (``st.session_state["labels_table"]``) and joined onto a
view's records table in memory by :func:`ecgcore.data.attached_labels.attach_labels`.
Nothing is written: no cache is rebuilt, no run's files change."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ecgcore.data.attached_labels import Attachment, attach_labels, dataset_record_ids, read_labels

LABELS_TABLE = "labels_table"  # the prepared labels table (ecgcore.io.labels.prepare_labels)
LABELS_NAME = "labels_name"  # its file name
LABELS_UPLOAD = "labels_upload"  # the uploader widget
_FROM_UPLOAD = "labels_from_upload"  # the table came from the uploader (cleared with it)


@st.cache_data(show_spinner=False, max_entries=8)
def _read(data: bytes, filename: str) -> pd.DataFrame:
    return read_labels(data, filename)


@st.cache_data(show_spinner=False, max_entries=8)
def _record_ids(path: str) -> list[str]:
    return dataset_record_ids(path)


def labels_sidebar(dataset_path: str) -> None:
    """The uploader, and what the attached table brought: its columns and their kinds, and
    how many of the sidebar dataset's records it matched."""
    st.sidebar.subheader("Labels")
    upload = st.sidebar.file_uploader(
        "Labels table (CSV or Parquet)", type=["csv", "tsv", "parquet"], key=LABELS_UPLOAD,
        help="One row per record: a record-id column (record_id, ecg_id, record, filename "
             "or id) and label columns (e.g. lvef). Every view can colour and stratify by "
             "them, for every run, with no retraining; nothing is written to the dataset.")
    if upload is not None:
        try:
            table = _read(upload.getvalue(), upload.name)
        except ValueError as exc:
            st.sidebar.error(str(exc))
            return
        st.session_state.update({LABELS_TABLE: table, LABELS_NAME: upload.name,
                                 _FROM_UPLOAD: True})
    elif st.session_state.get(_FROM_UPLOAD):  # the user removed the file
        for key in (LABELS_TABLE, LABELS_NAME, _FROM_UPLOAD):
            st.session_state.pop(key, None)
    table = st.session_state.get(LABELS_TABLE)
    if table is None:
        st.sidebar.caption("No labels table attached: views colour by the dataset's own "
                           "labels.")
        return
    kinds = table.attrs.get("label_kinds", {})
    st.sidebar.caption(f"**{st.session_state.get(LABELS_NAME, 'labels')}**: "
                       + ", ".join(f"`{c}` ({k})" for c, k in kinds.items()))
    if dataset_path:
        try:
            ids = _record_ids(dataset_path)
        except (OSError, ValueError) as exc:
            st.sidebar.warning(f"Cannot list the records of `{dataset_path}`: {exc}")
            return
        att = attach_labels(pd.DataFrame({"record_id": ids}), table)
        st.sidebar.caption(f"Matched {att.n_matched:,} of {att.n_records:,} records of the "
                           f"sidebar's dataset"
                           + (f"; {len(att.unmatched):,} label rows matched none"
                              if att.unmatched else "") + ".")


def with_labels(records: pd.DataFrame) -> tuple[pd.DataFrame, Attachment | None]:
    """``records`` with the attached labels' columns (a new table), or as it is when none."""
    table = st.session_state.get(LABELS_TABLE)
    if table is None:
        return records, None
    att = attach_labels(records, table)
    return att.table, att


def attached_columns(table: pd.DataFrame) -> set[str]:
    """The attached label columns of a table returned by :func:`with_labels`."""
    return set(table.attrs.get("attached_labels", {}))
