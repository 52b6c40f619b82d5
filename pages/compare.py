"""Compare view: the chosen runs side by side — the ``ecgwb report`` table from each run's
``evaluation.json`` (a missing evaluation can be computed here), the training cohort and
every external cohort (``ecgwb evaluate RUN --data OTHER``) side by side, same-patient
re-identification, probes of the sidebar's attached labels (on request), the
label-fraction curves when the evaluations hold them, and one record's median beat with
every run's reconstruction over it (µV).

Every number comes from ``ecgcore`` and ``ecgcore.runs.evaluation`` (the same functions as
``ecgwb evaluate`` / ``ecgwb report``); figures from ``ecgcore.viz``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore.data.label_columns import label_name
from ecgcore.evaluate.glossary import glossary_markdown
from ecgcore.evaluate.report import comparison_table, format_table
from ecgcore.files import EVALUATION
from ecgcore.runs import Run, RunError, run_problem
from ecgcore.runs.attached import attached_label_scores
from ecgcore.runs.external import cohort_table
from ecgcore.viz import (
    beat_panels_figure,
    label_fraction_curves,
    label_fraction_figure,
    plotly_config,
)
from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME
from ui.downloads import download_buttons, table_download
from ui.labels import LABELS_NAME, with_labels
from ui.runs import open_runs

RUNS = "runs"  # set by app.py's run picker
RECORD_KEY, LEADS_KEY = "cmp_record", "cmp_leads"
ATTACHED_KEY, ATTACHED_SCORES = "cmp_attached_label", "cmp_attached_scores"
LEAD_CHOICES = {"II, V5": ("II", "V5"), "II, V2, V5": ("II", "V2", "V5"), "All leads": None}


def read_evaluation(run: str) -> tuple[dict | None, str]:
    """(report row, '') from a run's evaluation.json, or (None, what is wrong). The row
    names the run, the label its AUROC/F1/DBI are scored on, the scope and n."""
    from ecgcore.runs.evaluation import report_rows

    path = Path(run) / EVALUATION
    if not path.exists():
        return None, "missing"
    try:
        row = report_rows([Path(run)], baselines=False)[0]
        label = (json.loads(path.read_text()).get("downstream") or {}).get("label") or []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{EVALUATION} cannot be read ({type(exc).__name__}: {exc})"
    row["run"] = Path(run).name
    row["label"] = label_title(label)
    return row, ""


def label_title(label: list[str]) -> str:
    """'Myocardial infarction (MI)' for one label; several as their short names
    ('NORM + MI + STTC + CD + HYP'), so that the column stays narrow."""
    if not label:
        return "–"
    if len(label) == 1:
        return label_name(label[0])
    return " + ".join(c.removeprefix("superclass_") for c in label)


#: How each scope of ``ecgwb evaluate`` is said in the table.
SCOPES = {"test": "test split", "all": "all records (out-of-fold)"}


def fraction_curve(run: str) -> pd.DataFrame:
    """The run's label-fraction curve from evaluation.json (empty when it has none)."""
    try:
        ev = json.loads((Path(run) / EVALUATION).read_text())
        rows = pd.DataFrame((ev.get("downstream") or {}).get("rows") or [])
    except (OSError, ValueError):
        return label_fraction_curves(pd.DataFrame())
    return label_fraction_curves(rows)


def evaluate(run: str) -> None:
    """``ecgwb evaluate RUN`` from the page, with a status element."""
    from ecgcore.runs.evaluation import evaluate_run

    with st.status(f"Evaluating {Path(run).name}: encoding, reconstruction, downstream "
                   "probes with bootstrap CIs, clustering…", expanded=True) as status:
        try:
            evaluate_run(Path(run))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            status.update(label=f"Evaluating {Path(run).name} failed", state="error")
            st.error(f"{Path(run).name}: {exc}")
            return
        status.update(label=f"{Path(run).name} evaluated", state="complete")


def report_section(runs: list[str]) -> None:
    st.subheader("Comparison table")
    rows, missing = [], []
    for run in runs:
        row, problem = read_evaluation(run)
        if row is not None:
            rows.append(row)
        elif problem == "missing":
            missing.append(run)
        else:
            st.warning(f"{Path(run).name}: {problem}; re-run `ecgwb evaluate {run}`.",
                       icon=":material/warning:")
    for run in missing:
        c_text, c_button = st.columns([4, 1], vertical_alignment="center")
        c_text.info(f"**{Path(run).name}** has no evaluation yet. Compute it here (about a "
                    "minute on 500 records, longer on large datasets) or run "
                    f"`ecgwb evaluate {run}`.")
        bad = run_problem(run)
        if c_button.button("Evaluate", key=f"cmp_eval_{Path(run).name}", disabled=bool(bad),
                           help=bad or None):
            evaluate(run)
            st.rerun()
    if not rows:
        return
    numeric = comparison_table(rows)
    shown = format_table(numeric)
    front = {"run": "Run", "label": "Label", "scope": "Scored on", "n": "n"}
    if "scope" in numeric.columns:
        shown["scope"] = numeric["scope"].map(lambda v: SCOPES.get(v, v) if isinstance(v, str)
                                              else "–")
    shown = shown.rename(columns=front)
    first = [c for c in ("Run", "Label", "Scored on", "n", "Model") if c in shown.columns]
    shown = shown[first + [c for c in shown.columns if c not in first and c != "input"]]
    scored = {(r.get("scope"), r.get("n")) for r in rows if r.get("scope")}
    if len(scored) > 1:
        st.warning("These rows are scored on different records ("
                   + "; ".join(f"{SCOPES.get(s, s)}, n = {n}" for s, n in sorted(scored, key=str))
                   + "): compare AUROC, F1 and clustering only between rows with the same "
                   "scope and n.", icon=":material/warning:")
    st.dataframe(shown, hide_index=True, width="stretch")
    table_download(numeric, "comparison_table", label="Table (CSV)")
    st.caption("As `ecgwb report`: reconstruction of each run's test split (µV), downstream "
               "AUROC (95 % bootstrap CI) and macro F1 of the run's main probe for the named "
               "label, clustering of the latent means by that label on the same records; – "
               "where a model has no value (e.g. no decoder).")
    with st.expander("What these numbers mean", expanded=True):
        st.markdown(glossary_markdown(["auroc", "f1", "mse", "mae", "correlation", "dbi",
                                       "silhouette", "chi", "latent_dim", "n", "mae_ratio",
                                       "domain_auroc", "top1", "r2"]))
        st.caption("The Clustering view scores every record of the run's data that carries "
                   "the label (a superclass only for records with exactly one); this table "
                   "scores the evaluation's records (n) with one label per record, so its "
                   "DBI, silhouette and CHI can differ from the Clustering view's.")

    curves = {Path(r).name: fraction_curve(r) for r in runs if (Path(r) / EVALUATION).exists()}
    curves = {k: v for k, v in curves.items() if not v.empty}
    if curves:
        st.subheader("Label-fraction curves")
        fig = label_fraction_figure(curves)
        st.plotly_chart(fig, theme=None, config=plotly_config("label_fraction"),
                        key="cmp_fraction")
        download_buttons(fig, "label_fraction_curves")
        st.caption("AUROC of the latent-space probe (L2 logistic regression) trained with a "
                   "fraction of the labels (whole patients), 95 % CI as bars.")


def _fmt(v, spec: str) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def cohort_section(table: pd.DataFrame) -> None:
    """Each run on its training cohort and on every external cohort, side by side
    (:func:`ecgcore.runs.external.cohort_table`)."""
    st.subheader("Training cohort and external cohorts")
    if table.empty or not table["external"].any():
        st.info("No external evaluation yet. `ecgwb evaluate RUN --data OTHER` scores a run "
                "on every record of another cohort (another hospital, device or database) "
                "and this table shows it beside the training cohort.")
        if table.empty:
            return
    shown = pd.DataFrame({
        "Run": table["run"],
        "Cohort": [f"{c} (external)" if e else f"{c} (training cohort)"
                   for c, e in zip(table["cohort"], table["external"])],
        "Records": table["n_records"],
        "MAE (µV)": [_fmt(v, ".1f") for v in table["mae_uv"]],
        "Correlation": [_fmt(v, ".3f") for v in table["correlation"]],
        "MAE ratio": [_fmt(v, ".2f") for v in table["mae_ratio"]],
        "Relative MAE ratio": [_fmt(v, ".2f") for v in table["relative_mae_ratio"]],
        "Domain AUROC": [_fmt(v, ".3f") for v in table["domain_auroc"]],
        "AUROC (95% CI)": [
            "–" if _fmt(a, ".3f") == "–" else f"{a:.3f} ({_fmt(lo, '.3f')}–{_fmt(hi, '.3f')})"
            for a, lo, hi in zip(table["auroc"], table["auroc_low"], table["auroc_high"])],
        "F1": [_fmt(v, ".3f") for v in table["f1_macro"]],
        "Probe": table["probe"].fillna("–"),
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    table_download(table, "cohorts", label="Cohorts (CSV)")
    st.caption("Reconstruction: the training cohort's test split, every record of an external "
               "cohort (µV). MAE ratio: external / training-cohort MAE (1 on the training "
               "row); relative: each MAE over its cohort's mean |signal|, so that smaller "
               "beats do not flatter a cohort. Domain AUROC: how well a classifier tells the "
               "two cohorts apart from the latent means (0.5 = the same distribution). AUROC "
               "and F1: the probe fitted on the training cohort, applied to the other.")
    gaps = table[table["why"].notna()]
    for row in gaps.itertuples(index=False):
        st.caption(f"Not computed for **{row.run}** on **{row.cohort}**: {row.why}.")


def identification_section(table: pd.DataFrame) -> None:
    """Same-patient re-identification (seed 003's ECG-ID) of each run and cohort."""
    if table.empty:
        return
    st.subheader("Re-identification of patients")
    have = table[table["id_queries"].fillna(0) > 0]
    if have.empty:
        st.info("No cohort here has a patient with two or more records: re-identification "
                "needs them.")
        return
    shown = pd.DataFrame({
        "Run": have["run"],
        "Cohort": [f"{c} (external)" if e else f"{c} (training cohort)"
                   for c, e in zip(have["cohort"], have["external"])],
        "Top-1": [_fmt(v, ".3f") for v in have["id_top1"]],
        "Top-5": [_fmt(v, ".3f") for v in have["id_top5"]],
        "Queries": have["id_queries"].astype(int),
        "Patients": have["id_patients"].astype(int)})
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("Each record of a patient with two or more records looks for its patient's "
               "other records among every other record (cosine distance of the latent "
               "means): top-1 / top-5 = share of queries with one among their 1 / 5 "
               "nearest. High values mean the latent space keeps who the patient is, as "
               "well as what the ECG shows.")


def attached_section(runs: list[str]) -> None:
    """Rows for the sidebar's attached labels: each run's latent probe, on request."""
    from ui.labels import LABELS_TABLE

    labels = st.session_state.get(LABELS_TABLE)
    if labels is None:
        return
    kinds = {c: k for c, k in labels.attrs.get("label_kinds", {}).items()
             if k in ("binary", "continuous")}
    st.subheader("Your labels")
    source = st.session_state.get(LABELS_NAME, "the labels table")
    if not kinds:
        st.info(f"{source} has no yes/no or numeric label to probe.")
        return
    c_label, c_button = st.columns([3, 1], vertical_alignment="bottom")
    column = c_label.selectbox("Label", list(kinds), key=ATTACHED_KEY,
                               format_func=lambda c: f"{label_name(c)} ({kinds[c]})")
    done: dict = st.session_state.setdefault(ATTACHED_SCORES, {})
    key = (source, column, tuple(runs))
    if c_button.button("Score the runs", key="cmp_attached_go"):
        rows, notes = [], []
        for path in runs:
            loaded = open_runs([path], lambda run: run.embedding)
            if not loaded:
                continue
            art = loaded[path]
            table, att = with_labels(art.embedding)
            if att is None or not att.n_matched:
                notes.append(f"{Path(path).name}: {source} matches none of its records")
                continue
            try:
                with st.spinner(f"Probing {Path(path).name} on {label_name(column)}…"):
                    rows.append(attached_label_scores(art, table, column, kinds[column]))
            except (RunError, ValueError, KeyError) as exc:
                notes.append(str(exc))
        done[key] = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(), notes)
    if key not in done:
        st.caption(f"Scores every chosen run's latent means on **{label_name(column)}** from "
                   f"{source} (out-of-fold over the run's records that carry it; seconds "
                   "per run). Nothing is written to the runs.")
        return
    result, notes = done[key]
    if not result.empty:
        binary = kinds[column] == "binary"
        shown = pd.DataFrame({
            "Run": result["run"], "Label": label_name(column), "Scored on": result["scope"],
            "n": result["n"], "Input": result["input"].map(
                lambda v: "latent means" if v == "latent" else f"PCA reference ({v})")})
        if binary:
            shown["AUROC (95% CI)"] = [f"{a:.3f} ({lo:.3f}–{hi:.3f})" for a, lo, hi in
                                       zip(result["auroc"], result["auroc_low"],
                                           result["auroc_high"])]
            shown["F1"] = [_fmt(v, ".3f") for v in result["f1_macro"]]
            shown["Positives"] = result["n_pos"]
        else:
            shown["R² (95% CI)"] = [f"{a:.3f} ({lo:.3f}–{hi:.3f})" for a, lo, hi in
                                    zip(result["r2"], result["r2_low"], result["r2_high"])]
            shown["MAE"] = [_fmt(v, ".3g") for v in result["mae"]]
        st.dataframe(shown, hide_index=True, width="stretch")
        table_download(result, f"attached_{column}", label="Your label's scores (CSV)")
        st.caption("L2-regularised " + ("logistic" if binary else "ridge") + " regression "
                   "on each run's latent means, predicted out of fold (5 folds grouped by "
                   "patient) over the records that carry the label, beside the same probe on a "
                   "PCA of the median beats with as many components.")
    for note in notes:
        st.caption(f"Not scored: {note}")


def reconstruction_section(runs: list[str]) -> None:
    st.subheader("Reconstructions of one record")
    loaded = open_runs(runs, lambda run: (run.model, run.cache))
    if not loaded:
        return
    base = next(iter(loaded.values()))
    records = base.cache.records.reset_index(drop=True)
    ids = records["record_id"].astype(str)
    c_rec, c_leads = st.columns([3, 2], vertical_alignment="bottom")
    row = c_rec.selectbox("Record", range(len(records)), key=RECORD_KEY,
                          format_func=lambda r: f"record {ids.iloc[r]}")
    lead_choice = c_leads.radio("Leads", list(LEAD_CHOICES), key=LEADS_KEY, horizontal=True)
    rid = ids.iloc[row]
    beats, names, colors, notes = [base.beat(row)], ["median beat"], [THEME.trace_color], []
    for i, (run, art) in enumerate(loaded.items()):
        same = art.cache.path == base.cache.path
        r = row if same else _row_of(art, rid)
        if r is None:
            notes.append(f"{Path(run).name}: record {rid} is not in its data")
            continue
        if art.leads != base.leads or art.window != base.window:
            notes.append(f"{Path(run).name}: another lead set or beat window")
            continue
        try:
            with st.spinner(f"Reconstructing with {Path(run).name}…"):
                beats.append(art.reconstruction(r))
        except RunError as exc:
            notes.append(str(exc))
            continue
        names.append(Path(run).name)
        colors.append(CATEGORY_COLORS[i % len(CATEGORY_COLORS)])
    show = LEAD_CHOICES[lead_choice]
    show = [lead for lead in show if lead in base.leads] if show else list(base.leads)
    # the panels fitted to the record's median beat: the same size whatever the runs, a
    # reconstruction that strays beyond it is clipped at the edge (and said so below)
    fig = beat_panels_figure(np.stack(beats), base.fs, base.leads, base.r_index,
                             show=show, names=names, colors=colors,
                             px_per_mm=10.0 if len(show) <= 3 else 6.0,
                             max_height_px=520 if len(show) <= 3 else 640,
                             range_beats=np.stack(beats[:1]))
    lo, hi = fig.layout.yaxis.range
    picked = [base.leads.index(lead) for lead in show]
    for name, beat in zip(names[1:], beats[1:]):
        part = np.asarray(beat)[picked]
        if np.nanmax(part) > hi or np.nanmin(part) < lo:
            notes.append(f"{name}'s reconstruction goes beyond the median beat's range "
                         f"({lo / 1000:g} to {hi / 1000:g} mV) and is clipped at the panels' edge")
    st.plotly_chart(fig, theme=None, config=plotly_config(f"reconstructions_{rid}"),
                    width="content", key="cmp_recon")
    download_buttons(fig, f"reconstructions_{rid}")
    st.caption(f"Median beat of record {rid} (black) and each run's reconstruction from "
               f"its latent mean ({len(beats) - 1} run(s)); amplitudes in mV, as on the axis.")
    for note in notes:
        st.caption(note if "clipped" in note else f"No reconstruction: {note}")


def _row_of(art: Run, record_id: str) -> int | None:
    ids = art.cache.records["record_id"].astype(str).to_numpy()
    hit = np.flatnonzero(ids == record_id)
    return int(hit[0]) if len(hit) else None


def main() -> None:
    st.title("Compare")
    runs = st.session_state.get(RUNS) or []
    if not runs:
        st.info("Choose runs in the sidebar (**Runs**) to compare them.")
        return
    st.caption(f"{len(runs)} run(s): " + ", ".join(f"**{Path(r).name}**" for r in runs))
    report_section(runs)
    cohorts = cohort_table(runs)
    cohort_section(cohorts)
    identification_section(cohorts)
    attached_section(runs)
    reconstruction_section(runs)


main()
