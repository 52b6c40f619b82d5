"""Data view: one record of the chosen dataset on ECG paper, its median beats and intervals.

Every number comes from ``ecgcore`` (reader, beat pipeline, figure functions); this page
only picks, caches and lays out. Results are cached per (dataset folder, lead map, record id).

Any lead set: the sidebar's lead map (``ECG=I``) says what the folder's lead names mean.
Only leads with a signal are drawn (a single-lead recording is one strip and one median
beat, not 11 empty panels); the leads missing or left out, and the measures that cannot be
taken with their reason (the QRS axis needs I and aVF), are listed. The 3×4 print needs the
12 standard leads; other lead sets are drawn stacked. A recording longer than
:data:`STRIP_S` (a Holter excerpt) is drawn as a strip of that length, its start chosen by
a slider; beats and intervals are measured on the whole recording.
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
from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.pipeline import BeatResult, PipelineConfig, process_record
from ecgcore.viz import ecg_paper_figure, median_beat_figure, plotly_config
from ui.downloads import download_buttons, table_download
from ui.lead_map import current_lead_map

DATASET_PATH = "dataset_path"  # set by app.py's sidebar
RECORD_KEY = "data_record"
LAYOUT_KEY = "data_layout"
SKIPPED_KEY = "data_skipped"  # {record id: reason} of the records skipped on opening
MAX_TRIED = 25  # records tried when a folder opens, before showing the first one anyway
#: Record layouts offered; the first (the standard 12-lead print) is the default.
LAYOUTS = {"3×4 + II rhythm": "3x4", "12 leads stacked": "stack"}
STACKED = "Leads stacked"  # the only layout of a record without the 12 standard leads
STRIP_KEY = "data_strip_start"
STRIP_S = 10.0  # seconds drawn on ECG paper at once (a standard 10-s print)
LeadMap = tuple[tuple[str, str], ...]  # sorted (file's name, lead) pairs, () for none

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
def load_source(path: str, lead_map: LeadMap = ()) -> Source:
    """The dataset at ``path`` (a PTB-XL root opens at 500 Hz when it has those records),
    its lead names read through ``lead_map``."""
    return open_source(Path(path), lead_map=dict(lead_map) or None)


@st.cache_data(show_spinner="Analysing the record…", max_entries=64)
def analyse(path: str, record_id: str, lead_map: LeadMap = ()) -> tuple[BeatResult, float] | str:
    """(pipeline result, the record's own sampling rate) of one record, or the RecordError
    message (cached too, so a bad record is not re-read on every rerun)."""
    try:
        record = load_source(path, lead_map).read(record_id)
        return process_record(record, PipelineConfig()), float(record.fs)
    except RecordError as exc:
        return str(exc)


def drawn_leads(beat: BeatResult) -> list[int]:
    """Rows of ``beat.signal`` that hold a signal (missing and left-out leads are NaN)."""
    return [i for i in range(len(beat.leads)) if np.isfinite(beat.signal[i]).any()]


def twelve_lead_print(beat: BeatResult) -> bool:
    """Whether the 3×4 print suits the record: each of the 12 standard leads is drawn or
    left out as bad (an empty panel says so), none is absent from the recording."""
    drawn = {beat.leads[i] for i in drawn_leads(beat)}
    return all(lead in drawn or lead in beat.bad_leads for lead in STANDARD_LEADS)


def layouts_for(beat: BeatResult) -> dict[str, str]:
    """The layouts a record allows: the 3×4 print only with the 12 standard leads."""
    return LAYOUTS if twelve_lead_print(beat) else {STACKED: "stack"}


def strip_bounds(n_samples: int, fs: float, start_s: float) -> tuple[int, int]:
    """Sample range of the :data:`STRIP_S` strip starting at ``start_s`` (clipped to the record)."""
    width = round(STRIP_S * fs)
    start = round(max(0.0, start_s) * fs)
    start = max(0, min(start, n_samples - width))
    return start, min(n_samples, start + width)


def median_px_per_mm(n_leads: int) -> float:
    """Scale of the median beat figure: the 12-lead print's (6.5 px/mm, four panels a row),
    larger for a few leads, so that one or two beats fill about as much width."""
    return 6.5 if n_leads >= 4 else {1: 13.0, 2: 10.0, 3: 8.0}[max(n_leads, 1)]


@st.cache_data(show_spinner=False, max_entries=64)
def figures(path: str, record_id: str, layout: str, lead_map: LeadMap = (),
            start_s: float = 0.0) -> tuple[go.Figure, go.Figure]:
    """(ECG paper figure of the strip at ``start_s``, median beat figure) of one analysed
    record: a 12-lead record in the 3×4 print and grid (a bad lead's panel left empty),
    otherwise only the leads that hold a signal."""
    beat, _ = analyse(path, record_id, lead_map)
    twelve = twelve_lead_print(beat)
    rows = list(range(len(beat.leads))) if twelve and layout == "3x4" else drawn_leads(beat)
    leads = [beat.leads[i] for i in rows]
    a, b = strip_bounds(beat.signal.shape[1], beat.fs, start_s)
    peaks = beat.rpeaks[(beat.rpeaks >= a) & (beat.rpeaks < b)] - a
    # Natural sizes close to the wide layout's columns, so stretching adds little margin.
    paper = ecg_paper_figure(beat.signal[rows, a:b], beat.fs, leads, peaks, layout=layout,
                             px_per_mm=4.6)
    # The wide analysis window (−500…+700 ms) shows a long PR and a long QT whole.
    rows = list(range(len(beat.leads))) if twelve else drawn_leads(beat)
    median = median_beat_figure(beat.analysis_median[rows], beat.fs,
                                [beat.leads[i] for i in rows], beat.analysis_fiducials,
                                px_per_mm=median_px_per_mm(len(rows)))
    return paper, median


def lead_status_table(beat: BeatResult) -> pd.DataFrame:
    """One row per lead the record's layout names that is not drawn: left out (with the
    reader's or the pipeline's reason) or not in the recording. Empty when all are drawn."""
    drawn = set(drawn_leads(beat))
    rows = [(lead, "left out", beat.bad_leads[lead]) for lead in beat.leads
            if lead in beat.bad_leads]
    absent = [lead for i, lead in enumerate(beat.leads)
              if i not in drawn and lead not in beat.bad_leads]
    if absent:
        rows.append((", ".join(absent), "not in the recording",
                     "none is derived or invented"))
    return pd.DataFrame(rows, columns=["Lead", "Status", "Why"])


def unmeasured_table(beat: BeatResult) -> pd.DataFrame:
    """The intervals of :data:`INTERVALS` that could not be measured, with the pipeline's
    reason (``BeatResult.feature_notes``: a lead the measure needs, a wave not found)."""
    labels = {key: label for key, label, _ in INTERVALS}
    rows = [(labels[key], beat.feature_notes[key]) for key in labels if key in beat.feature_notes]
    return pd.DataFrame(rows, columns=["Measure", "Why not measured"])


def lead_sections(beat: BeatResult) -> None:
    """The leads not drawn and the measures not taken, each with its reason."""
    own = [beat.leads[i] for i in drawn_leads(beat) if beat.leads[i] not in STANDARD_LEADS]
    if own:
        st.caption(f"Lead{'s' if len(own) > 1 else ''} {', '.join(own)}: not a 12-lead name, "
                   "so no measure that needs a named lead (the QRS axis) uses "
                   f"{'them' if len(own) > 1 else 'it'}. If you know what a lead is, say so in "
                   f"the sidebar's **Lead names** (e.g. `{own[0]}=I`).")
    missing = unmeasured_table(beat)
    if not missing.empty:
        st.markdown("**Not measured**  \n" + "\n".join(
            f"- {row.Measure}: {row[2]}" for row in missing.itertuples()))
    leads = lead_status_table(beat)
    if not leads.empty:
        st.markdown("**Leads not drawn**  \n" + "\n".join(
            f"- {row.Lead}: {row.Status} ({row.Why})" for row in leads.itertuples()))


@st.cache_data(show_spinner=False, max_entries=64)
def file_lead_names(path: str, record_id: str) -> tuple[str, ...]:
    """The lead names as the record's file writes them (empty when the reader keeps none)."""
    try:
        record = load_source(path).read(record_id)
    except RecordError:
        return ()
    return tuple((record.metadata.get("lead_names") or {}).values())


def unmatched_map_names(lead_map: LeadMap, names: tuple[str, ...]) -> list[str]:
    """The lead map's names that match none of ``names`` (compared as the reader compares
    them: case and surrounding spaces ignored)."""
    own = {n.strip().upper() for n in names}
    return [a for a, _ in lead_map if a.strip().upper() not in own]


def lead_map_warning(path: str, record_id: str, lead_map: LeadMap) -> None:
    """A warning naming the sidebar's lead-map entries that match no lead of this record."""
    if not lead_map:
        return
    names = file_lead_names(path, record_id)
    unmatched = unmatched_map_names(lead_map, names) if names else []
    if unmatched:
        st.warning(f"Lead names: {', '.join(f'`{n}`' for n in unmatched)} "
                   f"match{'es' if len(unmatched) == 1 else ''} no lead of record {record_id} "
                   f"(its file names {', '.join(f'`{n}`' for n in names)}).",
                   icon=":material/warning:")


def strip_start(beat: BeatResult, record_id: str) -> float:
    """The start (s) of the strip drawn: a slider for a recording longer than :data:`STRIP_S`."""
    seconds = beat.signal.shape[1] / beat.fs
    if seconds <= STRIP_S + 2.0:  # a 10-s ECG (a few extra seconds drawn whole)
        return 0.0
    last = float(math.floor(seconds - STRIP_S))
    if not 0.0 <= float(st.session_state.get(STRIP_KEY, 0.0)) <= last:
        st.session_state[STRIP_KEY] = 0.0  # a start beyond this (shorter) record
    return float(st.slider(f"Strip start (s) · the recording lasts {seconds / 60:.1f} min",
                           0.0, last, step=1.0, key=STRIP_KEY,
                           help=f"{STRIP_S:g} s are drawn on ECG paper at once (time from the "
                                "strip's start); the beats and intervals are measured over the "
                                "whole recording."))


def first_analysable(path: str, ids: list[str], limit: int = MAX_TRIED, lead_map: LeadMap = ()
                     ) -> tuple[str | None, dict[str, str]]:
    """(the first record of ``ids`` that the pipeline can analyse, or None within ``limit``
    tries; ``{record id: reason}`` of the ones before it that it could not)."""
    skipped: dict[str, str] = {}
    for rid in ids[:limit]:
        result = analyse(path, rid, lead_map)
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
def interval_confidence(beat: BeatResult) -> dict[str, dict]:
    """How sure each interval of an analysed record is (``BeatResult.confidence``: each
    kept beat delineated on its own, the spread of its intervals), cached per record."""
    return beat.confidence()


def with_confidence(table: pd.DataFrame, confidence: dict[str, dict]) -> pd.DataFrame:
    """The intervals table with, beside each delineated interval, the beats that gave it,
    their spread (IQR, ms) and a flag: ``ok``, ``uncertain`` (fewer than three beats, an
    IQR beyond the IEC tolerance, or a T end that hangs on which lobe is the T peak) or
    ``absent`` (no P wave / no T end found)."""
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
    lead_map = current_lead_map(path)
    try:
        source = load_source(path, lead_map)
    except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, OSError) as exc:
        st.error(f"Cannot open the dataset: {exc}")  # the message names the path
        return
    ids = source.record_ids
    meta = source.metadata
    kind = {"ptbxl": "PTB-XL", "folder": "WFDB folder"}.get(source.kind, source.kind)
    st.caption(f"{source.name} · {kind} · {len(ids)} records")

    if st.session_state.get(RECORD_KEY) not in ids:  # none yet, or one of another dataset
        st.session_state.pop(RECORD_KEY, None)
        first, skipped = first_analysable(path, ids, lead_map=lead_map)
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
    if record_id is None:
        st.info("The dataset lists no records.")
        return

    analysed = analyse(path, record_id, lead_map)
    if isinstance(analysed, str):
        st.error(f"Record {record_id} cannot be analysed: {analysed}")
        return
    beat, record_fs = analysed
    shown = [beat.leads[i] for i in drawn_leads(beat)]
    layouts = layouts_for(beat)
    if st.session_state.get(LAYOUT_KEY) not in layouts:
        st.session_state[LAYOUT_KEY] = next(iter(layouts))
    layout_name = lay.radio("Layout", list(layouts), key=LAYOUT_KEY, horizontal=True,
                            help=None if layouts is LAYOUTS else
                            "The 3×4 print needs the 12 standard leads; this record's leads "
                            "are drawn one under the other.")
    lead_map_warning(path, record_id, lead_map)
    start_s = strip_start(beat, record_id)
    paper, median = figures(path, record_id, layouts[layout_name], lead_map, start_s)

    cfg = PipelineConfig()
    report = meta.loc[record_id].get("report")
    title = ("12-lead ECG" if twelve_lead_print(beat)
             else f"{len(shown)}-lead ECG ({', '.join(shown)})")
    st.subheader(f"{title} · record {record_id}")
    st.caption(
        (f"Report: {report.strip()}  \n" if isinstance(report, str) and report.strip() else "")
        + f"Recorded at {record_fs:g} Hz, shown at {beat.fs:g} Hz after the pipeline's filter "
        f"(high-pass {cfg.highpass_hz:g} Hz, {cfg.powerline_hz:g} Hz notch) · "
        "▼ R peaks with RR intervals (ms) · each row starts with a 1 mV calibration pulse."
        + ("  \nLeads read through the sidebar's lead map: "
           + ", ".join(f"{a} → {b}" for a, b in lead_map) if lead_map else "")
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
                                interval_confidence(beat))
        st.table(table.style.format({"Value": "{:.0f}", "Beats": "{:.0f}", "IQR (ms)": "{:.0f}"},
                                    na_rep="—").hide(axis="index"))
        used = leads_used(beat)
        st.caption("Global measures on the median beat over the leads used (QRS axis from "
                   "I and aVF); — = not measurable, e.g. no P wave found. Beats / IQR: the "
                   "single beats that give the interval and their spread; uncertain = fewer "
                   "than 3 beats or IQR beyond the IEC tolerance (P 15, PR 10, QRS 10, "
                   "QT 30 ms), and for the QT a T end that moves over 30 ms with the choice "
                   f"of the T wave's peak lobe. Leads used ({len(used)}): {', '.join(used)}.")
        if beat.one_lead_qrs_beats:  # docs/DELINEATION.md log item 27
            st.caption(f"One lead: its QRS duration is the learned segmenter's median over "
                       f"{len(beat.one_lead_qrs_beats)} beats (Beats / IQR of those beats); "
                       "the shading and the other intervals are the rules' on the median "
                       "beat.")
        if beat.pacing is not None:  # pacing spikes, found on the raw signal
            st.caption(beat.pacing.describe())
        table_download(table, f"intervals_{record_id}", label="Intervals (CSV)")
        lead_sections(beat)  # under the intervals: the leads not drawn, measures not taken


main()
