"""A grid of one-beat panels on ECG paper, shared by every beat figure of
:mod:`ecgcore.viz.beats` (the median beat, overlaid beats, factor traversals).

Every panel shares one time range (ms from R) and one amplitude range (µV, fitted to what
is drawn, whole 5 mm squares with 0 inside), so amplitudes compare across leads; the
figure is sized so that every panel has exactly its paper proportions (25 mm/s, 10 mm/mV,
square millimetres). Callers add their traces and shapes per :class:`Panel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.viz.ecg_paper import _base_layout, _ceil_to, _floor_to, paper_axis
from ecgcore.viz.theme import THEME, Theme

SCALE_NOTE = "time from R (ms) · 25 mm/s · 10 mm/mV · fine grid 1 mm = 40 ms × 0.1 mV"


def _minus(text: str) -> str:
    return text.replace("-", "−")


@dataclass(frozen=True)
class Panel:
    """One lead's cell: ``row``/``col`` (1-based, for ``add_trace``), axis references."""

    row: int
    col: int
    lead: str
    xref: str
    yref: str


@dataclass
class PanelGrid:
    fig: go.Figure
    panels: list[Panel]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    shape: tuple[int, int]  # rows, columns
    spacing: tuple[float, float]  # horizontal, vertical (fractions of the plot area)
    theme: Theme = THEME
    annotations: list[dict] = field(default_factory=list)

    def finish(self, *, title: str | None, margin: dict, px_per_mm: float,
               max_height_px: int | None = None) -> go.Figure:
        """Lead labels, the scale note and the size: ``px_per_mm`` pixels per paper
        millimetre, less when needed to stay within ``max_height_px``."""
        theme, sc = self.theme, self.theme.scale
        notes = [{
            "x": 0.03, "y": 0.97, "xref": f"{p.xref} domain", "yref": f"{p.yref} domain",
            "xanchor": "left", "yanchor": "top", "text": f"<b>{p.lead}</b>", "showarrow": False,
            "font": theme.font(theme.label_size), "name": f"lead:{p.lead}",
        } for p in self.panels]
        notes.append({
            "x": 0.0, "y": 0.0, "xref": "paper", "yref": "paper", "xanchor": "left",
            "yanchor": "top", "yshift": -24, "text": SCALE_NOTE, "showarrow": False,
            "font": theme.font(theme.small_size, theme.muted_color), "name": "scale",
        })
        (n_rows, n_cols), (h_space, v_space) = self.shape, self.spacing
        rows_mm = n_rows * (self.y_range[1] - self.y_range[0]) / sc.uv_per_mm
        rows_fraction = 1 - (n_rows - 1) * v_space
        if max_height_px:
            fit = (max_height_px - margin["t"] - margin["b"]) * rows_fraction / rows_mm
            px_per_mm = min(px_per_mm, fit)
        panel_w = (self.x_range[1] - self.x_range[0]) / sc.ms_per_mm * px_per_mm
        self.fig.update_layout(
            **_base_layout(theme, title),
            annotations=notes + self.annotations,
            margin=margin,
            width=round(n_cols * panel_w / (1 - (n_cols - 1) * h_space)
                        + margin["l"] + margin["r"]),
            height=round(rows_mm * px_per_mm / rows_fraction + margin["t"] + margin["b"]),
        )
        return self.fig


def panel_grid(grid: list[list[str | None]], x_range: tuple[float, float], values_uv: np.ndarray,
               *, spacing: tuple[float, float], theme: Theme = THEME) -> PanelGrid:
    """Subplots for ``grid`` (lead names by row; None leaves a cell empty) with ECG-paper
    axes; the amplitude range covers ``values_uv`` with 100 µV to spare."""
    sc = theme.scale
    finite = np.asarray(values_uv)[np.isfinite(values_uv)]
    lo = float(finite.min()) if finite.size else -500.0
    hi = float(finite.max()) if finite.size else 500.0
    y_range = (_floor_to(min(lo, 0.0) - 100.0, sc.major_uv),
               _ceil_to(max(hi, 0.0) + 100.0, sc.major_uv))
    n_rows, n_cols = len(grid), len(grid[0])
    h_space, v_space = spacing[0], spacing[1] if n_rows > 1 else 0.0
    fig = make_subplots(rows=n_rows, cols=n_cols, horizontal_spacing=h_space,
                        vertical_spacing=v_space)
    panels = []
    for r, row in enumerate(grid):
        for c, lead in enumerate(row):
            i = r * n_cols + c + 1
            axis_id = "" if i == 1 else str(i)
            bottom, left = r == n_rows - 1, c == 0
            fig.update_layout({
                f"xaxis{axis_id}": paper_axis(
                    *x_range, sc.ms_per_mm, sc.major_ms, theme, label_every=2 if bottom else 0,
                    fmt=lambda v: _minus(f"{v:g}"), ticklabelstandoff=3),
                f"yaxis{axis_id}": paper_axis(
                    *y_range, sc.uv_per_mm, sc.major_uv, theme, label_every=2 if left else 0,
                    fmt=lambda v: _minus(f"{v / 1000:g}"), ticklabelstandoff=5,
                    scaleanchor=f"x{axis_id}", scaleratio=sc.y_per_x,
                    title={"text": "mV", "font": theme.font(theme.small_size)} if left else None),
            })
            if lead is not None:
                panels.append(Panel(r + 1, c + 1, lead, f"x{axis_id}", f"y{axis_id}"))
    return PanelGrid(fig, panels, x_range, y_range, (n_rows, n_cols), (h_space, v_space), theme)
