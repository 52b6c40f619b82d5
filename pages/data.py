"""Data view: one record of the chosen dataset on ECG paper, its median beats and intervals.

Every number comes from ``ecgcore`` (reader, beat pipeline, figure functions); this page
only picks, caches and lays out. Results are cached per (dataset folder, record id).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ecgcore.io.folder import Source, open_source
from ecgcore.io.record import RecordError
from ecgcore.signal.pipeline import BeatResult, PipelineConfig, process_record
from ecgcore.signal.record_delineation import beats_confidence
from ecgcore.viz import ecg_paper_figure, median_beat_figure, plotly_config
from ui.downloads import download_buttons, table_download

DATASET_PATH = "dataset_path"  # set by app.py's sidebar
RECORD_KEY = "data_record"
LAYOUT_KEY = "data_layout"
SKIPPED_KEY = "data_skipped"  # {record id: reason} of the records skipped on opening
MAX_TRIED = 25  # records tried when a folder opens, before showing the first one anyway
#: Record layouts offered; the first (the standard 12-lead print) is the default.
LAYOUTS = {"3×4 + II rhythm": "3x4", "12 leads stacked": "stack"}

#: (feature key, row label, unit) of the intervals table, in reading order.
INTERVALS: tuple[tuple[str, str, str], ...] = (
    ("hr_bpm", "Heart rate", "bpm"),
    ("p_ms", "P duration", "ms"),
    ("pr_ms", "PR interval", "ms"),
    ("qrs_ms", "QRS duration", "ms"),
    ("qt_ms", "QT interval", "ms"),
    ("qtc_ms", "QTc (Bazett)", "ms"),
    ("axis_deg", "QRS axis", "°"),
)


@st.cache_resource(show_spinner="Opening the dataset…")
def load_source(path: str) -> Source:
    """The dataset at ``path`` (a PTB-XL root opens at 500 Hz when it has those records)."""
    return open_source(Path(path))


@st.cache_data(show_spinner="Analysing the record…", max_entries=64)
def analyse(path: str, record_id: str) -> tuple[BeatResult, float] | str:
    """(pipeline result, the record's own sampling rate) of one record, or the RecordError
    message (cached too, so a bad record is not re-read on every rerun)."""
    try:
        record = load_source(path).read(record_id)
        return process_record(record, PipelineConfig()), float(record.fs)
    except RecordError as exc:
        return str(exc)


@st.cache_data(show_spinner=False, max_entries=64)
def figures(path: str, record_id: str, layout: str) -> tuple[go.Figure, go.Figure]:
    """(ECG paper figure, median beat figure) of one analysed record."""
    beat, _ = analyse(path, record_id)
    # Natural sizes close to the wide layout's columns, so stretching adds little margin.
    paper = ecg_paper_figure(beat.signal, beat.fs, beat.leads, beat.rpeaks, layout=layout,
                             px_per_mm=4.6)
    # The wide analysis window (−500…+700 ms) shows a long PR and a long QT whole.
    median = median_beat_figure(beat.analysis_median, beat.fs, beat.leads,
                                beat.analysis_fiducials, px_per_mm=6.5)
    return paper, median


def first_analysable(path: str, ids: list[str], limit: int = MAX_TRIED
                     ) -> tuple[str | None, dict[str, str]]:
    """(the first record of ``ids`` that the pipeline can analyse, or None within ``limit``
    tries; ``{record id: reason}`` of the ones before it that it could not)."""
    skipped: dict[str, str] = {}
    for rid in ids[:limit]:
        result = analyse(path, rid)
        if not isinstance(result, str):
            return rid, skipped
        skipped[rid] = result
    return None, skipped


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def record_label(meta: pd.DataFrame, record_id: str) -> str:
    """'ecg_id 12 · 56 y · F · NORM, MI' from whatever the dataset's table offers."""
    row = meta.loc[record_id]
    parts = [f"ecg_id {record_id}" if "ecg_id" in meta.columns else str(record_id)]
    age, sex = row.get("age"), row.get("sex")
    if _present(age):
        parts.append(f"{age:.0f} y")
    if _present(sex):
        parts.append(str(sex))
    if "superclasses" in meta.columns:
        classes = row.get("superclasses")
        has = isinstance(classes, list) and classes
        parts.append(", ".join(classes) if has else "no diagnostic class")
    return " · ".join(parts)


def intervals_table(features: dict[str, float]) -> pd.DataFrame:
    """The measured intervals as a small table (NaN where the pipeline could not measure)."""
    rows = [(label, features.get(key, float("nan")), unit) for key, label, unit in INTERVALS]
    table = pd.DataFrame(rows, columns=["Measure", "Value", "Unit"])
    table["Value"] = table["Value"].astype(float).round(0)
    return table


@st.cache_data(show_spinner=False, max_entries=64)
def interval_confidence(path: str, record_id: str) -> dict[str, dict]:
    """How sure each interval of an analysed record is (``ecgcore``: each kept beat
    delineated on its own, the spread of its intervals)."""
    beat, _ = analyse(path, record_id)
    rr = float(np.median(beat.rr_ms)) if np.size(beat.rr_ms) else None
    return beats_confidence(beat.analysis_beats, beat.fs, beat.analysis_fiducials.r,
                            beat.analysis_fiducials, rr_ms=rr)


def with_confidence(table: pd.DataFrame, confidence: dict[str, dict]) -> pd.DataFrame:
    """The intervals table with, beside each delineated interval, the beats that gave it,
    their spread (IQR, ms) and a flag: ``ok``, ``uncertain`` (fewer than three beats, or
    an IQR beyond the IEC tolerance) or ``absent`` (no P wave / no T end found)."""
    keys = [key for key, _, _ in INTERVALS]
    beats, spread, flag = [], [], []
    for key in keys:
        c = confidence.get(key)
        beats.append(float("nan") if c is None else c["n_beats"])
        spread.append(float("nan") if c is None or c["iqr_ms"] is None else c["iqr_ms"])
        flag.append("" if c is None else "absent" if c["absent"]
                    else "uncertain" if c["uncertain"] else "ok")
    return table.assign(**{"Beats": beats, "IQR (ms)": spread, "Confidence": flag})


def leads_used(beat: BeatResult) -> list[str]:
    """The leads the measurements were made on (finite, not left out as bad)."""
    finite = np.isfinite(beat.analysis_median).all(axis=1)
    return [lead for lead, ok in zip(beat.leads, finite) if ok and lead not in beat.bad_leads]


def main() -> None:
    path = st.session_state.get(DATASET_PATH, "")
    st.title("Data")
    if not path:
        st.info("Enter a data folder in the sidebar: a PTB-XL root or any folder of WFDB records.")
        return
    try:
        source = load_source(path)
    except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, OSError) as exc:
        st.error(f"Cannot open the dataset: {exc}")  # the message names the path
        return
    ids = source.record_ids
    meta = source.metadata
    kind = {"ptbxl": "PTB-XL", "folder": "WFDB folder"}.get(source.kind, source.kind)
    st.caption(f"{source.name} · {kind} · {len(ids)} records")

    if st.session_state.get(RECORD_KEY) not in ids:  # none yet, or one of another dataset
        st.session_state.pop(RECORD_KEY, None)
        first, skipped = first_analysable(path, ids)
        if first is not None:
            st.session_state[RECORD_KEY] = first
        st.session_state[SKIPPED_KEY] = skipped
    skipped = st.session_state.get(SKIPPED_KEY) or {}
    if skipped:
        with st.expander(f"{len(skipped)} record{'s' if len(skipped) != 1 else ''} before the "
                         "first one shown could not be analysed — why"):
            st.dataframe(pd.DataFrame({"Record": list(skipped), "Reason": list(skipped.values())}),
                         hide_index=True)

    pick, lay = st.columns([3, 1], vertical_alignment="bottom")
    record_id = pick.selectbox("Record", ids, key=RECORD_KEY,
                               format_func=lambda rid: record_label(meta, rid))
    layout_name = lay.radio("Layout", list(LAYOUTS), key=LAYOUT_KEY, horizontal=True)
    if record_id is None:
        st.info("The dataset lists no records.")
        return

    analysed = analyse(path, record_id)
    if isinstance(analysed, str):
        st.error(f"Record {record_id} cannot be analysed: {analysed}")
        return
    beat, record_fs = analysed
    paper, median = figures(path, record_id, LAYOUTS[layout_name])

    cfg = PipelineConfig()
    report = meta.loc[record_id].get("report")
    st.subheader(f"12-lead ECG · record {record_id}")
    st.caption(
        (f"Report: {report.strip()}  \n" if isinstance(report, str) and report.strip() else "")
        + f"Recorded at {record_fs:g} Hz, shown at {beat.fs:g} Hz after the pipeline's filter "
        f"(high-pass {cfg.highpass_hz:g} Hz, {cfg.powerline_hz:g} Hz notch) · "
        "▼ R peaks with RR intervals (ms) · each row starts with a 1 mV calibration pulse."
    )
    st.plotly_chart(paper, theme=None, config=plotly_config(f"ecg_{record_id}"), key="paper")
    download_buttons(paper, f"ecg_{record_id}")

    beats_col, table_col = st.columns([4, 1])
    with beats_col:
        st.subheader("Median beat per lead")
        st.caption(
            f"Median of {beat.quality.n_kept} beats. Shading: P (onset–offset), QRS, "
            "ST = J point to midway to the T peak, T = from there to T end (the regions of "
            "saliency and per-wave errors too)."
        )
        st.plotly_chart(median, theme=None, config=plotly_config(f"median_beat_{record_id}"),
                        key="median", width="content")
        download_buttons(median, f"median_beat_{record_id}")
    with table_col:
        st.subheader("Intervals")
        table = with_confidence(intervals_table(beat.features),
                                interval_confidence(path, record_id))
        st.table(table.style.format({"Value": "{:.0f}", "Beats": "{:.0f}", "IQR (ms)": "{:.0f}"},
                                    na_rep="—").hide(axis="index"))
        used = leads_used(beat)
        st.caption("Global measures on the median beat over the leads used (QRS axis from "
                   "I and aVF); — = not measurable, e.g. no P wave found. Beats / IQR: the "
                   "single beats that give the interval and their spread; uncertain = fewer "
                   "than 3 beats or IQR beyond the IEC tolerance (P 15, PR 10, QRS 10, "
                   f"QT 30 ms). Leads used ({len(used)}): {', '.join(used)}.")
        table_download(table, f"intervals_{record_id}", label="Intervals (CSV)")


main()
