"""Beats on ECG paper: a record's median beats with P/QRS/ST/T shaded, a median beat
against its reconstruction, and a latent factor's traversal from −3σ to +3σ (optionally
with a Plotly step slider whose steps restyle the figure in the browser; paper exports
drop it, :mod:`ecgcore.viz.export`).

One panel per lead (time from R in ms, amplitude in µV, 25 mm/s and 10 mm/mV with square
millimetres, as :mod:`ecgcore.viz.ecg_paper`); every panel shares one amplitude range so
that leads compare. Pure Plotly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ecgcore.signal.fiducials import Fiducials
from ecgcore.viz.ecg_paper import GRID_3X4, WAVE_LEGEND, WAVES, wave_regions
from ecgcore.viz.panels import panel_grid
from ecgcore.viz.theme import THEME, Theme

#: Reconstruction colour: a blue that reads against the black beat and the red grid.
RECON_COLOR = "#1f5fbf"
#: Diverging colour scale of a traversal, −span σ (blue) → 0 (grey) → +span σ (orange),
#: colour-blind safe and away from the paper's reds.
SIGMA_SCALE = [[0.0, "#08306b"], [0.25, "#4f8fcb"], [0.5, "#9a9a9a"], [0.75, "#e08a2c"],
               [1.0, "#7f3b08"]]


#: The 12 leads as two rows: limb leads, then chest leads (beats are tall and narrow on
#: paper, so two wide rows use a page better than the 3 × 4 print).
LIMB_CHEST = (("I", "II", "III", "aVR", "aVL", "aVF"), ("V1", "V2", "V3", "V4", "V5", "V6"))


def _lead_grid(leads: list[str], standard: tuple[tuple[str, ...], ...],
               max_cols: int) -> list[list[str | None]]:
    """``standard`` when ``leads`` are exactly its leads, else rows of up to ``max_cols``."""
    if sorted(leads) == sorted(name for row in standard for name in row):
        return [list(row) for row in standard]
    cols = min(len(leads), max_cols)
    rows = -(-len(leads) // cols)
    return [[leads[r * cols + c] if r * cols + c < len(leads) else None for c in range(cols)]
            for r in range(rows)]


def beat_grid(show: list[str]) -> list[list[str | None]]:
    """The panel layout of :func:`beat_panels_figure` (lead names by row, None: empty)."""
    return _lead_grid(show, LIMB_CHEST, 6)


#: Height of one row of a horizontal legend (px) at the theme's small font size.
LEGEND_ROW_PX = 20


def _legend_rows(names: Sequence[str], width_px: float, font_px: float) -> int:
    """Rows a horizontal Plotly legend of ``names`` takes in ``width_px``: each entry is
    its line sample (40 px) and its text (about 0.6 em a character), packed left to right."""
    rows, used = 1, 0.0
    for name in names:
        w = 40.0 + 0.6 * font_px * len(str(name)) + 10.0
        if used and used + w > width_px:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def beat_panels_figure(
    beats_uv: np.ndarray,
    fs: float,
    leads: Sequence[str],
    r_index: int,
    *,
    show: Sequence[str] | None = None,
    names: Sequence[str],
    colors: Sequence[str],
    widths: Sequence[float] | None = None,
    opacities: Sequence[float] | None = None,
    legend: bool = True,
    title: str | None = None,
    px_per_mm: float = 7.0,
    max_height_px: int | None = None,
    range_beats: np.ndarray | None = None,
    theme: Theme = THEME,
) -> go.Figure:
    """Beats ``[k, leads, W]`` (µV) overlaid per lead on ECG paper; curve j is drawn with
    ``names[j]``, ``colors[j]``, ``widths[j]``, in order (the last on top).

    ``range_beats`` (``[m, leads, W]`` µV, e.g. the record's own median beat): the
    amplitude range (and so the panels' height) is fitted to these alone, and whatever
    else goes beyond it is clipped at the panel's edge; default: every beat drawn. The
    legend gets a top margin of its own (one line per row of entries), so that many or
    long names never shrink the panels.

    ``show`` picks and orders the leads (default all; the 12 standard leads as a row of
    limb leads over a row of chest leads; others in rows of up to six). Time is in ms from
    the R peak at sample ``r_index``. The natural size is ``px_per_mm`` pixels per paper millimetre, smaller when needed to keep the figure
    within ``max_height_px`` (a tall beat then keeps its true proportions).
    """
    b = np.asarray(beats_uv, dtype=np.float32)
    leads = list(leads)
    if b.ndim != 3 or b.shape[1] != len(leads):
        raise ValueError(f"beats must be [k, leads={len(leads)}, W], got {list(b.shape)}")
    k, _, w = b.shape
    if not (len(names) == len(colors) == k):
        raise ValueError(f"{k} beats need {k} names and colours")
    widths = list(widths) if widths is not None else [theme.trace_width + 0.3] * k
    opacities = list(opacities) if opacities is not None else [1.0] * k
    show = [name for name in (show or leads) if name in leads] or leads
    t0 = -r_index * 1000.0 / fs
    lead_rows = [leads.index(name) for name in show]
    picked = b[:, lead_rows]
    if range_beats is not None:
        ref = np.asarray(range_beats, dtype=np.float32)
        if ref.ndim != 3 or ref.shape[1:] != b.shape[1:]:
            raise ValueError(f"range_beats must be [m, {len(leads)}, {w}], got {list(ref.shape)}")
        picked = ref[:, lead_rows]
    grid = panel_grid(beat_grid(show), (t0, t0 + (w - 1) * 1000.0 / fs), picked,
                      spacing=(0.02, 0.06), theme=theme)
    hover = "<b>%{fullData.name}</b><br>%{x:.0f} ms<br>%{y:.0f} µV<extra></extra>"
    for p in grid.panels:
        li = leads.index(p.lead)
        for j in range(k):
            grid.fig.add_trace(go.Scatter(
                x0=t0, dx=1000.0 / fs, y=b[j, li], mode="lines", name=names[j],
                legendgroup=names[j], showlegend=legend and p is grid.panels[0],
                hovertemplate=hover, opacity=opacities[j],
                line={"color": colors[j], "width": widths[j]},
            ), row=p.row, col=p.col)
    margin = {"l": 50, "r": 10, "t": (34 if legend else 10) + (26 if title else 0), "b": 48}
    fig = grid.finish(title=title, margin=margin, px_per_mm=px_per_mm,
                      max_height_px=max_height_px)
    if legend:
        # rows the legend will take at this width; the margin grows with them and the
        # figure with the margin, so that the panels keep their paper size
        rows = _legend_rows(names, fig.layout.width - margin["l"] - margin["r"],
                            theme.small_size)
        extra = LEGEND_ROW_PX * (rows - 1)
        fig.update_layout(margin={"t": margin["t"] + extra}, height=fig.layout.height + extra)
        fig.update_layout(showlegend=True, legend={
            "orientation": "h", "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
            "font": theme.font(theme.small_size), "bgcolor": "rgba(0,0,0,0)",
            "itemdoubleclick": False})
    return fig


def median_beat_figure(
    median: np.ndarray,
    fs: float,
    leads: Sequence[str],
    fiducials: Fiducials,
    *,
    title: str | None = None,
    px_per_mm: float = 8.0,
    theme: Theme = THEME,
) -> go.Figure:
    """The median beat of every lead on ECG paper, P/QRS/ST/T shaded (see :func:`wave_regions`).

    ``median`` is µV ``[leads, W]`` and ``fiducials`` index into it. The 12 standard leads
    are laid out as the usual 3×4 print (I–III, aVR–aVF, V1–V3, V4–V6 in columns); other
    lead sets fill rows of four. Time is in ms relative to R; all panels share one
    amplitude range, so amplitudes compare across leads. Values are drawn as given (the
    pipeline's cleaned, high-passed beat; no extra baseline correction).
    """
    m = np.asarray(median, dtype=np.float32)
    leads = list(leads)
    if m.ndim != 2 or m.shape[0] != len(leads):
        raise ValueError(f"median must be [leads={len(leads)}, W], got {m.shape}")
    t0 = -fiducials.r * 1000.0 / fs
    x_range = (t0, t0 + (m.shape[1] - 1) * 1000.0 / fs)
    grid = panel_grid(_lead_grid(leads, GRID_3X4, 4), x_range, m, spacing=(0.012, 0.035), theme=theme)
    regions = wave_regions(fiducials)
    t = t0 + np.arange(m.shape[1], dtype=np.float32) * (1000.0 / fs)
    hover = "<b>%{fullData.name}</b><br>%{x:.0f} ms<br>%{y:.0f} µV<extra></extra>"
    for p in grid.panels:
        for wave in WAVES:
            if wave not in regions:
                continue
            a, b = max(regions[wave][0], x_range[0]), min(regions[wave][1], x_range[1])
            if b <= a:
                continue  # region outside the window
            grid.fig.add_shape(type="rect", xref=p.xref, yref=f"{p.yref} domain", x0=a, x1=b,
                               y0=0, y1=1, fillcolor=theme.wave_colors[wave],
                               opacity=theme.wave_opacity, line_width=0, layer="below",
                               name=f"{wave}:{p.lead}")
        grid.fig.add_trace(go.Scatter(
            x=t, y=m[leads.index(p.lead)], mode="lines", name=p.lead, hovertemplate=hover,
            line={"color": theme.trace_color, "width": theme.trace_width + 0.3},
            showlegend=False,
        ), row=p.row, col=p.col)
    # Legend of the shading: one square marker per wave present.
    for wave in WAVES:
        if wave in regions:
            grid.fig.add_trace(go.Scatter(
                x=[None], y=[None], mode="markers", name=WAVE_LEGEND[wave],
                marker={"symbol": "square", "size": 13, "color": theme.wave_colors[wave],
                        "opacity": min(1.0, theme.wave_opacity * 3)},
                showlegend=True, hoverinfo="skip",
            ))
    fig = grid.finish(title=title, margin={"l": 50, "r": 10, "t": 70 if title else 40, "b": 45},
                      px_per_mm=px_per_mm)
    fig.update_layout(
        showlegend=True,
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                    "font": theme.font(theme.small_size), "bgcolor": "rgba(0,0,0,0)",
                    "itemclick": False, "itemdoubleclick": False},
    )
    return fig


def reconstruction_figure(
    original_uv: np.ndarray,
    reconstruction_uv: np.ndarray | None,
    fs: float,
    leads: Sequence[str],
    r_index: int,
    *,
    show: Sequence[str] = ("II", "V5"),
    title: str | None = None,
    px_per_mm: float = 6.0,
    max_height_px: int | None = None,
    theme: Theme = THEME,
) -> go.Figure:
    """A record's median beat (black) and the model's reconstruction (blue) on ECG paper,
    leads ``show`` side by side; ``reconstruction_uv=None`` draws the beat alone."""
    beats = [np.asarray(original_uv, dtype=np.float32)]
    names, colors = ["median beat"], [theme.trace_color]
    widths = [theme.trace_width + 0.4]
    if reconstruction_uv is not None:
        beats.append(np.asarray(reconstruction_uv, dtype=np.float32))
        names.append("reconstruction")
        colors.append(RECON_COLOR)
        widths.append(theme.trace_width + 0.4)
    return beat_panels_figure(np.stack(beats), fs, leads, r_index, show=show, names=names,
                              colors=colors, widths=widths, title=title, px_per_mm=px_per_mm,
                              max_height_px=max_height_px, theme=theme)


def sigma_label(s: float) -> str:
    """A traversal step's label: '−3σ', '0σ', '+1.5σ' (typographic minus)."""
    return "0σ" if abs(s) < 1e-9 else f"{s:+g}σ".replace("-", "−")


#: Bottom margin (px) added under a traversal figure for its step slider.
SLIDER_PX = 56


def _step_styles(sigmas: np.ndarray, highlight: int | None, theme: Theme) -> dict[str, list]:
    """Per step: line colour and width, opacity and z-order, with step ``highlight`` (if any)
    black, thicker and on top of the others, which fade."""
    span = float(np.max(np.abs(sigmas))) or 1.0
    n = len(sigmas)
    styles = {
        "line.color": sample_colorscale(SIGMA_SCALE, list((sigmas + span) / (2 * span))),
        "line.width": [theme.trace_width + 0.3] * n,
        "opacity": [0.9 if highlight is None else 0.55] * n,
        "zorder": [0] * n,
    }
    if highlight is not None:
        if not 0 <= highlight < n:
            raise IndexError(f"highlight {highlight} out of range for {n} steps")
        styles["line.color"][highlight] = theme.trace_color
        styles["line.width"][highlight] = theme.trace_width + 1.3
        styles["opacity"][highlight] = 1.0
        styles["zorder"][highlight] = 1
    return styles


def _per_trace(styles: dict[str, list], n_panels: int) -> dict[str, list]:
    """Step styles repeated for every panel (traces are panel-major, steps in order)."""
    return {attr: values * n_panels for attr, values in styles.items()}


def _step_slider(sigmas: np.ndarray, n_panels: int, active: int, label_index: int,
                 unit_name: str, plot_width: float, theme: Theme) -> dict:
    """A Plotly slider under the figure, one step per σ: each step restyles the beat traces
    in the browser (no server round trip) and rewrites the 'black: …' annotation."""
    traces = list(range(n_panels * len(sigmas)))
    steps = [{
        "label": sigma_label(v), "method": "update", "execute": True,
        "args": [_per_trace(_step_styles(sigmas, k, theme), n_panels),
                 {f"annotations[{label_index}].text": f"black: {unit_name} at {sigma_label(v)}"},
                 traces],
    } for k, v in enumerate(sigmas)]
    return {
        "name": "step", "active": active, "steps": steps,
        "currentvalue": {"visible": False}, "transition": {"duration": 0},
        "x": 0.0, "xanchor": "left", "y": 0.0, "yanchor": "top",
        "len": min(1.0, 420.0 / max(plot_width, 1.0)),
        "pad": {"t": 46, "b": 0, "l": 0, "r": 0},
        "font": theme.font(theme.small_size), "tickcolor": theme.muted_color,
        "bordercolor": theme.muted_color, "borderwidth": 1,
    }


def traversal_figure(
    beats_uv: np.ndarray,
    sigmas: Sequence[float],
    fs: float,
    leads: Sequence[str],
    r_index: int,
    *,
    show: Sequence[str] | None = ("II", "V2", "V5"),
    highlight: int | None = None,
    slider: bool = False,
    unit_name: str = "z",
    title: str | None = None,
    px_per_mm: float = 7.0,
    max_height_px: int | None = None,
    theme: Theme = THEME,
) -> go.Figure:
    """Decoded beats along one latent unit (``[n_steps, leads, W]`` µV at ``sigmas``),
    overlaid per lead and coloured by σ (blue −, grey 0, orange +, with a colour bar).

    ``highlight`` (a step index) is drawn on top in black and thicker, the others faded.
    ``slider=True`` adds a Plotly slider under the figure, one step per σ, that moves the
    highlight in the browser (it starts at ``highlight``, else the step nearest 0σ); traces
    are panel-major in step order (trace ``p * n_steps + k`` is step k of panel p).
    """
    b = np.asarray(beats_uv, dtype=np.float32)
    s = np.asarray(sigmas, dtype=float)
    if b.ndim != 3 or len(s) != b.shape[0]:
        raise ValueError(f"{len(s)} σ values for beats of shape {list(b.shape)}")
    if slider and highlight is None:
        highlight = int(np.argmin(np.abs(s)))
    span = float(np.max(np.abs(s))) or 1.0
    styles = _step_styles(s, highlight, theme)
    fig = beat_panels_figure(
        b, fs, leads, r_index, show=show, names=[f"{unit_name} {sigma_label(v)}" for v in s],
        colors=styles["line.color"], widths=styles["line.width"], opacities=styles["opacity"],
        legend=False, title=title, px_per_mm=px_per_mm, max_height_px=max_height_px,
        theme=theme)
    n_panels = len(fig.data) // len(s)
    for trace, z in zip(fig.data, styles["zorder"] * n_panels):
        trace.zorder = z  # the highlighted beat on top of the others
    # The σ colour bar: an invisible marker trace carries the scale.
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
        name="σ scale",
        marker={"color": [-span, span], "cmin": -span, "cmax": span,
                "colorscale": SIGMA_SCALE, "showscale": True,
                "colorbar": {"title": {"text": f"{unit_name} (σ)", "side": "right",
                                       "font": theme.font(theme.small_size)},
                             "tickvals": list(s) if len(s) <= 13 else None,
                             "ticktext": [sigma_label(v) for v in s] if len(s) <= 13 else None,
                             "tickfont": theme.font(theme.small_size),
                             "thickness": 12, "len": 0.9, "x": 1.01, "xanchor": "left"}},
    ))
    margin = dict(fig.layout.margin.to_plotly_json())
    extra = 70
    fig.update_layout(margin={**margin, "r": margin.get("r", 10) + extra},
                      width=(fig.layout.width or 0) + extra)
    if highlight is not None:
        fig.add_annotation(
            x=1.0, y=0.0, xref="paper", yref="paper", xanchor="right", yanchor="top",
            yshift=-24, showarrow=False, name="highlight",
            text=f"black: {unit_name} at {sigma_label(s[highlight])}",
            font=theme.font(theme.small_size, theme.text_color))
    if slider:
        _add_slider(fig, s, n_panels, highlight, unit_name, theme)
    return fig


def _add_slider(fig: go.Figure, sigmas: np.ndarray, n_panels: int, active: int,
                unit_name: str, theme: Theme) -> None:
    """The step slider in a taller bottom margin; ``layout.meta["controls_margin"]`` says
    how much, so that a paper export (which drops the slider) gives it back."""
    m = fig.layout.margin
    plot_width = fig.layout.width - m.l - m.r
    label_index = len(fig.layout.annotations) - 1  # the 'black: …' annotation
    fig.update_layout(
        sliders=[_step_slider(sigmas, n_panels, active, label_index, unit_name, plot_width,
                              theme)],
        margin={"b": m.b + SLIDER_PX}, height=fig.layout.height + SLIDER_PX,
        meta={"controls_margin": {"b": SLIDER_PX}})
