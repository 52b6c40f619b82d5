"""Saliency figures: an attribution map drawn along the beat (or along the whole 10-s
signal, for models that read signals) on ECG paper, and bars of the attribution per
P/QRS/ST/T region and per lead (one bar series per predictor or class).

Pure Plotly; the beat panels come from :func:`ecgcore.viz.beats.beat_panels_figure` and the
signal from :func:`ecgcore.viz.ecg_paper.ecg_paper_figure`, so a saliency figure has the
same paper, scale and lead layout as the other figures. Both colour the attribution the
same way (:func:`_color_top`, :func:`_markers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.signal.regions import REGIONS, fiducial_array, region_bounds
from ecgcore.viz.beats import beat_grid, beat_panels_figure
from ecgcore.viz.ecg_paper import ecg_paper_figure
from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME, Theme

#: Diverging, colour-blind safe: negative blue, zero pale, positive vermillion.
ATTRIBUTION_SCALE = [[0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"],
                     [0.75, "#ef8a62"], [1.0, "#b2182b"]]
REGION_ORDER: tuple[str, ...] = (*REGIONS, "other")


def _inputs(x_uv: np.ndarray, attribution: np.ndarray, leads: Sequence[str],
            show: Sequence[str] | None, what: str, length: str
            ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """``x`` and its attribution as arrays of one ``[leads, length]`` shape (else a clear
    error), the leads as a list and the leads to show (default all)."""
    x = np.asarray(x_uv, dtype=np.float32)
    attr = np.asarray(attribution, dtype=np.float64)
    leads = list(leads)
    if x.shape != attr.shape or x.ndim != 2 or x.shape[0] != len(leads):
        raise ValueError(f"{what} {list(x.shape)} and attribution {list(attr.shape)} must "
                         f"both be [leads={len(leads)}, {length}]")
    return x, attr, leads, [name for name in (show or leads) if name in leads] or leads


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
    band: bool = True,
    fiducials: np.ndarray | None = None,
    theme: Theme = THEME,
) -> go.Figure:
    """The beat ``[leads, W]`` (µV, black) on ECG paper with ``attribution`` ``[leads, W]``
    in colour (diverging scale symmetric about 0, clipped at the 99th percentile of
    |attribution| over the leads shown; a colour bar titled ``label``).

    ``band``: the attribution is a strip of colour along the bottom of each panel, under
    the beat, so that the black beat stays whole where the attribution is near 0 (pale);
    else coloured dots on the beat itself.

    ``fiducials`` (the beat's ``[7]`` cache row, sample indices into the window): the P,
    QRS, ST and T regions are shaded behind the beat, from
    :func:`ecgcore.signal.regions.region_bounds`, the same regions the bars of
    :func:`region_bars_figure` sum over (so a shaded ST is the ST that is summed); the
    shading stops above the band, and the first panel names the regions."""
    beat, attr, leads, show = _inputs(beat_uv, attribution, leads, show, "beat", "W")
    fig = beat_panels_figure(beat[None], fs, leads, r_index, show=show, names=["beat"],
                             colors=[theme.trace_color], widths=[theme.trace_width],
                             legend=False, title=title, px_per_mm=px_per_mm,
                             max_height_px=max_height_px, theme=theme)
    top = _color_top(attr[[leads.index(n) for n in show]])
    t = (np.arange(beat.shape[1]) - r_index) * (1000.0 / fs)
    bounds = region_bounds(fiducial_array(fiducials)[0], beat.shape[1]) \
        if fiducials is not None else {}
    first = True
    for i, name in enumerate(n for row in beat_grid(show) for n in row):
        if name is None:
            continue
        axis_id = "" if i == 0 else str(i + 1)
        li = leads.index(name)
        y = beat[li]
        rng = fig.layout[f"yaxis{axis_id}"].range
        if band and rng is not None:  # a strip at the panel's foot, clear of the beat
            lo, hi = sorted(rng)
            y = np.full(beat.shape[1], lo + 0.05 * (hi - lo), dtype=np.float32)
        _shade_regions(fig, bounds, r_index, fs, axis_id, names=first,
                       bottom=0.1 if band else 0.0, theme=theme)
        fig.add_trace(_markers(name, label, top, attr[li], first, theme, x=t, y=y,
                               xaxis=f"x{axis_id}", yaxis=f"y{axis_id}",
                               symbol="square" if band else "circle",
                               size=6.0 if band else 4.5))
        first = False
    if any(span is not None for span in bounds.values()):  # room for the region names
        margin = dict(fig.layout.margin.to_plotly_json())
        fig.update_layout(margin={**margin, "t": margin.get("t", 10) + 16},
                          height=(fig.layout.height or 0) + 16)
    return _colorbar_room(fig)


def saliency_signal_figure(
    signal_uv: np.ndarray,
    attribution: np.ndarray,
    fs: float,
    leads: Sequence[str],
    rpeaks: np.ndarray | Sequence[int] | None = None,
    *,
    show: Sequence[str] | None = None,
    label: str = "attribution",
    title: str | None = None,
    px_per_mm: float = 4.6,
    theme: Theme = THEME,
) -> go.Figure:
    """The 10-s signal ``[leads, T]`` (µV, black) on ECG paper, the leads ``show`` stacked,
    R peaks marked (▼, with RR in ms), and ``attribution`` ``[leads, T]`` as coloured dots
    along it, on the same colour scale as :func:`saliency_beat_figure`."""
    sig, attr, leads, show = _inputs(signal_uv, attribution, leads, show, "signal", "T")
    idx = [leads.index(n) for n in show]
    fig = ecg_paper_figure(sig[idx], fs, show, rpeaks, title, layout="stack",
                           px_per_mm=px_per_mm, theme=theme)
    top = _color_top(attr[idx])
    first = True
    for trace in list(fig.data):  # one line per lead, offset onto its own row
        if trace.mode != "lines" or trace.name not in show:
            continue
        start = round(float(trace.x0) * fs / 1000.0)
        values = attr[leads.index(trace.name), start:start + len(trace.y)]
        # smaller dots than on a beat: a strip has 4 to 20 samples per paper millimetre
        fig.add_trace(_markers(trace.name, label, top, values, first, theme, size=3.0,
                               x0=trace.x0, dx=trace.dx, y=trace.y))
        first = False
    return _colorbar_room(fig)


def _shade_regions(fig: go.Figure, bounds: Mapping[str, tuple[int, int] | None],
                   r_index: int, fs: float, axis_id: str, *, names: bool, bottom: float,
                   theme: Theme) -> None:
    """P/QRS/ST/T rectangles (half-open sample bounds, drawn from the first sample's start
    to the last one's end) behind one panel's beat; ``names``: their names at the top."""
    ms = 1000.0 / fs
    for region, span in bounds.items():
        if span is None:
            continue
        x0, x1 = (span[0] - r_index - 0.5) * ms, (span[1] - r_index - 0.5) * ms
        fig.add_shape(type="rect", xref=f"x{axis_id}", yref=f"y{axis_id} domain", x0=x0,
                      x1=x1, y0=bottom, y1=1.0, fillcolor=theme.wave_colors[region],
                      opacity=theme.wave_opacity * 0.8, line_width=0, layer="below",
                      name=f"region {region}")
        if names:
            fig.add_annotation(x=(x0 + x1) / 2, y=1.0, xref=f"x{axis_id}",
                               yref=f"y{axis_id} domain", yanchor="bottom", text=region,
                               showarrow=False, name=f"region:{region}",
                               font=theme.font(theme.small_size, theme.wave_colors[region]))


def _color_top(attr: np.ndarray) -> float:
    """The colour scale's end: the 99th percentile of |attribution| (1 when all zero)."""
    finite = np.abs(attr[np.isfinite(attr)])
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    return top if top > 0 else 1.0


def _markers(lead: str, label: str, top: float, values: np.ndarray, colorbar: bool,
             theme: Theme, size: float = 4.5, symbol: str = "circle", **where) -> go.Scatter:
    """Dots along a lead's trace coloured by ``values`` (the colour bar on the first)."""
    return go.Scatter(
        mode="markers", name=f"{label} {lead}", showlegend=False, customdata=values,
        hovertemplate=f"<b>{lead}</b><br>%{{x:.0f}} ms<br>{label}: "
                      "%{customdata:.3g}<extra></extra>",
        marker={"size": size, "symbol": symbol, "color": np.clip(values, -top, top),
                "cmin": -top, "cmax": top,
                "colorscale": ATTRIBUTION_SCALE, "showscale": colorbar, "line": {"width": 0},
                "colorbar": {"title": {"text": label, "side": "right",
                                       "font": theme.font(theme.small_size)},
                             "tickfont": theme.font(theme.small_size), "thickness": 12,
                             "len": 0.9, "x": 1.01, "xanchor": "left",
                             "exponentformat": "e"}},
        **where,
    )


def _colorbar_room(fig: go.Figure, extra: int = 80) -> go.Figure:
    margin = dict(fig.layout.margin.to_plotly_json())
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
