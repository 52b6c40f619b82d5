"""Figures of the Patient view: the ECG's place on the cohort's latent map, its factor
profile, and the one-page report (exported as PDF/PNG by :mod:`ecgcore.viz.export`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.viz.theme import THEME, Theme

PATIENT_COLOR = "#D55E00"  # Okabe–Ito vermillion: the patient stands out from the cohort
COHORT_COLOR = "#9aa7b8"
RECON_COLOR = "#1f77b4"


def placement_figure(cohort_xy: np.ndarray, xy: np.ndarray, neighbour_rows: Any = (), *,
                     title: str | None = None, method: str = "pca", theme: Theme = THEME
                     ) -> go.Figure:
    """The cohort's map (grey), the nearest neighbours (ringed) and the ECG (a star)."""
    fig = go.Figure()
    _placement_traces(fig, cohort_xy, xy, neighbour_rows, theme)
    fig.update_layout(title=title, height=420, template="simple_white", font=theme.font(),
                      xaxis_title=f"{method.upper()} 1", yaxis_title=f"{method.upper()} 2",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def _placement_traces(fig: go.Figure, cohort_xy: np.ndarray, xy: np.ndarray, neighbour_rows: Any,
                      theme: Theme, row: int | None = None, col: int | None = None) -> None:
    where = {} if row is None else {"row": row, "col": col}
    c = np.asarray(cohort_xy, dtype=float)
    fig.add_trace(go.Scattergl(x=c[:, 0], y=c[:, 1], mode="markers", name="cohort",
                               marker={"size": 4, "color": COHORT_COLOR}), **where)
    n = np.asarray(list(neighbour_rows), dtype=int)
    if n.size:
        fig.add_trace(go.Scatter(x=c[n, 0], y=c[n, 1], mode="markers", name="nearest neighbours",
                                 marker={"size": 9, "color": "rgba(0,0,0,0)",
                                         "line": {"color": theme.text_color, "width": 1.5}}), **where)
    fig.add_trace(go.Scatter(x=[float(xy[0])], y=[float(xy[1])], mode="markers", name="this ECG",
                             marker={"size": 16, "symbol": "star", "color": PATIENT_COLOR,
                                     "line": {"color": "black", "width": 1}}), **where)


def profile_figure(profile: Any, *, title: str | None = None, theme: Theme = THEME) -> go.Figure:
    """Each latent unit's value in cohort SDs (bars), its annotation on hover."""
    fig = go.Figure()
    _profile_trace(fig, profile)
    fig.update_layout(title=title, height=max(260, 22 * len(profile) + 80), template="simple_white",
                      font=theme.font(), xaxis_title="cohort SDs (σ)",
                      yaxis={"autorange": "reversed"})
    return fig


def _profile_trace(fig: go.Figure, profile: Any, row: int | None = None, col: int | None = None) -> None:
    where = {} if row is None else {"row": row, "col": col}
    sd = profile["sd"].to_numpy(dtype=float)
    fig.add_trace(go.Bar(x=sd, y=[f"z{u}" for u in profile["unit"]], orientation="h",
                         name="factor profile", showlegend=False,
                         marker={"color": np.where(sd >= 0, PATIENT_COLOR, RECON_COLOR)},
                         hovertext=list(profile["annotation"]), hoverinfo="x+y+text"), **where)


def _fmt(v: float, unit: str = "") -> str:
    return "–" if not np.isfinite(v) else f"{v:.0f}{'' if unit in ('°', '') else ' '}{unit}"


def report_figure(result: Any, cohort_xy: np.ndarray | None, fs: float, r_index: int,
                  model_leads: Any, *, run_name: str = "", lead: str = "II",
                  theme: Theme = THEME) -> go.Figure:
    """The one-page report: intervals with flags and the device's values, the median beat
    and its reconstruction in ``lead``, the latent map, the factor profile, the per-wave
    error and (task models) the probability and the counterfactual's changes.
    ``result``: an :class:`ecgcore.runs.patient.PatientResult`."""
    fig = make_subplots(rows=3, cols=2, vertical_spacing=0.07, horizontal_spacing=0.12,
                        row_heights=[0.4, 0.32, 0.28],
                        specs=[[{"type": "table"}, {"type": "xy"}],
                               [{"type": "xy"}, {"type": "xy"}],
                               [{"type": "table"}, {"type": "table"}]],
                        subplot_titles=("Intervals", f"Median beat, lead {lead}",
                                        "Latent map" if cohort_xy is not None else "",
                                        "Factor profile (cohort SDs)" if result.profile is not None else "",
                                        "Reconstruction error per wave", "Model"))
    iv = result.intervals
    dev_name = result.device_source or "device"
    fig.add_trace(go.Table(
        header={"values": ["", "This workbench", "Flag", dev_name], "align": "left"},
        cells={"values": [list(iv["label"]), [_fmt(v, u) for v, u in zip(iv["value"], iv["unit"])],
                          [(f + (" (uncertain)" if unc and np.isfinite(v) else "")).strip()
                           for f, unc, v in zip(iv["flag"], iv["uncertain"], iv["value"])],
                          [_fmt(v, u) for v, u in zip(iv["device"], iv["unit"])]],
               "align": "left", "height": 22}, columnwidth=[1.3, 1, 1, 1]), row=1, col=1)
    leads = list(model_leads) if result.model_beat is not None else list(result.leads)
    beat = result.model_beat if result.model_beat is not None else result.beat
    k = leads.index(lead) if lead in leads else 0
    t = (np.arange(beat.shape[-1]) - r_index) * 1000.0 / fs
    fig.add_trace(go.Scatter(x=t, y=beat[k], name="median beat", line={"color": "black"}), row=1, col=2)
    if result.reconstruction is not None:
        fig.add_trace(go.Scatter(x=t, y=result.reconstruction[k], name="reconstruction",
                                 line={"color": RECON_COLOR}), row=1, col=2)
    if result.counterfactual is not None:
        fig.add_trace(go.Scatter(x=t, y=result.counterfactual.beat_counterfactual[k],
                                 name="counterfactual", line={"color": PATIENT_COLOR, "dash": "dot"}),
                      row=1, col=2)
    fig.update_xaxes(title_text="ms from R", row=1, col=2)
    fig.update_yaxes(title_text="µV", row=1, col=2)
    if cohort_xy is not None and result.xy is not None:
        rows = result.neighbours["row"] if result.neighbours is not None else ()
        _placement_traces(fig, cohort_xy, result.xy, rows, theme, row=2, col=1)
    if result.profile is not None:
        _profile_trace(fig, result.profile, row=2, col=2)
    if result.wave_error is not None:
        we = result.wave_error
        fig.add_trace(go.Table(header={"values": ["Wave", "RMS error"]},
                               cells={"values": [list(we["region"]), [_fmt(v, "µV") for v in we["rms_uv"]]]}),
                      row=3, col=1)
    lines = [f"Run: {run_name}"] if run_name else []
    if result.lead_problem:
        lines.append(result.lead_problem)
    if result.probabilities is not None:
        lines += [f"P({n}) = {p:.2f}" for n, p in zip(result.probabilities["name"],
                                                     result.probabilities["probability"])]
    if result.counterfactual is not None:
        cf = result.counterfactual
        lines.append(f"Counterfactual (p {cf.prob_original:.2f} → {cf.prob_counterfactual:.2f}): "
                     + (", ".join(cf.changes) or "no measurable change"))
    if result.neighbours is not None:
        lines.append("Nearest records: " + ", ".join(result.neighbours["record_id"].astype(str)))
    lines += result.warnings
    fig.add_trace(go.Table(header={"values": ["Model"]}, cells={"values": [lines or ["–"]],
                                                                "align": "left"}), row=3, col=2)
    fig.update_layout(height=1100, width=850, template="simple_white", font=theme.font(size=11),
                      title=f"ECG report: {result.record_id}",
                      legend={"orientation": "h", "y": -0.03, "x": 0.0})
    return fig
