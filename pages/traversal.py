"""Factor traversal view: what one latent unit does to the beat from −3σ to +3σ.

The chosen unit moves over the cohort's spread (every other unit at the cohort mean) and the
decoder draws each step on ECG paper; the figure's own (Plotly) slider moves the black,
highlighted step in the browser, with no rerun. The factor annotation says which classical
measurements change with it. Every number comes from ``ecgcore``
(:class:`ecgcore.runs.Run`, cached on disk next to the run).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ecgcore.explain.annotation import units_by_effect
from ecgcore.explain.wording import lost_waves, unit_words
from ecgcore.runs import RunError, run_stamp
from ecgcore.viz import plotly_config, sigma_label, traversal_figure
from ui.downloads import download_buttons, table_download
from ui.runs import open_run

RUNS = "runs"  # set by app.py's run picker
RUN_KEY, UNIT_KEY, LEADS_KEY = "traversal_run", "traversal_unit", "traversal_leads"
N_STEPS, SPAN = 7, 3.0
TOP = 8  # measurements beside the figure
LEAD_CHOICES = {"II, V2, V5": ("II", "V2", "V5"), "All leads": None}


def num(spec: str):
    """A Styler formatter: ``spec`` with a typographic minus, '—' for a missing value,
    never −0."""
    def fmt(v) -> str:
        if pd.isna(v):
            return "—"
        text = format(v, spec)
        if float(text) == 0:
            text = format(0.0, spec.replace("+", ""))
        return text.replace("-", "−")
    return fmt


def words(ann, unit: int) -> str:
    """The unit in a clinician's words (ecgcore.explain.wording)."""
    return unit_words(unit, ann.table[ann.table["unit"] == unit], SPAN)


def unit_table(ann, unit: int) -> pd.DataFrame:
    """The annotation rows of one unit, for display: biggest change (in cohort SDs) first,
    the values at −3σ, 0σ (the cohort mean) and +3σ."""
    rows = ann.table[ann.table["unit"] == unit].copy()
    rows["at_mean"] = rows["measurement"].map(ann.traversals[unit].iloc[N_STEPS // 2])
    rows = rows.assign(order=rows["change_sd"].abs()).sort_values(
        "order", ascending=False, na_position="last")
    return pd.DataFrame({
        "Measurement": rows["label"].to_numpy(),
        f"at {sigma_label(-SPAN)}": rows["at_minus"],
        f"at {sigma_label(0.0)}": rows["at_mean"],
        f"at {sigma_label(SPAN)}": rows["at_plus"],
        "Change": rows["change"],
        "Unit": rows["uom"],
        "Change (cohort SD)": rows["change_sd"],
        "ρ along steps": rows["rho_steps"],
        "ρ in cohort": rows["cohort_rho"],
        "Monotonic": rows["monotonic"].map({True: "yes", False: "no"}),
    }).reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=64)
def unit_figure(run: str, stamp: tuple[int, int], unit: int, show: tuple[str, ...] | None):
    """The traversal figure of one unit with its step slider (0σ highlighted first): a step
    restyles the figure in the browser, so it is drawn once per run, unit and leads."""
    art = open_run(run)
    sigmas, _, beats = art.traversal(unit, N_STEPS, SPAN)
    return traversal_figure(beats, sigmas, art.fs, art.leads, art.r_index,
                            show=[lead for lead in show if lead in art.leads] if show else None,
                            highlight=N_STEPS // 2, slider=True, unit_name=f"z{unit}",
                            px_per_mm=14.0 if show else 10.0,
                            max_height_px=560 if show else 700)


def figure_view(run: str, ann, unit: int, show, values) -> None:
    """The figure with its step slider, and the top measurements along the unit."""
    fig = unit_figure(run, run_stamp(run), unit, tuple(show) if show else None)
    fig_col, text_col = st.columns([3, 2]) if show else (st.container(), st.container())
    with fig_col:
        st.plotly_chart(fig, key="traversal_beats", theme=None, width="content",
                        config=plotly_config(f"traversal_{Path(run).name}_z{unit}"))
        download_buttons(fig, f"traversal_{Path(run).name}_z{unit}")
        st.caption(f"z{unit} runs from {values[0]:.3g} at {sigma_label(-SPAN)} to "
                   f"{values[-1]:.3g} at {sigma_label(SPAN)} (cohort mean "
                   f"{values[N_STEPS // 2]:.3g}, σ {(values[-1] - values[0]) / (2 * SPAN):.3g}). "
                   "Colours run from blue (−) through grey (0) to orange (+); black: the step "
                   "chosen on the slider under the figure (it moves in the browser, at once). "
                   "Downloads show 0σ in black.")
    with text_col:
        st.subheader(f"What z{unit} changes")
        st.markdown(f"**{words(ann, unit)}**")
        top = unit_table(ann, unit).head(TOP).copy()
        top["Measurement"] = top["Measurement"] + " (" + top["Unit"] + ")"
        keep = [c for c in top.columns if c == "Measurement" or c.startswith("at ")] + \
            ["ρ in cohort"]
        st.table(top[keep].style.format(
            {**dict.fromkeys(keep[1:-1], num(".0f")), "ρ in cohort": num("+.2f")})
            .hide(axis="index"))
        st.caption(f"The {TOP} measurements that change most along z{unit} (in cohort SDs), "
                   f"measured on the decoded beats at {sigma_label(-SPAN)}, "
                   f"{sigma_label(0.0)} (the cohort mean) and {sigma_label(SPAN)}; ρ in "
                   f"cohort: Spearman of z{unit} with the measurement over the cohort's "
                   "records.")
        rows = ann.table[ann.table["unit"] == unit]
        for note in lost_waves(rows, ann.traversals[unit].iloc[N_STEPS // 2], SPAN):
            st.caption(f"— {note}.")


def all_measurements(run: str, ann, unit: int, show) -> None:
    """Every measurement of the unit at −3σ, the cohort mean and +3σ."""
    table = unit_table(ann, unit)
    with st.expander(f"All measurements along z{unit}", expanded=not show):
        values_fmt = dict.fromkeys([c for c in table.columns if c.startswith("at ")], num(".0f"))
        st.table(table.style.format(
            {**values_fmt, "Change": num("+.0f"), "Change (cohort SD)": num("+.2f"),
             "ρ along steps": num("+.2f"), "ρ in cohort": num("+.2f")}).hide(axis="index"))
        st.caption("Delineation of each decoded beat → intervals, axis, amplitudes and the ST "
                   "level at J + 60 ms. ρ along steps: Spearman of the measurement with the "
                   "step; monotonic: never reverses and changes overall. Sorted by the change "
                   "from −3σ to +3σ in cohort SDs.")
        table_download(table, f"traversal_{Path(run).name}_z{unit}_measurements",
                       label="Measurements (CSV)")


def main() -> None:
    st.title("Factor traversal")
    runs = st.session_state.get(RUNS) or []
    if not runs:
        st.info("Choose a run in the sidebar (**Runs**) to traverse its latent units.")
        return
    if len(runs) > 1:
        run = st.selectbox("Run", runs, key=RUN_KEY, format_func=lambda p: Path(p).name)
    else:
        run = runs[0]
    art = open_run(run)
    try:
        with st.spinner(f"Loading {Path(run).name}…"):
            _ = art.model
        with st.spinner("Encoding the cohort and annotating every unit (once; cached next to "
                        "the run)…"):
            ann = art.annotation(N_STEPS, SPAN)
    except RunError as exc:
        st.error(str(exc))
        return
    st.caption(f"Run **{Path(run).name}** · {art.model_name} · {art.latent_dim} latent units · "
               f"cohort: {art.n_records:,} records of `{art.cache.path}`. Each unit moves from "
               f"−{SPAN:g}σ to +{SPAN:g}σ of its spread in the cohort, every other unit held at "
               "the cohort mean; the decoder draws the beats.")

    c_unit, c_leads = st.columns([3, 2], vertical_alignment="bottom")
    unit = c_unit.selectbox("Latent unit", units_by_effect(ann.table), key=UNIT_KEY,
                            format_func=lambda u: words(ann, u),
                            help="Strongest first: units whose beat measurements change "
                                 "monotonically and most (in cohort SDs) from −3σ to +3σ.")
    lead_choice = c_leads.radio("Leads", list(LEAD_CHOICES), key=LEADS_KEY, horizontal=True)
    try:
        _, values, _ = art.traversal(unit, N_STEPS, SPAN)
    except RunError as exc:
        st.error(str(exc))
        return
    figure_view(run, ann, unit, LEAD_CHOICES[lead_choice], values)
    all_measurements(run, ann, unit, LEAD_CHOICES[lead_choice])
    with st.expander("Every unit in one sentence"):
        st.markdown("\n".join(f"- {words(ann, u)}" for u in units_by_effect(ann.table)))

main()
