"""ECG traces on true ECG paper: 25 mm/s, 10 mm/mV, 1 mm fine grid and 5 mm bold grid.

Data units are milliseconds (x) and microvolts (y). One paper millimetre is 40 ms and
100 µV, and the y axis is anchored to the x axis so that a millimetre is square on screen
and in exported files. The grid is the axes' own major/minor grid (no thousands of
shapes): bold lines every 200 ms / 500 µV, fine lines every 40 ms / 100 µV, both starting
at 0 so that every lead's baseline lies on a bold line.

Pure Plotly; nothing here changes a signal's values except that each lead of the
record view is drawn around its own median (its baseline) before being offset.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import plotly.graph_objects as go

from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.regions import REGION_LABELS, fiducial_array, region_bounds
from ecgcore.viz.theme import THEME, Theme

#: Standard 3×4 print layout: rows of [limb, augmented, V1–V3, V4–V6] leads.
GRID_3X4: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
#: Wave regions in drawing order.
WAVES: tuple[str, ...] = ("P", "QRS", "ST", "T")

# Left margin of the record view, in ms of paper: lead label, then a 1 mV calibration pulse.
_LABEL_X = -760.0
_CAL_PULSE = ((-360.0, 0.0), (-320.0, 0.0), (-320.0, 1000.0), (-120.0, 1000.0),
              (-120.0, 0.0), (-40.0, 0.0))
_PAPER_LEFT = -800.0
#: Legend of the shading: the regions' own labels (ecgcore.signal.regions).
WAVE_LEGEND = REGION_LABELS


def _floor_to(v: float, step: float) -> float:
    return math.floor(v / step) * step


def _ceil_to(v: float, step: float) -> float:
    return math.ceil(v / step) * step


def paper_axis(
    lo: float, hi: float, minor: float, major: float, theme: Theme = THEME,
    label_every: int = 0, fmt: Callable[[float], str] | None = None, **extra: object,
) -> dict:
    """One axis of ECG paper over ``[lo, hi]`` (data units).

    Bold grid lines are the major ticks (``tickvals`` every ``major``, aligned on 0), fine
    lines the minor ticks (every ``minor``). Every ``label_every``-th major tick is
    labelled with ``fmt(value)``; 0 labels none.
    """
    first = _ceil_to(lo, major)
    vals = np.arange(first, hi + major * 1e-6, major)
    vals = np.round(vals, 6)
    if label_every and fmt is not None:
        text = [fmt(v) if round(v / major) % label_every == 0 else "" for v in vals]
    else:
        text = [""] * len(vals)
    axis = {
        "range": [lo, hi],
        "tickmode": "array", "tickvals": vals.tolist(), "ticktext": text,
        "showgrid": True, "gridcolor": theme.grid_major_color, "gridwidth": theme.grid_major_width,
        "minor": {"tickmode": "linear", "tick0": 0.0, "dtick": minor, "showgrid": True,
                   "gridcolor": theme.grid_minor_color, "gridwidth": theme.grid_minor_width},
        "zeroline": False, "showline": False, "ticks": "", "showticklabels": bool(label_every),
        "tickfont": theme.font(theme.small_size, theme.muted_color),
        "constrain": "domain",
    }
    axis.update(extra)
    return axis


def _seconds(v: float) -> str:
    return f"{v / 1000:g} s"


def _base_layout(theme: Theme, title: str | None) -> dict:
    return {
        "template": "none",
        "font": theme.font(),
        "title": {"text": title, "font": theme.font(theme.title_size), "x": 0.0, "xanchor": "left",
                   "y": 0.995, "yanchor": "top"} if title else None,
        "plot_bgcolor": theme.paper_color,
        "paper_bgcolor": "white",
        "showlegend": False,
        "hovermode": "closest",
        "dragmode": "zoom",
    }


def _auto_row_spacing(y: np.ndarray, pieces: list, n_rows: int, major_uv: float) -> float:
    """Row spacing (µV, a multiple of 5 mm) that keeps adjacent rows from touching.

    Each row's extent is the 0.1th–99.9th percentile of what is drawn in it, so a lone
    artefact spike does not stretch the page; the result is clamped to 15–30 mm. Overlap
    beyond that is allowed, as on printed paper.
    """
    up, down = np.zeros(n_rows), np.zeros(n_rows)
    for r in range(n_rows):
        vals = np.concatenate([y[i, sl] for i, sl, row in pieces if row == r])
        vals = vals[np.isfinite(vals)]
        if vals.size:
            up[r] = max(np.percentile(vals, 99.9), 0.0)
            down[r] = max(-np.percentile(vals, 0.1), 0.0)
    need = (down[:-1] + up[1:]).max(initial=0.0) + 200.0
    return float(min(max(_ceil_to(need, major_uv), 1500.0), 3000.0))


def ecg_paper_figure(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    rpeaks: np.ndarray | Sequence[int] | None = None,
    title: str | None = None,
    *,
    layout: Literal["stack", "3x4"] = "stack",
    row_spacing_uv: float | None = None,
    px_per_mm: float = 4.0,
    theme: Theme = THEME,
) -> go.Figure:
    """A record on ECG paper (25 mm/s, 10 mm/mV), each lead labelled, R peaks marked.

    ``signal`` is µV ``[leads, samples]`` at ``fs``. ``layout='stack'`` draws every lead
    over the whole record, one under the other in the order given; ``layout='3x4'`` is the
    standard print: 2.5 s of I/II/III, aVR/aVL/aVF, V1–V3, V4–V6 side by side plus a lead II
    rhythm strip. Each row starts with a 1 mV × 200 ms calibration pulse. R peaks (sample
    indices into ``signal``) are triangles above the first row, with the RR interval in ms
    between them. ``px_per_mm`` sets the figure's natural size (a page may stretch it).
    """
    sc = theme.scale
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != len(leads):
        raise ValueError(f"signal must be [leads={len(leads)}, samples], got {x.shape}")
    n_leads, n = x.shape
    t = (np.arange(n) * (1000.0 / fs)).astype(np.float32)
    with warnings.catch_warnings():  # an all-NaN (missing) lead has no median
        warnings.simplefilter("ignore", RuntimeWarning)
        base = np.nanmedian(x, axis=1)
    # Each lead drawn around its own median, so that its baseline sits on a bold line.
    y = x - np.nan_to_num(base)[:, None]
    leads = list(leads)

    # pieces: (lead index, sample slice, row index)
    if layout == "stack":
        pieces = [(i, slice(0, n), i) for i in range(n_leads)]
        n_rows = n_leads
    elif layout == "3x4":
        missing = [name for row in GRID_3X4 for name in row if name not in leads]
        if missing:
            raise ValueError(f"the 3x4 layout needs the standard 12 leads; missing {missing}")
        seg = n // 4
        pieces = []
        for r, row in enumerate(GRID_3X4):
            for c, name in enumerate(row):
                stop = n if c == 3 else (c + 1) * seg
                pieces.append((leads.index(name), slice(c * seg, stop), r))
        pieces.append((leads.index("II"), slice(0, n), 3))  # rhythm strip
        n_rows = 4
    else:
        raise ValueError(f"unknown layout {layout!r}; use 'stack' or '3x4'")

    if row_spacing_uv is None:
        spacing = _auto_row_spacing(y, pieces, n_rows, sc.major_uv)
    else:
        spacing = float(row_spacing_uv)
    offsets = -np.arange(n_rows) * spacing  # baseline of each row, on a bold line

    fig = go.Figure()
    hover = "<b>%{fullData.name}</b><br>%{x:.0f} ms<br>%{customdata:.0f} µV<extra></extra>"
    annotations = []
    for i, sl, r in pieces:
        name = leads[i]
        missing_lead = bool(np.all(np.isnan(x[i])))
        # x as x0/dx (no array) and the hover amplitude as int16 keep the figure light.
        fig.add_trace(go.Scatter(
            x0=float(t[sl.start]), dx=1000.0 / fs, y=(y[i, sl] + offsets[r]).astype(np.float32),
            customdata=np.nan_to_num(np.round(y[i, sl])).clip(-32767, 32767).astype(np.int16),
            mode="lines", name=name, hovertemplate=hover,
            line={"color": theme.trace_color, "width": theme.trace_width},
        ))
        label_x = float(t[sl.start]) + 40.0 if sl.start > 0 else _LABEL_X
        is_first = sl.start == 0
        annotations.append({
            "x": label_x, "y": offsets[r] + (0 if is_first else 0.45 * spacing),
            "text": f"<b>{name}</b>" + (" (missing)" if missing_lead else ""),
            "showarrow": False, "xanchor": "left", "yanchor": "middle" if is_first else "bottom",
            "font": theme.font(theme.label_size, theme.muted_color if missing_lead else None),
            "name": f"lead:{name}",
        })
        if not is_first:  # lead-change tick, as printed between 2.5-s segments
            x0 = float(t[sl.start])
            fig.add_shape(type="line", x0=x0, x1=x0, y0=offsets[r] - 300, y1=offsets[r] + 300,
                          line={"color": theme.trace_color, "width": theme.trace_width})

    # 1 mV calibration pulse at the start of every row.
    cx, cy = [], []
    for r in range(n_rows):
        for px, py in _CAL_PULSE:
            cx.append(px)
            cy.append(py + offsets[r])
        cx.append(None)
        cy.append(None)
    fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", name="1 mV calibration",
                             hoverinfo="skip",
                             line={"color": theme.trace_color, "width": theme.trace_width}))

    top = 0.5 * spacing + sc.major_uv
    t_end = float(n * 1000.0 / fs)
    if rpeaks is not None and len(rpeaks):
        rp = np.asarray(rpeaks, dtype=np.int64)
        rp = rp[(rp >= 0) & (rp < n)]
        rt = rp * (1000.0 / fs)
        y_mark = top
        rr = np.diff(rt)
        fig.add_trace(go.Scatter(
            x=rt, y=np.full(rt.size, y_mark), mode="markers", name="R peaks",
            marker={"symbol": "triangle-down", "size": 9, "color": theme.rpeak_color},
            customdata=np.concatenate([[np.nan], rr]) if rt.size else None,
            hovertemplate="R peak at %{x:.0f} ms<br>RR %{customdata:.0f} ms<extra></extra>",
        ))
        for a, b, v in zip(rt[:-1], rt[1:], rr):
            annotations.append({
                "x": (a + b) / 2, "y": y_mark, "text": f"{v:.0f}", "showarrow": False,
                "yanchor": "middle",
                "font": theme.font(theme.small_size, theme.rpeak_color), "name": "rr",
            })
        top += 0.5 * sc.major_uv

    y_lo = _floor_to(offsets[-1] - 0.5 * spacing, sc.major_uv)
    y_hi = _ceil_to(top, sc.major_uv)
    x_lo, x_hi = _PAPER_LEFT, _ceil_to(t_end, sc.major_ms)
    annotations.append({
        "x": 1.0, "y": 0.0, "xref": "paper", "yref": "paper", "xanchor": "right", "yanchor": "top",
        "yshift": -22,
        "text": "25 mm/s · 10 mm/mV · fine grid 1 mm = 40 ms × 0.1 mV",
        "showarrow": False, "font": theme.font(theme.small_size, theme.muted_color),
        "name": "scale",
    })

    width_mm = (x_hi - x_lo) / sc.ms_per_mm
    height_mm = (y_hi - y_lo) / sc.uv_per_mm
    margin = {"l": 10, "r": 10, "t": 40 if title else 10, "b": 45}
    fig.update_layout(
        **_base_layout(theme, title),
        xaxis=paper_axis(x_lo, x_hi, sc.ms_per_mm, sc.major_ms, theme, label_every=5,
                         fmt=_seconds, ticklabelposition="outside"),
        yaxis=paper_axis(y_lo, y_hi, sc.uv_per_mm, sc.major_uv, theme,
                         scaleanchor="x", scaleratio=sc.y_per_x),
        annotations=annotations,
        margin=margin,
        width=int(width_mm * px_per_mm + margin["l"] + margin["r"]),
        height=int(height_mm * px_per_mm + margin["t"] + margin["b"]),
    )
    return fig


def wave_regions(fiducials: Fiducials) -> dict[str, tuple[float, float]]:
    """The P, QRS, ST and T regions of a median beat, in ms relative to R (unclipped).

    The regions are :func:`ecgcore.signal.regions.region_bounds` (the project's one
    definition: ST runs from the J point to midway to the T peak, T from there to T end),
    converted to ms: a region of samples ``[start, stop)`` is drawn from half a sample
    before ``start`` to half a sample before ``stop``, so each sample owns the half sample
    on either side and adjacent regions touch. A region whose fiducials are missing (no P
    in atrial fibrillation, no T end) is left out.
    """
    f = fiducials
    ms = 1000.0 / f.fs
    bounds = region_bounds(fiducial_array(f)[0], None)
    return {name: ((b[0] - 0.5 - f.r) * ms, (b[1] - 0.5 - f.r) * ms)
            for name, b in bounds.items() if b is not None}
