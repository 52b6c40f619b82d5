"""The latent-space map: a 2-D projection of every record (or two latent units on raw
axes) as a WebGL scatter.

Built from whole arrays (one ``Scattergl`` trace per category, or one coloured trace for a
continuous label): no per-point Python work, so 20,000 records stay smooth. Each point's
``customdata`` is its row index in the embedding table, which a selection hands back.

The drag mode is ``zoom``, not ``lasso``: Streamlit (1.67, ``PlotlyChart`` in its frontend
bundle) sets ``clickmode`` from the drag mode of a chart with ``on_select``: ``"event"``
(a click selects nothing) while the drag mode is ``select`` or ``lasso``, and
``"event+select"`` (a click selects the point under the cursor) under ``zoom`` or
``pan`` when ``"points"`` is a selection mode. Lasso and box select stay in the toolbar.
Pure Plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ecgcore.viz.theme import THEME, Theme

#: Okabe–Ito, colour-blind safe; categories take them in order of size.
CATEGORY_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                   "#F0E442", "#000000", "#999933", "#882255", "#44AA99", "#332288")
MISSING_COLOR = "#c8c8c8"
NO_COLOR = "#b9c3cf"  # the 'no' of a flag recedes, its 'yes' stands out
YES_COLOR = "#D55E00"
AXIS_NAMES = {"pca": "PC", "tsne": "t-SNE", "umap": "UMAP"}


def _marker_size(n: int) -> float:
    return 7.0 if n <= 2_000 else 5.0 if n <= 10_000 else 3.5


def latent_scatter_figure(
    xy: np.ndarray,
    values: Sequence | np.ndarray | pd.Series,
    *,
    kind: Literal["continuous", "categorical"],
    label: str,
    record_ids: Sequence[str] | None = None,
    method: str = "pca",
    axis_titles: tuple[str, str] | None = None,
    title: str | None = None,
    colorscale: str = "Viridis",
    height: int = 620,
    theme: Theme = THEME,
) -> go.Figure:
    """Points ``xy`` ``[N, 2]`` coloured by ``values`` (length N).

    ``kind='continuous'``: one trace on a colour scale (1st–99th percentile, so that a few
    outliers do not flatten it), missing values in grey underneath. ``'categorical'``:
    ``values`` are category names (see :func:`ecgcore.data.label_columns.category_names`), one
    trace per category, largest first so that rare ones are drawn on top; a yes/no flag
    shows 'yes' in vermillion over a pale 'no'.

    Axes are titled after ``method`` ('PC 1', 'UMAP 2'…) unless ``axis_titles`` names them
    (raw latent units: ``("z3", "z7")``); zoom and pan survive a change of colour label
    but not of method or axes.
    """
    xy = np.asarray(xy, dtype=np.float32)
    n = len(xy)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must be [N, 2], got {list(xy.shape)}")
    vals = pd.Series(np.asarray(values, dtype=object) if kind == "categorical" else values)
    if len(vals) != n:
        raise ValueError(f"{len(vals)} colour values for {n} points")
    ids = np.asarray(record_ids if record_ids is not None else np.arange(n), dtype=str)
    rows = np.arange(n, dtype=np.int32)
    size = _marker_size(n)
    opacity = 0.85 if n <= 2_000 else 0.7
    axis = AXIS_NAMES.get(method, method)
    titles = tuple(axis_titles) if axis_titles else (f"{axis} 1", f"{axis} 2")
    hover = "record %{text}<br>" + label + ": %{meta}<extra></extra>"
    fig = go.Figure()

    if kind == "continuous":
        v = pd.to_numeric(vals, errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        if (~ok).any():
            fig.add_trace(go.Scattergl(
                x=xy[~ok, 0], y=xy[~ok, 1], mode="markers", name=f"missing ({int((~ok).sum())})",
                customdata=rows[~ok], text=ids[~ok], meta="missing",
                hovertemplate="record %{text}<br>" + label + ": missing<extra></extra>",
                marker={"size": size, "color": MISSING_COLOR, "opacity": opacity},
            ))
        lo, hi = (np.percentile(v[ok], [1, 99]) if ok.any() else (0.0, 1.0))
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        fig.add_trace(go.Scattergl(
            x=xy[ok, 0], y=xy[ok, 1], mode="markers", name=label, showlegend=False,
            customdata=np.stack([rows[ok], v[ok]], axis=1), text=ids[ok],
            hovertemplate="record %{text}<br>" + label + ": %{customdata[1]:.4g}<extra></extra>",
            marker={"size": size, "color": v[ok].astype(np.float32), "colorscale": colorscale,
                    "cmin": float(lo), "cmax": float(hi), "opacity": opacity,
                    "showscale": True,
                    "colorbar": {"title": {"text": label, "side": "top",
                                           "font": theme.font(theme.small_size)},
                                 "thickness": 14, "len": 0.75, "y": 0.0, "yanchor": "bottom",
                                 "tickfont": theme.font(theme.small_size)}},
        ))
        show_legend = bool((~ok).any())  # only the grey 'missing' entry, above the bar
    elif kind == "categorical":
        counts = vals.value_counts()
        order = [c for c in counts.index if c != "missing"]
        flag = set(order) <= {"yes", "no"}
        palette = iter(CATEGORY_COLORS)
        colour = {}
        for cat in order:
            colour[cat] = (YES_COLOR if cat == "yes" else NO_COLOR) if flag else next(
                palette, MISSING_COLOR)
        if "missing" in counts.index:
            order = ["missing"] + order
            colour["missing"] = MISSING_COLOR
        if flag and "yes" in order:  # the flag's 'yes' on top
            order = [c for c in order if c != "yes"] + ["yes"]
        codes = vals.to_numpy()
        for cat in order:
            m = codes == cat
            fig.add_trace(go.Scattergl(
                x=xy[m, 0], y=xy[m, 1], mode="markers",
                name=f"{cat} ({int(m.sum())})", customdata=rows[m], text=ids[m],
                meta=str(cat), hovertemplate=hover,
                marker={"size": size, "color": colour[cat], "opacity": opacity},
            ))
        show_legend = True
    else:
        raise ValueError(f"kind must be 'continuous' or 'categorical', got {kind!r}")

    axis_style = {"showgrid": True, "gridcolor": "#ececec", "zeroline": False,
                  "showline": True, "linecolor": "#bbbbbb", "ticks": "",
                  "tickfont": theme.font(theme.small_size, theme.muted_color)}
    fig.update_layout(
        template="none",
        font=theme.font(),
        title={"text": title, "font": theme.font(theme.title_size), "x": 0.0,
               "xanchor": "left"} if title else None,
        paper_bgcolor="white", plot_bgcolor="white",
        xaxis={**axis_style, "title": {"text": titles[0], "font": theme.font()}},
        yaxis={**axis_style, "title": {"text": titles[1], "font": theme.font()}},
        showlegend=show_legend,
        legend={"title": {"text": label if kind == "categorical" else ""},
                "itemsizing": "constant",
                "font": theme.font(theme.small_size), "orientation": "v",
                "x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top"},
        dragmode="zoom",  # a click selects a point (see the module docstring)
        hovermode="closest",
        margin={"l": 60, "r": 20, "t": 40 if title else 20, "b": 55},
        height=height,
        uirevision=f"{method}|{titles[0]}|{titles[1]}",  # zoom survives a new colour
    )
    return fig


def selected_rows(points: Sequence[dict]) -> list[int]:
    """Row indices (``customdata``) of the points a Plotly selection returns, in order,
    without repeats. A point's customdata is a number, a list whose first item is the
    row, or (a row of a 2-D typed array, as the browser sends it) ``{"0": row, ...}``."""
    out: list[int] = []
    seen: set[int] = set()
    for p in points:
        cd = p.get("customdata")
        if isinstance(cd, dict):  # a typed-array row arrives as {"0": row, "1": value}
            cd = cd.get("0", next(iter(cd.values()), None))
        elif isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        try:
            row = int(cd)
        except (TypeError, ValueError):
            continue
        if row not in seen:
            seen.add(row)
            out.append(row)
    return out
