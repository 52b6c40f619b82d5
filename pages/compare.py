"""Compare view: the chosen runs side by side — the ``ecgwb report`` table from each run's
``evaluation.json`` (a missing evaluation can be computed here), the label-fraction curves
when the evaluations hold them, and one record's median beat with every run's
reconstruction over it (µV).

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
from ecgcore.viz import (
    beat_panels_figure,
    label_fraction_curves,
    label_fraction_figure,
    plotly_config,
)
from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME
from ui.downloads import download_buttons, table_download
from ui.runs import open_runs

RUNS = "runs"  # set by app.py's run picker
RECORD_KEY, LEADS_KEY = "cmp_record", "cmp_leads"
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
    row["label"] = " + ".join(label_name(c) for c in label) if label else "–"
    return row, ""


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
                                       "silhouette", "chi", "latent_dim", "n"]))
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
    fig = beat_panels_figure(np.stack(beats), base.fs, base.leads, base.r_index,
                             show=[lead for lead in show if lead in base.leads] if show else None,
                             names=names, colors=colors, px_per_mm=10.0 if show else 6.0,
                             max_height_px=520 if show else 640)
    st.plotly_chart(fig, theme=None, config=plotly_config(f"reconstructions_{rid}"),
                    width="content", key="cmp_recon")
    download_buttons(fig, f"reconstructions_{rid}")
    st.caption(f"Median beat of record {rid} (black) and each run's reconstruction from "
               f"its latent mean ({len(beats) - 1} run(s)); amplitudes in mV, as on the axis.")
    for note in notes:
        st.caption(f"No reconstruction: {note}")


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
    reconstruction_section(runs)


main()
