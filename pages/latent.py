"""Latent space view: every record of the first chosen run's dataset as a point of a 2-D map
of its latent means (a projection, or two latent units on raw axes), coloured by a label; a
click on a point (or a lasso) selects records: their label mix and a record's median beat
against the model's reconstruction.

Every number comes from ``ecgcore`` (:class:`ecgcore.runs.Run` encodes,
projects and caches on disk next to the run); figures from ``ecgcore.viz``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ecgcore.data.label_columns import (
    category_names,
    grouped_label_name,
    label_kinds,
    label_name,
    selection_summary,
)
from ecgcore.runs import PROJECTIONS, Run, RunError
from ecgcore.viz import latent_scatter_figure, plotly_config, reconstruction_figure, selected_rows
from ui.downloads import download_buttons, table_download
from ui.labels import attached_columns, with_labels
from ui.runs import open_run

RUNS = "runs"  # set by app.py's run picker
DATASET_PATH = "dataset_path"  # set by app.py's dataset picker
METHOD_KEY, COLOR_KEY, SOURCE_KEY, CHART_KEY = (
    "latent_method", "latent_color", "latent_source", "latent_map")
X_UNIT_KEY, Y_UNIT_KEY = "latent_x_unit", "latent_y_unit"
UNITS = "units"  # the raw-axis choice beside the projections: two latent units, no projection
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP", UNITS: "Two latent units"}
#: What computing a projection costs, said before the user asks for it.
COST = {"tsne": "about 20 s per 5,000 records", "umap": "about a minute the first time"}
SOURCES = {"own": "The run's own data", "sidebar": "The sidebar's dataset"}
SHOWN_LEADS = ("II", "V5")
# app.py's sidebar state, set by "Open in Data view"
DATASET_CHOICE, DATASET_FOLDER, OTHER_FOLDER = "dataset_choice", "dataset_folder", "Another folder…"
DATASET_DEFAULT, DATASET_DEFAULT_LABEL = "dataset_default", "dataset_default_label"
DATA_RECORD, GO_TO_DATA = "data_record", "latent_go_to_data"
#: Labels summarised for a selection besides the colour label.
SUMMARY_LABELS = ("age", "sex", "superclass_NORM", "superclass_MI", "superclass_STTC",
                  "superclass_CD", "superclass_HYP")


def main() -> None:
    if st.session_state.pop(GO_TO_DATA, False):
        st.switch_page("pages/data.py")
    st.title("Latent space")
    runs = st.session_state.get(RUNS) or []
    if not runs:
        st.info("Choose a run in the sidebar (**Runs**) to map its latent space.")
        return
    run = runs[0]
    source = st.radio("Records", list(SOURCES), key=SOURCE_KEY, horizontal=True,
                      format_func=SOURCES.get,
                      help="The run's own data is the dataset it was trained on; the sidebar's "
                           "dataset is encoded (and preprocessed) the first time it is used.")
    data = (st.session_state.get(DATASET_PATH) or None) if source == "sidebar" else None
    if source == "sidebar" and not data:
        st.info("Choose a dataset folder in the sidebar.")
        return
    art = open_run(run, data)
    try:
        with st.spinner(f"Loading {Path(run).name}…"):
            _ = art.model
        with st.spinner("Encoding every record (once; cached next to the run)…"):
            table = art.embedding
    except RunError as exc:
        st.error(str(exc))
        return

    table, attachment = with_labels(table)  # the sidebar's labels table, joined in memory
    attached = attached_columns(table)
    kinds = label_kinds(table)
    st.caption(f"Run **{Path(run).name}** · {art.model_name} · {art.latent_dim} latent units · "
               f"{len(table):,} records of `{art.cache.path}`"
               + (f" · labels {attachment.summary}" if attachment else "")
               + (f" · {len(runs) - 1} more run(s) chosen; this view shows the first"
                  if len(runs) > 1 else ""))

    skipped_records(art, len(table))
    c_method, c_color = st.columns([2, 3], vertical_alignment="bottom")
    method = c_method.radio("Map", [*PROJECTIONS, UNITS], key=METHOD_KEY, horizontal=True,
                            format_func=METHOD_NAMES.get,
                            help="A 2-D projection of all latent units, or two chosen units "
                                 "against each other on their own (raw) axes.")
    if not kinds:
        st.warning("The records table has no label columns to colour by.")
        color = None
    else:
        color = c_color.selectbox(
            "Colour by", list(kinds), key=COLOR_KEY,
            format_func=lambda c: grouped_label_name(c, attached),
            help="Numbers (age, intervals…) on a colour scale; flags and categories (sex, "
                 "diagnostic classes) as groups. 'Your labels' come from the sidebar's labels "
                 "table; 'Metadata' are the dataset's own raw columns.")

    if method == UNITS:
        xy, axis_titles = unit_axes(art)
        if xy is None:
            return
    else:
        xy, axis_titles = projected(art, method, len(table)), None
        if xy is None:
            return

    if color is None:
        values, kind, label = ["all"] * len(table), "categorical", "records"
    elif kinds[color] == "categorical":
        values, kind, label = category_names(table[color], color), "categorical", label_name(color)
    else:
        values, kind, label = table[color], "continuous", label_name(color)
    fig = latent_scatter_figure(xy, values, kind=kind, label=label,
                                record_ids=table["record_id"].astype(str).to_numpy(),
                                method=method, axis_titles=axis_titles)
    stem = f"latent_{Path(run).name}_" + (
        "_".join(axis_titles) if axis_titles else method)
    config = plotly_config(stem)
    config["modeBarButtonsToRemove"] = []  # box and lasso select are this view's tools

    map_col, side = st.columns([3, 2])
    with map_col:
        event = st.plotly_chart(fig, key=CHART_KEY, on_select="rerun",
                                selection_mode=("box", "lasso", "points"), theme=None,
                                config=config)
        st.caption("Click a point to select its record (shift-click adds more); lasso or box "
                   "select from the toolbar for a group; drag to zoom; double-click to clear.")
        download_buttons(fig, stem)
        table_download(table, f"embedding_{Path(run).name}", parquet=True,
                       label="Embedding (Parquet)")
    rows = selected_rows(event.selection.points) if event and event.selection else []
    rows = [r for r in rows if 0 <= r < len(table)]  # a selection made on another dataset
    with side:
        record_panel(art, table, rows)
    if rows:
        label_mix(table, kinds, rows, color)


def projected(art: Run, method: str, n: int):
    """The run's cached projection ``[N, 2]``, or None (drawn: a button to compute a slow
    one, or the error)."""
    if method != "pca" and not art.has_projection(method):
        name = METHOD_NAMES[method]
        st.info(f"{name} of {n:,} records is not computed yet ({COST[method]}); "
                "it is cached next to the run once done.")
        if not st.button(f"Compute {name}", key=f"latent_compute_{method}"):
            return None
    try:
        with st.spinner(f"Projecting with {METHOD_NAMES[method]}…"):
            return art.projection(method)
    except (RunError, ValueError) as exc:
        st.error(f"{METHOD_NAMES[method]} failed: {exc}")
        return None


def unit_axes(art: Run):
    """Two latent units picked by the user (by default a split-task model's two task units,
    else the two widest) and their raw axes:
    ``(xy [N, 2], ("z3", "z7"))``, or ``(None, None)`` after an error."""
    try:
        order = art.units_by_spread()
    except (RunError, ValueError) as exc:
        st.error(str(exc))
        return None, None
    sd = dict(order)
    task = art.task_units()  # a split-task VAE's prediction units come first (seed 001)
    units = task + [u for u, _ in order if u not in task]
    if len(units) < 2:
        st.warning(f"{art.name} has a single latent unit: no pair to plot.")
        return None, None
    c_x, c_y, _ = st.columns([1, 1, 2])

    def fmt(u: int) -> str:
        return f"z{u} ({'task unit, ' if u in task else ''}SD {sd[u]:.3g})"

    x_unit = c_x.selectbox("x axis", units, index=0, key=X_UNIT_KEY, format_func=fmt,
                           help="A split-task model's task units first (the ones its head "
                                "reads), then the others by their spread across records (SD "
                                "of the latent mean): a unit that barely moves is inactive.")
    y_unit = c_y.selectbox("y axis", units, index=1, key=Y_UNIT_KEY, format_func=fmt)
    try:
        xy = art.unit_axes(x_unit, y_unit)
    except RunError as exc:
        st.error(str(exc))
        return None, None
    return xy, (f"z{x_unit}", f"z{y_unit}")


def skipped_records(art: Run, n_shown: int) -> None:
    """The points shown against the dataset's records, and why the others are not there
    (the cache's manifest: records the beat pipeline could not use)."""
    manifest = art.cache.manifest
    skipped = manifest[manifest["status"] != "ok"] if "status" in manifest.columns else manifest[:0]
    total = n_shown + len(skipped)
    if skipped.empty:
        st.caption(f"{n_shown:,} points: every one of the dataset's {total:,} records.")
        return
    with st.expander(f"{n_shown:,} points of {total:,} records: {len(skipped):,} records "
                     "skipped — why"):
        reasons = skipped["reason"].replace("", "no reason recorded").value_counts()
        st.dataframe(reasons.rename_axis("Reason").reset_index(name="Records"),
                     hide_index=True)
        st.dataframe(skipped[["record_id", "reason"]].rename(
            columns={"record_id": "Record", "reason": "Reason"}), hide_index=True)


def open_in_data_view(art: Run, record_id: str) -> None:
    """Point the sidebar's dataset at the folder the run's cache was built from and the
    Data view's record picker at ``record_id`` (a button callback: it runs before the
    sidebar's widgets are drawn again)."""
    source = str(art.cache.info.get("source") or "")
    if source and source != st.session_state.get(DATASET_PATH):
        default = st.session_state.get(DATASET_DEFAULT)
        if source == default:
            st.session_state[DATASET_CHOICE] = st.session_state.get(DATASET_DEFAULT_LABEL)
            st.session_state[DATASET_PATH] = source
        elif st.session_state.get("dataset_other_allowed"):  # not in clinic mode
            st.session_state[DATASET_CHOICE] = OTHER_FOLDER
            st.session_state[DATASET_FOLDER] = source
            st.session_state[DATASET_PATH] = source
    st.session_state[DATA_RECORD] = record_id
    st.session_state[GO_TO_DATA] = True


def record_label(table, row: int) -> str:
    """'record 12 · 56 y · F · NORM, MI' from the columns the table has."""
    rec = table.iloc[row]
    parts = [f"record {rec['record_id']}"]
    if "age" in table.columns and rec["age"] == rec["age"]:
        parts.append(f"{rec['age']:.0f} y")
    if "sex" in table.columns and isinstance(rec["sex"], str):
        parts.append(rec["sex"])
    classes = rec["superclasses"] if "superclasses" in table.columns else None
    if classes is not None and not isinstance(classes, float):
        parts.append(", ".join(map(str, classes)) or "no diagnostic class")
    return " · ".join(parts)


def record_panel(art: Run, table, rows: list[int]) -> None:
    """The selection's size, a record picker among the selected records and the picked
    record's median beat against the model's reconstruction."""
    if not rows:
        st.subheader("Selection")
        st.info("Select records on the map to see their label mix and a record's median "
                "beat against the model's reconstruction.")
        return
    st.subheader(f"Selection: {len(rows):,} of {len(table):,} records")
    row = st.selectbox("Record", rows, key="latent_record",
                       format_func=lambda r: record_label(table, r),
                       help="The selected records, in the order of the selection.")
    rid = str(table["record_id"].iloc[row])
    beat = art.beat(row)
    try:
        recon, note = art.reconstruction(row), ""
    except RunError as exc:
        recon, note = None, f" No reconstruction: {exc}"
    leads = art.leads
    show = [lead for lead in SHOWN_LEADS if lead in leads] or leads[:2]
    fig = reconstruction_figure(beat, recon, art.fs, leads, art.r_index, show=show,
                                px_per_mm=11.0, max_height_px=420)
    st.plotly_chart(fig, key="latent_beat", theme=None,
                    config=plotly_config(f"reconstruction_{rid}"), width="content")
    download_buttons(fig, f"reconstruction_{rid}")
    st.caption(f"Median beat of record {rid} (black) and the model's reconstruction from its "
               f"latent mean (blue), leads {' and '.join(show)}.{note}")
    st.button("Open in Data view", key="latent_open_data", icon=":material/open_in_new:",
              on_click=open_in_data_view, args=(art, rid),
              help="The record's 12-lead ECG, median beats and intervals.")


def label_mix(table, kinds: dict[str, str], rows: list[int], color: str | None) -> None:
    """The labels of the selected records against all records."""
    st.subheader("Label mix of the selection")
    columns = ([color] if color else []) + [c for c in SUMMARY_LABELS if c != color]
    summary = selection_summary(table, rows, kinds, columns)
    mix, _ = st.columns([3, 2])
    mix.dataframe(summary, hide_index=True, width="stretch",
                  column_config={"label": "Label", "selection": f"Selection ({len(rows):,})",
                                 "all": f"All records ({len(table):,})"})
    mix.caption("Numbers: median (interquartile range); flags and categories: share of records.")
    with mix:
        table_download(summary, "label_mix", label="Label mix (CSV)")

main()
