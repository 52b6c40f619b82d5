"""Patient view: one ECG — uploaded in any clinical format, or a record of the run's
dataset — read against a trained run (its intervals beside the device's own, its place
on the cohort's latent map, its neighbours, factor profile, reconstruction, prediction,
counterfactual, saliency and ECG-SL attention) and a one-page report.

Widgets and figures only: the science is :mod:`ecgcore.runs.patient` (which also says
what happens when the ECG lacks leads the model reads: the model is not run, nothing is
invented). Uploads go to a private temporary folder under neutral names; names, IDs and
birth dates in the files never reach the page.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore.io.formats.dispatch import ECG_SUFFIXES
from ecgcore.runs import RunError
from ecgcore.runs.patient import (
    MAX_UPLOAD_BYTES,
    explain_patient,
    patient_cache,
    read_upload,
    save_uploads,
)
from ecgcore.viz import plotly_config, reconstruction_figure
from ecgcore.viz.attention import attention_strip_figure, attention_table
from ecgcore.viz.ecg_paper import ecg_paper_figure
from ecgcore.viz.patient import placement_figure, profile_figure, report_figure
from ui.downloads import download_buttons, table_download
from ui.runs import open_run

RUNS = "runs"  # set by app.py's run picker
UPLOAD, DATASET = "Upload ECG files", "A record of the run's dataset"
_STORE = "patient_store"  # {uploads key: (private folder, {file n: (cache, problems, record,
#                            device measurements)})}: this session's current uploads

st.title("Patient")
runs = st.session_state.get(RUNS) or []
if not runs:
    st.info("Choose a trained run in the sidebar: the ECG is read against its latent space.")
    st.stop()
run_path = st.selectbox("Run", runs, format_func=lambda p: Path(p).name, key="patient_run")
run = open_run(run_path)
source = st.radio("ECG", (UPLOAD, DATASET), horizontal=True, key="patient_source")
store = st.session_state.setdefault(_STORE, {})

try:
    _ = run.embedding  # the cohort: encoded once per run, cached on disk
except RunError as exc:
    st.error(str(exc))
    st.stop()

cache = device = upload = None
row = 0
if source == UPLOAD:
    files = st.file_uploader(
        "ECG files (GE MUSE XML, GE CardioSoft XML, HL7 aECG, DICOM, Philips XML, SCP-ECG, "
        "EDF/BDF, Apple Watch, CSV)",
        type=[s.lstrip(".") for s in ECG_SUFFIXES], accept_multiple_files=True,
        key="patient_files", max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))
    if not files:
        st.caption("Files are kept in a private temporary folder under neutral names for this "
                   "session; names, IDs and birth dates in them are never shown.")
        st.stop()
    blobs = [(f.name, f.getvalue()) for f in files]
    key = hashlib.sha256(run_path.encode() + b"".join(hashlib.sha256(b).digest()
                                                      for _, b in blobs)).hexdigest()[:16]
    if key not in store:  # one cache per file: each keeps its own leads
        for _, (old, _) in list(store.items()):  # only the current uploads are kept on disk
            shutil.rmtree(old, ignore_errors=True)
        store.clear()
        folder = Path(tempfile.mkdtemp(prefix="ecgwb-patient-"))
        try:
            paths = save_uploads(blobs, folder / "files")
        except ValueError as exc:
            st.error(str(exc))
            st.stop()
        entries = {}
        with st.spinner("Reading and measuring the ECG…"):
            for n, path in enumerate(paths, start=1):
                pcache, manifest = patient_cache(run, path, folder / "cache" / path.name)
                reasons = [r for r in manifest["reason"] if r]
                entries[n] = (pcache, reasons, *read_upload(path))
        store[key] = (folder, entries)
    entries = store[key][1]
    for n, (pcache, reasons, _, _) in entries.items():
        if pcache is None:
            st.error(f"File {n} ({files[n - 1].name}) could not be used: "
                     f"{'; '.join(reasons) or 'no record found in it'}")
    usable = [n for n, entry in entries.items() if entry[0] is not None]
    if not usable:
        st.stop()
    n = st.selectbox("File", usable, format_func=lambda n: f"File {n}: {files[n - 1].name}",
                     key="patient_pick")
    cache, _, upload, device = entries[n]
else:
    cache = run.cache
    ids = list(cache.records["record_id"].astype(str))
    pick = st.selectbox("Record", ids, key="patient_record")
    row = ids.index(pick)

proj = st.radio("Map", ("pca", "tsne", "umap"), horizontal=True, key="patient_map",
                format_func=str.upper,
                help="PCA places the ECG exactly; t-SNE and UMAP cannot place a new point, so it "
                     "is drawn at the mean position of its nearest cohort neighbours.")
with st.spinner("Reading the ECG against the run…"):
    try:
        result = explain_patient(run, cache, row, projection=proj, annotate=True, device=device,
                                 record=upload)
    except RunError as exc:
        st.error(str(exc))
        st.stop()

# -- the ECG on paper, its intervals and the device's own -----------------------------------------
st.subheader(f"ECG and intervals: {result.record_id}")
if upload is not None:  # the file as read (µV), every lead it has
    paper = (upload.signal, upload.fs, list(upload.leads))
elif (cache.path / "signals.npy").exists():
    paper = (np.asarray(cache.array("signals")[row]), cache.fs, list(cache.leads))
else:
    paper = None
if paper is not None:
    keep = [k for k in range(paper[0].shape[0]) if np.isfinite(paper[0][k]).all()]
    fig = ecg_paper_figure(paper[0][keep], paper[1], [paper[2][k] for k in keep],
                           layout="stack", px_per_mm=2.5)
    st.plotly_chart(fig, key="patient_paper", theme=None, config=plotly_config("patient_ecg"))
else:
    st.caption("The run's dataset cache keeps no whole signal: its median beat is shown below.")
table = result.intervals.rename(columns={"label": "Measure", "value": "This workbench",
                                         "flag": "Flag", "uncertain": "Uncertain",
                                         "unit": "Unit"})
device_col = f"Device ({result.device_source})" if result.device_source else "Device"
table = table.rename(columns={"device": device_col}).drop(columns=["measure"])
st.table(table.style.format({"This workbench": "{:.0f}", device_col: "{:.0f}"}, na_rep="—")
         .hide(axis="index"))
st.caption("Flags: outside adult resting limits (HR 50–100 bpm, PR 120–200 ms, QRS < 120 ms, "
           "QTc ≤ 460 ms, axis −30…+90°). Uncertain: the beats disagree by more than the "
           "IEC 60601-2-25 tolerance." + (f" Device values: {result.device_source}, as stored "
                                          "in the file." if result.device_source else ""))
if result.lead_problem:
    st.warning(result.lead_problem, icon="⚠️")
for w in result.warnings:
    st.info(w)

# -- latent space -----------------------------------------------------------------------------------
cohort_xy = None
if result.z is not None:
    st.subheader("Latent space")
    cohort_xy = run.projection(proj)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(placement_figure(cohort_xy, result.xy, result.neighbours["row"], method=proj),
                        key="patient_map_fig", theme=None)
        st.caption(result.placement)
    with right:
        st.markdown("**Nearest cohort neighbours**")
        st.table(result.neighbours.drop(columns=["row"]).style.format({"distance": "{:.3f}"})
                 .hide(axis="index"))
        first = int(result.neighbours["row"].iloc[0])
        st.plotly_chart(reconstruction_figure(run.beat(first), None, run.fs, run.leads, run.r_index,
                                              show=[lead for lead in ("II", "V5") if lead in run.leads]
                                              or run.leads[:1],
                                              title=f"Nearest: {result.neighbours['record_id'].iloc[0]}"),
                        key="patient_neighbour_beat", theme=None)
    st.subheader("Factor profile")
    st.plotly_chart(profile_figure(result.profile), key="patient_profile", theme=None)
    prof = result.profile.assign(text=[f"z{u} {s:+.1f} σ" for u, s in
                                       zip(result.profile["unit"], result.profile["sd"])])
    st.dataframe(prof[["text", "annotation"]].rename(columns={"text": "Unit", "annotation":
                                                              "Annotation"}), hide_index=True)
    table_download(result.profile, f"profile_{result.record_id}")

    if result.reconstruction is not None:
        st.subheader("Reconstruction")
        show = [lead for lead in ("II", "V2", "V5") if lead in run.leads] or run.leads[:1]
        st.plotly_chart(reconstruction_figure(result.model_beat, result.reconstruction, run.fs,
                                              run.leads, run.r_index, show=show),
                        key="patient_recon", theme=None)
        st.table(result.wave_error.rename(columns={"region": "Wave", "rms_uv": "RMS error (µV)",
                                                   "n_samples": "Samples"})
                 .style.format({"RMS error (µV)": "{:.0f}"}, na_rep="—").hide(axis="index"))
    if result.probabilities is not None:
        st.subheader("Prediction")
        st.dataframe(result.probabilities[["name", "probability"]], hide_index=True)
        if result.counterfactual is not None:
            cf = result.counterfactual
            st.markdown(f"**Counterfactual**: moving {abs(cf.distance):.2f} latent units "
                        f"({abs(cf.distance_sd):.2f} cohort SDs) along the head's direction takes "
                        f"p from {cf.prob_original:.2f} to {cf.prob_counterfactual:.2f}: "
                        + (", ".join(cf.changes) or "no measurable change"))
            st.plotly_chart(reconstruction_figure(cf.beat_original, cf.beat_counterfactual, run.fs,
                                                  run.leads, run.r_index,
                                                  show=[lead for lead in ("II", "V5") if lead in run.leads]
                                                  or run.leads[:1]),
                            key="patient_cf", theme=None)
            st.caption("Black: the ECG's decoded beat; blue: the decoded counterfactual.")
        if result.saliency is not None:
            st.markdown("**Saliency** (Integrated Gradients, share of |attribution| per wave)")
            st.dataframe(result.saliency.drop(columns=["label"]), hide_index=True)
    if result.attention is not None:
        st.subheader("Attention over beats")
        if result.attention_spans is not None:
            shown = [lead for lead in ("II", "V1", "V5") if lead in run.leads] or list(run.leads[:3])
            rows = [list(result.leads).index(lead) for lead in shown]
            st.plotly_chart(attention_strip_figure(result.attention_signal[rows], result.fs, shown,
                                                   result.attention_spans, result.attention),
                            key="patient_attention", theme=None,
                            config=plotly_config("patient_attention"))
            st.caption(
                f"Leads {', '.join(shown)} as the pipeline cleaned them; each band is one of the "
                f"{len(result.attention)} beats ECG-SL read, shaded by its attention weight (darkest "
                "= most attended; the weights sum to 1). Attention is how much each beat counted "
                "in the model's pooled summary of the record: it shows where the model looked, "
                "not why, and is no proof that those beats cause the prediction.")
            table_download(attention_table(result.attention_spans, result.attention, result.fs),
                           f"attention_{result.record_id}")
        else:
            st.bar_chart(pd.DataFrame({"attention": result.attention},
                                      index=[f"beat {i + 1}" for i in range(len(result.attention))]))

# -- the one-page report -----------------------------------------------------------------------------
st.subheader("Report")
report = report_figure(result, cohort_xy, run.fs, run.r_index, run.leads, run_name=run.name)
st.caption(f"One page for {result.record_id} against {run.name}: intervals with the device's "
           "own, the median beat, the latent map, the factor profile and the model's outputs.")
download_buttons(report, f"report_{result.record_id}", key="patient_report")
