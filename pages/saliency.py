"""Saliency view: which part of the beat a prediction looks at.

Pick a predictor (a task head's output or a latent unit of a chosen run), an attribution
method and a record: the attribution is drawn along the record's median beat on ECG paper
(along its whole 10-s signal for models that read signals: cnn_baseline, st_mem,
ecg_jepa), with bars per P/QRS/ST/T region and per lead, the same columns for both kinds;
on a median beat the P/QRS/ST/T regions that the bars sum over are shaded. Under each
figure, what the predictor says about the record: a task head's predicted probability for
its class (with the record's own label when the dataset has it), or a unit's latent mean.
A second predictor (of any chosen run) can be set beside it; the class average sums the
attribution of a capped sample of records per class, by any categorical label of the
dataset or of the sidebar's labels table. Every number comes from ``ecgcore``
(:mod:`ecgcore.runs.saliency`, cached on disk next to the run); figures from
``ecgcore.viz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore.data.label_columns import grouped_label_name, label_kinds
from ecgcore.explain.saliency import METHODS
from ecgcore.runs import Run, RunError
from ecgcore.runs.clustering import clustering_labels
from ecgcore.runs.saliency import (
    MAX_CLASS_RECORDS,
    METHOD_NAMES,
    ClassSaliency,
    Predictor,
    PredictorOutput,
    class_saliency,
    has_class_saliency,
    is_signal_model,
    predictor_output,
    predictors,
    record_rpeaks,
    record_saliency,
    record_signal,
    region_table,
)
from ecgcore.viz import (
    plotly_config,
    region_bars_figure,
    saliency_beat_figure,
    saliency_signal_figure,
)
from ui.downloads import download_buttons, table_download
from ui.labels import attached_columns, with_labels
from ui.runs import open_run

RUNS = "runs"  # set by app.py's run picker
PRED_KEY, SECOND_KEY, METHOD_KEY, RECORD_KEY, LEADS_KEY, ABS_KEY, LABEL_KEY = (
    "sal_predictor", "sal_second", "sal_method", "sal_record", "sal_leads", "sal_abs",
    "sal_label")
LEAD_CHOICES = {"II, V2, V5": ("II", "V2", "V5"), "All leads": None}
NONE = "—"
#: What one record costs, said before the class average is asked for: a small median-beat
#: model, and a default-width cnn_baseline on 10-s signals at 100–500 Hz (one CPU thread).
COST = {"integrated_gradients": "about 0.1 s", "saliency": "a few ms",
        "gradient_shap": "about 0.05 s", "occlusion": "about 0.3 s"}
COST_SIGNAL = {"integrated_gradients": "about 0.5 s", "saliency": "a few ms",
               "gradient_shap": "about 0.1 s", "occlusion": "3–12 s"}


def load(runs: list[str]) -> dict[str, tuple[Run, list[Predictor]]]:
    """The chosen runs that load and have predictors; a warning for each that does not."""
    out = {}
    for run in runs:
        art = open_run(run)
        try:
            with st.spinner(f"Loading {Path(run).name}…"):
                preds = predictors(art)
                _ = art.cache
        except RunError as exc:
            st.warning(f"{Path(run).name}: {exc}", icon=":material/warning:")
            continue
        if not preds:
            st.warning(f"{Path(run).name} ({art.model_name}) has no differentiable predictor "
                       "(no task head, no neural encoder): nothing to explain.", icon=":material/warning:")
            continue
        out[run] = (art, preds)
    return out


def record_label(records: pd.DataFrame, row: int) -> str:
    """'record 12 · 56 y · F · NORM, MI' from the columns the table has."""
    rec = records.iloc[row]
    parts = [f"record {rec['record_id']}"]
    if "age" in records.columns and rec["age"] == rec["age"]:
        parts.append(f"{rec['age']:.0f} y")
    if "sex" in records.columns and isinstance(rec["sex"], str):
        parts.append(rec["sex"])
    classes = rec["superclasses"] if "superclasses" in records.columns else None
    if classes is not None and not isinstance(classes, float):
        parts.append(", ".join(map(str, classes)) or "no diagnostic class")
    return " · ".join(parts)


def main() -> None:
    st.title("Saliency")
    runs = st.session_state.get(RUNS) or []
    if not runs:
        st.info("Choose a run in the sidebar (**Runs**): a task model (task_vae, "
                "split_task_vae, ecg_sl, cnn_baseline…) or any neural encoder.")
        return
    loaded = load(runs)
    if not loaded:
        return
    options = {f"{run}|{p.key}": (run, p) for run, (_, preds) in loaded.items() for p in preds}
    many = len(loaded) > 1

    def name(opt: str) -> str:
        if opt == NONE:
            return "none"
        run, p = options[opt]
        return f"{Path(run).name}: {p.label}" if many else p.label

    c_pred, c_method = st.columns([3, 2], vertical_alignment="bottom")
    first = c_pred.selectbox("Predictor", list(options), key=PRED_KEY, format_func=name,
                             help="A task head's output (logit) or a latent unit's mean.")
    method = c_method.radio("Method", METHODS, key=METHOD_KEY, horizontal=True,
                            format_func=METHOD_NAMES.get)
    run, pred = options[first]
    art = loaded[run][0]
    records = art.cache.records.reset_index(drop=True)
    c_rec, c_second, c_leads = st.columns([3, 3, 2], vertical_alignment="bottom")
    row = c_rec.selectbox("Record", range(len(records)), key=RECORD_KEY,
                          format_func=lambda r: record_label(records, r))
    second = c_second.selectbox("Beside it", [NONE] + [o for o in options if o != first],
                                key=SECOND_KEY, format_func=name,
                                help="A second predictor on the same record, side by side.")
    lead_choice = c_leads.radio("Leads", list(LEAD_CHOICES), key=LEADS_KEY, horizontal=True)
    absolute = st.toggle("Bars: sum of |attribution| (where the model looks, either sign)",
                         value=True, key=ABS_KEY)
    st.caption(f"Run **{Path(run).name}** · {art.model_name} · {art.n_records:,} records of "
               f"`{art.cache.path}`. Attribution in the predictor's units per input sample "
               f"({METHOD_NAMES[method]}; IG from a zero baseline, the isoelectric line).")

    rid = str(records["record_id"].iloc[row])
    picks = [(run, pred)] + ([options[second]] if second != NONE else [])
    show = LEAD_CHOICES[lead_choice]
    series: dict[str, pd.Series] = {}
    kinds: set[bool] = set()  # True: a signal model was drawn; False: a median beat
    cols = st.columns(len(picks))
    for col, (p_run, p) in zip(cols, picks):
        p_art = loaded[p_run][0]
        p_row = _same_record(p_art, rid, row if p_run == run else None)
        label = f"{Path(p_run).name}: {p.label}" if many else p.label
        with col:
            if p_row is None:
                st.warning(f"Record {rid} is not in the data of {Path(p_run).name}.")
                continue
            try:
                with st.spinner(f"{METHOD_NAMES[method]} of {p.label} (cached next to the "
                                "run)…"):
                    attr = record_saliency(p_art, p, method, p_row)
                    signal = is_signal_model(p_art)
                    peaks = record_rpeaks(p_art, [p_row]) if signal else None
            except RunError as exc:
                st.error(str(exc))
                continue
            leads = [lead for lead in show if lead in p_art.leads] if show else None
            common = {"show": leads, "label": METHOD_NAMES[method],
                      "title": label if len(picks) > 1 else None}
            if signal:
                fig = saliency_signal_figure(record_signal(p_art, p_row), attr, p_art.fs,
                                             p_art.leads, peaks[0], **common,
                                             px_per_mm=4.6 if len(picks) == 1 else 2.4)
            else:
                fig = saliency_beat_figure(
                    p_art.beat(p_row), attr, p_art.fs, p_art.leads, p_art.r_index, **common,
                    px_per_mm=12.0 if show and len(picks) == 1 else 7.0,
                    max_height_px=520 if show else 640,
                    fiducials=np.asarray(p_art.cache.fiducials)[p_row])
            kinds.add(signal)
            stem = f"saliency_{Path(p_run).name}_{p.key}_{method}_{rid}"
            # a 10-s strip fills its column; a beat keeps its natural (paper) size
            st.plotly_chart(fig, theme=None, config=plotly_config(stem),
                            width="stretch" if signal else "content",
                            key=f"sal_beat_{p_run}_{p.key}")
            output_line(p_art, p, p_row)
            download_buttons(fig, stem)
            series[label] = region_table(p_art, attr[None], [p_row], absolute, peaks).iloc[0]
    if not series:
        return
    drawn = " and ".join(
        [f"median beat of record {rid}"] * (False in kinds)
        + [f"cleaned 10-s signal of record {rid} (▼ R peaks)"] * (True in kinds))
    strip = ("; on a median beat the colours form a strip under the beat, sample for sample, "
             "and the P, QRS, ST and T regions of the bars below are shaded"
             if False in kinds else "")
    st.caption(f"The {drawn} in black, each sample coloured by its attribution (red raises "
               "the output, blue lowers it; the colour scale stops at the 99th percentile of "
               f"|attribution|){strip}.")
    value = "Σ |attribution|" if absolute else "Σ attribution"
    bars = region_bars_figure(series, art.leads, value_label=value)
    st.subheader("Per region and per lead")
    st.plotly_chart(bars, theme=None, config=plotly_config(f"saliency_regions_{rid}"),
                    key="sal_bars")
    download_buttons(bars, f"saliency_regions_{rid}_{method}")
    table = pd.DataFrame(series).T.rename_axis("predictor").reset_index()
    table_download(table, f"saliency_regions_{rid}_{method}", label="Table (CSV)")
    st.caption("Regions from the median beat's fiducials: P, QRS, ST (J to the midpoint "
               "before the T peak), T (to T end), other (the rest of the window); the five "
               "add up to the total, as do the leads."
               + (" For a model of 10-s signals the median beat's regions are placed at "
                  "every R peak (each beat cut at the midpoints to its neighbours), so its "
                  "sums run over all beats: compare the shares of the total between models."
                  if True in kinds else ""))
    class_average(art, run, pred, method, absolute)


def output_line(art: Run, pred: Predictor, row: int) -> None:
    """What the predictor says about the record, under its figure."""
    try:
        out: PredictorOutput = predictor_output(art, pred, row)
    except RunError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    if out.probability is None:
        st.markdown(f"Latent mean **{out.name} = {out.value:.3g}** for this record.")
        return
    flag = {1.0: "yes", 0.0: "no"}
    recorded = "" if out.recorded is None else \
        f" · recorded label: **{flag.get(out.recorded, f'{out.recorded:g}')}**"
    st.markdown(f"Predicted probability of **{out.name}: {out.probability:.2f}** "
                f"(logit {out.value:.2f}){recorded}")


def _same_record(art: Run, record_id: str, row: int | None) -> int | None:
    if row is not None:
        return row
    ids = art.cache.records["record_id"].astype(str).reset_index(drop=True)
    hit = np.flatnonzero(ids.to_numpy() == record_id)
    return int(hit[0]) if len(hit) else None


#: A class averaged over fewer records than this is flagged.
FEW_RECORDS = 20


def class_average(art: Run, run: str, pred: Predictor, method: str,
                  absolute: bool) -> None:
    """The attribution per region averaged per class over a capped sample of records."""
    st.subheader("Class average")
    # the sidebar's labels table joins in memory: its categorical columns are classes too
    records, _ = with_labels(art.cache.records.reset_index(drop=True))
    attached = attached_columns(records)
    labels = clustering_labels(records)
    if not labels:
        st.info("The records table has no class label to average by.")
        return
    label = st.selectbox("Classes", list(labels), key=LABEL_KEY,
                         format_func=lambda c: "Diagnostic superclass (records with one)"
                         if c == "superclass" else grouped_label_name(c, attached),
                         help="Any categorical label of the dataset, or of the labels table "
                              "attached in the sidebar ('Your labels').")
    numeric = sorted(c for c, k in label_kinds(records).items()
                     if k == "continuous" and c in attached)
    if numeric:
        st.caption(f"Numeric labels of your table ({', '.join(numeric)}) are not classes: "
                   "add a column of groups (e.g. LVEF < 40 %: yes/no) to average by them.")
    values = labels[label]
    if pd.api.types.is_numeric_dtype(values) and set(values.dropna().unique()) <= {0, 1}:
        values = values.map({0: "no", 1: "yes"})
    n = int(values.notna().sum())
    cap = min(n, MAX_CLASS_RECORDS)
    st.caption(f"Averaged over {cap:,} of the {n:,} records with a value (at most "
               f"{MAX_CLASS_RECORDS}, drawn per class in proportion, seed 0).")
    if not has_class_saliency(art, pred, method, label):
        per = f"{COST_SIGNAL[method]} per record on a model of 10-s signals" \
            if is_signal_model(art) else f"{COST[method]} per record on a small model"
        slot = st.empty()  # the banner and its button go once the average is asked for
        with slot.container():
            st.info(f"{METHOD_NAMES[method]} of {cap:,} records is not computed yet ({per}); "
                    "it is cached next to the run.")
            go = st.button(f"Compute the class average ({cap:,} records)", key="sal_class_go")
        if not go:
            return
        slot.empty()
    bar = st.progress(0.0, text="Attributing records…")
    try:
        result: ClassSaliency = class_saliency(
            art, pred, method, values, label,
            progress=lambda i, k: bar.progress(i / k, text=f"Attributing record {i} of {k}…"))
    except RunError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.empty()
    means = result.regions(art, absolute)
    few = [f"{c} ({int(means.loc[c, 'n'])})" for c in means.index
           if int(means.loc[c, "n"]) < FEW_RECORDS]
    if few:
        st.warning(f"Few records in {', '.join(few)}: an average over fewer than "
                   f"{FEW_RECORDS} records shows those records, not a class pattern.",
                   icon=":material/warning:")
    series = {f"{c} (n={int(means.loc[c, 'n'])})": means.loc[c] for c in means.index}
    fig = region_bars_figure(series, art.leads,
                             value_label="mean Σ |attribution|" if absolute else
                             "mean Σ attribution")
    stem = f"saliency_classes_{Path(run).name}_{pred.key}_{method}_{label}"
    st.plotly_chart(fig, theme=None, config=plotly_config(stem), key="sal_class_bars")
    download_buttons(fig, stem)
    table_download(means.rename_axis("class").reset_index(), stem, label="Table (CSV)")


main()
