"""Clustering view: how well each chosen run's latent space separates labels and k-means
clusters (Davies–Bouldin, silhouette, Calinski–Harabasz), every score beside the PCA of
the beats with as many components; then what each k-means cluster is: its records on a
map, its mean beat on ECG paper (with n), and any label stratified by cluster (the
sidebar's attached labels first).

Every number comes from ``ecgcore`` (:mod:`ecgcore.runs.clustering`, cached on disk
next to each run); figures from ``ecgcore.viz``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ecgcore.data.label_columns import (
    grouped_label_name,
    label_kinds,
    label_name,
    selection_summary,
)
from ecgcore.evaluate.glossary import glossary_markdown, silhouette_reading
from ecgcore.runs import Run, RunError
from ecgcore.runs.clustering import (
    SUPERCLASS,
    cluster_label_table,
    clustering_labels,
    run_cluster_beats,
    run_clustering,
    run_kmeans,
    side_by_side,
)
from ecgcore.viz import beat_panels_figure, clustering_figure, latent_scatter_figure, plotly_config
from ui.downloads import download_buttons, table_download
from ui.labels import attached_columns, with_labels
from ui.runs import open_runs

RUNS = "runs"  # set by app.py's run picker
LABELS_KEY, K_KEY, MAP_KEY = "clu_labels", "clu_k", "clu_map_run"
STRATIFY_KEY, BEAT_LEADS_KEY = "clu_stratify", "clu_beat_leads"
DEFAULT_LABELS = (SUPERCLASS, "sex")
LEAD_CHOICES = {"II, V5": ("II", "V5"), "II, V2, V5": ("II", "V2", "V5"), "All leads": None}


def label_title(name: str, attached: set[str] = frozenset()) -> str:
    return ("Diagnostic superclass (records with one)" if name == SUPERCLASS
            else grouped_label_name(name, attached))


def main() -> None:
    st.title("Clustering")
    runs = st.session_state.get(RUNS) or []
    if not runs:
        st.info("Choose one or more runs in the sidebar (**Runs**) to compare their clusters.")
        return
    loaded = open_runs(runs, lambda run: run.embedding,
                       "Encoding {name} (once; cached next to the run)…")
    if not loaded:
        return
    # each run's records with the sidebar's attached labels joined in memory
    tables = {run: with_labels(art.embedding)[0] for run, art in loaded.items()}
    first = next(iter(tables.values()))
    attached = attached_columns(first)
    options = clustering_labels(first)
    c_lab, c_k = st.columns([4, 1], vertical_alignment="bottom")
    default = [c for c in DEFAULT_LABELS if c in options] or list(options)[:1]
    labels = c_lab.multiselect("Cluster by labels", list(options), default=default,
                               key=LABELS_KEY, format_func=lambda c: label_title(c, attached),
                               help="Each label is one clustering of the records; 'Your "
                                    "labels' are the categorical columns of the sidebar's "
                                    "labels table.")
    k = c_k.number_input("k-means clusters", 2, 20, 5, key=K_KEY)

    reports = []
    for run, art in loaded.items():
        have = [c for c in labels if c in clustering_labels(tables[run])]
        try:
            with st.spinner(f"Scoring {Path(run).name} and its PCA reference (cached)…"):
                reports.append(run_clustering(art, have, k=int(k), records=tables[run]))
        except (RunError, ValueError) as exc:
            st.warning(f"{Path(run).name}: {exc}", icon=":material/warning:")
    if not reports:
        return
    report = pd.concat(reports, ignore_index=True)
    table = side_by_side(report)
    st.caption(f"{len(loaded)} run(s). Scores of each run's latent means and, beside them, of "
               "a PCA of the median beats (µV) with as many components, on the same records "
               "(all records of the run's data that carry the label). Lower Davies–Bouldin "
               "(DBI) is better; higher silhouette (−1…1) and Calinski–Harabasz (CHI) are "
               "better. Silhouette on at most 5,000 records.")
    with st.expander("What these numbers mean", expanded=True):
        st.markdown(glossary_markdown(["dbi", "silhouette", "chi", "latent_dim", "n"]))
        st.caption("The Compare view's DBI, silhouette and CHI come from `ecgwb evaluate`: "
                   "they are scored on the run's evaluation records (its test split for a "
                   "supervised run) with one label per record, so they can differ from these.")
    fig = clustering_figure(table)
    st.plotly_chart(fig, theme=None, config=plotly_config("clustering_scores"),
                    key="clu_scores")
    download_buttons(fig, "clustering_scores")

    shown = table.assign(clustering=table["clustering"].str.replace("label:", "", regex=False))
    shown = shown.assign(structure=shown["silhouette"].map(silhouette_reading))
    shown = shown[["run", "clustering", "n", "n_clusters", "dim", "dbi", "dbi_pca",
                   "silhouette", "structure", "silhouette_pca", "chi", "chi_pca"]]
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "run": "Run", "clustering": "Clustering", "n": "Records", "n_clusters": "Clusters",
        "dim": st.column_config.NumberColumn("L", help="latent dimension"),
        "structure": st.column_config.TextColumn("Structure",
                                                 help="the silhouette in words"),
        "dbi": st.column_config.NumberColumn("DBI ↓", format="%.3f",
                                             help="Davies–Bouldin index: lower is better"),
        "dbi_pca": st.column_config.NumberColumn("DBI PCA", format="%.3f"),
        "silhouette": st.column_config.NumberColumn(
            "Silhouette ↑", format="%.3f", help="−1…1; near 0: no cluster structure"),
        "silhouette_pca": st.column_config.NumberColumn("Silh. PCA", format="%.3f"),
        "chi": st.column_config.NumberColumn("CHI ↑", format="%.1f",
                                             help="Calinski–Harabasz index: higher is better"),
        "chi_pca": st.column_config.NumberColumn("CHI PCA", format="%.1f")})
    table_download(report, "clustering_scores", label="Scores (CSV)")

    st.subheader(f"k-means clusters (k = {int(k)})")
    run = st.selectbox("Run", list(loaded), key=MAP_KEY, format_func=lambda p: Path(p).name) \
        if len(loaded) > 1 else next(iter(loaded))
    art, table = loaded[run], tables[run]
    ids = run_kmeans(art, int(k))
    xy = art.projection("pca")
    names = pd.Series([f"cluster {i + 1}" for i in ids])
    fig = latent_scatter_figure(xy, names, kind="categorical", label="k-means",
                                record_ids=art.embedding["record_id"].astype(str).to_numpy(),
                                height=480)
    st.plotly_chart(fig, theme=None, config=plotly_config(f"kmeans_{Path(run).name}"),
                    key="clu_map")
    download_buttons(fig, f"kmeans_{Path(run).name}_k{int(k)}")
    st.caption(f"The latent means of {Path(run).name} on their first two principal "
               "components, coloured by k-means cluster (10 initialisations, seed 0).")
    # the map's colour of each cluster, so that the beats and tables read against it
    colors = {t.meta: t.marker.color for t in fig.data}
    cluster_beats(art, ids, colors)
    cluster_profiles(table, ids)
    stratify(table, ids, attached)


def cluster_beats(art: Run, ids, colors: dict[str, str]) -> None:
    """The mean beat of each k-means cluster on ECG paper, overlaid per lead, with n."""
    st.markdown("**Mean beat of each cluster**")
    choice = st.radio("Leads", list(LEAD_CHOICES), key=BEAT_LEADS_KEY, horizontal=True)
    clusters, means, counts = run_cluster_beats(art, ids)
    names = [f"cluster {int(c) + 1} (n = {n:,})" for c, n in zip(clusters, counts)]
    palette = [colors.get(f"cluster {int(c) + 1}", "#000000") for c in clusters]
    show = LEAD_CHOICES[choice]
    fig = beat_panels_figure(means, art.fs, art.leads, art.r_index,
                             show=[lead for lead in show if lead in art.leads] if show else None,
                             names=names, colors=palette, px_per_mm=10.0 if show else 6.0,
                             max_height_px=520 if show else 640)
    st.plotly_chart(fig, theme=None, config=plotly_config(f"cluster_beats_{art.name}"),
                    width="content", key="clu_beats")
    download_buttons(fig, f"cluster_mean_beats_{art.name}")
    st.caption("Each cluster's mean beat: the median beats of its records averaged sample by "
               "sample (µV; time from R in ms), in the map's colours; n = records in the "
               "cluster. An average smooths what varies between records (a wide QRS in a "
               "few of them appears as a small notch).")


def stratify(table: pd.DataFrame, ids, attached: set[str]) -> None:
    """One label stratified by k-means cluster: a contingency table (categorical) or
    per-cluster mean, SD, median and IQR (continuous)."""
    kinds = label_kinds(table)
    if not kinds:
        return
    st.markdown("**A label by cluster**")
    column = st.selectbox("Label", list(kinds), key=STRATIFY_KEY,
                          format_func=lambda c: grouped_label_name(c, attached),
                          help="Your labels (the sidebar's labels table) first, then the "
                               "dataset's labels and its raw metadata.")
    clusters = sorted({int(i) for i in ids})
    result = cluster_label_table(table, ids, column, kinds[column],
                                 names=[f"cluster {c + 1}" for c in clusters])
    name = label_name(column)
    if kinds[column] == "categorical":
        cats = [c for c in result.columns if c not in ("cluster", "records")
                and not c.endswith(" %")]
        shown = result[["cluster", "records"]].copy()
        for cat in cats:
            shown[cat] = [f"{n:,} ({p:.0f} %)" for n, p in zip(result[cat], result[f"{cat} %"])]
        shown = shown.rename(columns={"cluster": "Cluster", "records": "Records"})
        st.dataframe(shown, hide_index=True, width="stretch")
        st.caption(f"{name}: records of each category in each cluster (share of the "
                   "cluster's records). A cluster that holds one category far above its "
                   "share of all records is where the latent space separates it.")
    else:
        shown = pd.DataFrame({
            "Cluster": result["cluster"], "Records": result["records"],
            "With a value": result["n"],
            "Mean ± SD": [f"{m:.4g} ± {s:.3g}" if n > 1 else (f"{m:.4g}" if n else "–")
                          for m, s, n in zip(result["mean"], result["sd"], result["n"])],
            "Median (IQR)": [f"{m:.4g} ({a:.4g}–{b:.4g})" if n else "–" for m, a, b, n in
                             zip(result["median"], result["q1"], result["q3"], result["n"])]})
        st.dataframe(shown, hide_index=True, width="stretch")
        st.caption(f"{name} in each cluster: mean ± SD and median (interquartile range) of "
                   "the records that have a value.")
    table_download(result, f"clusters_by_{column}", label="Table (CSV)")


#: What a k-means cluster is described by, when the records table has it (the attached
#: labels come first).
PROFILE_LABELS = ("age", "sex", "superclass_NORM", "superclass_MI", "superclass_STTC",
                  "superclass_CD", "superclass_HYP")


def cluster_profiles(table: pd.DataFrame, ids) -> None:
    """Each k-means cluster's size and label mix beside all records'."""
    kinds = label_kinds(table)
    columns = [c for c in (*attached_columns(table), *PROFILE_LABELS) if c in kinds]
    if not columns:
        return
    st.markdown("**What each cluster holds**")
    ids = pd.Series(ids)
    whole = selection_summary(table, range(len(table)), kinds, columns)
    profile = whole[["label"]].copy()
    for c in sorted(ids.unique()):
        rows = ids.index[ids == c].tolist()
        part = selection_summary(table, rows, kinds, columns)
        profile[f"cluster {c + 1} ({len(rows):,})"] = part["selection"].to_numpy()
    profile[f"all ({len(table):,})"] = whole["all"].to_numpy()
    st.dataframe(profile.rename(columns={"label": "Label"}), hide_index=True, width="stretch")
    st.caption("Numbers: median (interquartile range); flags and categories: share of the "
               "cluster's records.")


main()
