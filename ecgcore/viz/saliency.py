"""Saliency figures: an attribution map drawn along the beat on ECG paper, and bars of the
attribution per P/QRS/ST/T region and per lead (one bar series per predictor or class).

Pure Plotly; the beat panels come from :func:`ecgcore.viz.beats.beat_panels_figure`, so a
saliency figure has the same paper, scale and lead layout as the other beat figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.evaluate.regions import REGIONS
from ecgcore.viz.beats import _grid, beat_panels_figure
from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME, Theme

#: Diverging, colour-blind safe: negative blue, zero pale, positive vermillion.
ATTRIBUTION_SCALE = [[0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"],
                     [0.75, "#ef8a62"], [1.0, "#b2182b"]]
REGION_ORDER: tuple[str, ...] = (*REGIONS, "other")


def saliency_beat_figure(
    beat_uv: np.ndarray,
    attribution: np.ndarray,
    fs: float,
    leads: Sequence[str],
    r_index: int,
    *,
    show: Sequence[str] | None = None,
    label: str = "attribution",
    title: str | None = None,
    px_per_mm: float = 7.0,
    max_height_px: int | None = None,
    theme: Theme = THEME,
) -> go.Figure:
    """The beat ``[leads, W]`` (µV, black) on ECG paper with ``attribution`` ``[leads, W]``
    as coloured dots along it (diverging scale symmetric about 0, clipped at the 99th
    percentile of |attribution| over the leads shown; a colour bar titled ``label``)."""
    beat = np.asarray(beat_uv, dtype=np.float32)
    attr = np.asarray(attribution, dtype=np.float64)
    leads = list(leads)
    if beat.shape != attr.shape or beat.ndim != 2 or beat.shape[0] != len(leads):
        raise ValueError(f"beat {list(beat.shape)} and attribution {list(attr.shape)} must "
                         f"both be [leads={len(leads)}, W]")
    show = [name for name in (show or leads) if name in leads] or leads
    fig = beat_panels_figure(beat[None], fs, leads, r_index, show=show, names=["beat"],
                             colors=[theme.trace_color], widths=[theme.trace_width],
                             legend=False, title=title, px_per_mm=px_per_mm,
                             max_height_px=max_height_px, theme=theme)
    picked = np.abs(attr[[leads.index(n) for n in show]])
    finite = picked[np.isfinite(picked)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    top = top if top > 0 else 1.0
    t = (np.arange(beat.shape[1]) - r_index) * (1000.0 / fs)
    first = True
    for i, name in enumerate(n for row in _grid(show, leads) for n in row):
        if name is None:
            continue
        axis_id = "" if i == 0 else str(i + 1)
        li = leads.index(name)
        fig.add_trace(go.Scatter(
            x=t, y=beat[li], mode="markers", name=f"{label} {name}", showlegend=False,
            xaxis=f"x{axis_id}", yaxis=f"y{axis_id}", customdata=attr[li],
            hovertemplate=f"<b>{name}</b><br>%{{x:.0f}} ms<br>{label}: "
                          "%{customdata:.3g}<extra></extra>",
            marker={"size": 4.5, "color": np.clip(attr[li], -top, top), "cmin": -top,
                    "cmax": top, "colorscale": ATTRIBUTION_SCALE, "showscale": first,
                    "line": {"width": 0},
                    "colorbar": {"title": {"text": label, "side": "right",
                                           "font": theme.font(theme.small_size)},
                                 "tickfont": theme.font(theme.small_size), "thickness": 12,
                                 "len": 0.9, "x": 1.01, "xanchor": "left",
                                 "exponentformat": "e"}},
        ))
        first = False
    margin = dict(fig.layout.margin.to_plotly_json())
    extra = 80  # room for the colour bar
    fig.update_layout(margin={**margin, "r": margin.get("r", 10) + extra},
                      width=(fig.layout.width or 0) + extra)
    return fig


def region_bars_figure(
    series: Mapping[str, pd.Series],
    leads: Sequence[str],
    *,
    value_label: str = "Σ |attribution|",
    title: str | None = None,
    height: int = 360,
    width: int = 1000,
    theme: Theme = THEME,
) -> go.Figure:
    """Attribution per region (P, QRS, ST, T, other) and per lead, one bar series per entry
    of ``series`` (a row of :func:`ecgcore.explain.saliency.region_attribution` or of
    its class means: columns ``P`` … ``other`` and ``lead_<name>``), side by side."""
    if not series:
        raise ValueError("no attribution to draw")
    leads = list(leads)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.3, 0.7], horizontal_spacing=0.08,
                        subplot_titles=("By region", "By lead"))
    colors = iter(CATEGORY_COLORS)
    for name, row in series.items():
        color = next(colors, "#777777")
        regions = [float(row.get(r, np.nan)) for r in REGION_ORDER]
        per_lead = [float(row.get(f"lead_{lead}", np.nan)) for lead in leads]
        common = {"name": str(name), "legendgroup": str(name), "marker_color": color,
                  "hovertemplate": "%{x}: %{y:.3g}<extra>" + str(name) + "</extra>"}
        fig.add_trace(go.Bar(x=list(REGION_ORDER), y=regions, **common), row=1, col=1)
        fig.add_trace(go.Bar(x=leads, y=per_lead, showlegend=False, **common), row=1, col=2)
    axis = {"showgrid": True, "gridcolor": "#ececec", "zeroline": True,
            "zerolinecolor": "#999999", "tickfont": theme.font(theme.small_size),
            "exponentformat": "e"}
    fig.update_yaxes(**axis)
    fig.update_yaxes(title={"text": value_label, "font": theme.font(theme.small_size)},
                     row=1, col=1)
    fig.update_xaxes(tickfont=theme.font(theme.small_size), showline=True,
                     linecolor="#bbbbbb")
    fig.update_annotations(font=theme.font(theme.font_size))
    fig.update_layout(
        template="none", font=theme.font(), barmode="group", height=height, width=width,
        title={"text": title, "font": theme.font(theme.title_size), "x": 0.0,
               "xanchor": "left"} if title else None,
        paper_bgcolor="white", plot_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 60 if title else 40, "b": 50},
        legend={"orientation": "h", "x": 0.0, "y": -0.18, "yanchor": "top",
                "font": theme.font(theme.small_size)},
        showlegend=len(series) > 1,
    )
    return fig
