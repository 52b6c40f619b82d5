"""The one publication theme of the workbench: fonts, wave colours and ECG-paper colours.

Every figure function in :mod:`ecgcore.viz` takes its look from here, so that a figure on
screen and the same figure exported for a paper agree. Plain data, no Plotly state.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperScale:
    """The physical scale of standard ECG paper: 25 mm/s and 10 mm/mV.

    One millimetre is 40 ms horizontally and 100 µV vertically; the bold (major) lines
    are every 5 mm, i.e. 200 ms and 500 µV. Figures use ms and µV as data units.
    """

    mm_per_s: float = 25.0
    mm_per_mv: float = 10.0
    major_mm: int = 5

    @property
    def ms_per_mm(self) -> float:
        return 1000.0 / self.mm_per_s

    @property
    def uv_per_mm(self) -> float:
        return 1000.0 / self.mm_per_mv

    @property
    def major_ms(self) -> float:
        return self.ms_per_mm * self.major_mm

    @property
    def major_uv(self) -> float:
        return self.uv_per_mm * self.major_mm

    @property
    def y_per_x(self) -> float:
        """Plotly ``scaleratio`` of the µV axis anchored to the ms axis (a mm is square)."""
        return self.ms_per_mm / self.uv_per_mm


@dataclass(frozen=True)
class Theme:
    """Fonts, sizes and colours of every workbench figure."""

    font_family: str = "Helvetica Neue, Helvetica, Arial, Liberation Sans, sans-serif"
    font_size: int = 12
    title_size: int = 15
    label_size: int = 13  # lead labels
    small_size: int = 10  # RR intervals, captions
    text_color: str = "#1a1a1a"
    muted_color: str = "#555555"
    trace_color: str = "#000000"
    trace_width: float = 1.1
    # ECG paper: 1 mm fine grid in light red, 5 mm bold grid in darker red.
    paper_color: str = "#fffafa"
    grid_minor_color: str = "#f5c6c6"
    grid_minor_width: float = 0.5
    grid_major_color: str = "#e08080"
    grid_major_width: float = 1.0
    rpeak_color: str = "#1f4e99"
    # Wave shading (filled at `wave_opacity`): colour-blind-safe Okabe–Ito hues, chosen
    # away from the red of the paper (no pink/vermillion that would read as grid).
    wave_colors: dict[str, str] = field(
        default_factory=lambda: {
            "P": "#0072B2",  # blue
            "QRS": "#E69F00",  # orange
            "ST": "#009E73",  # bluish green
            "T": "#6A3D9A",  # purple
        }
    )
    wave_opacity: float = 0.2
    scale: PaperScale = field(default_factory=PaperScale)

    def font(self, size: int | None = None, color: str | None = None) -> dict:
        return {"family": self.font_family, "size": size or self.font_size,
                "color": color or self.text_color}


THEME = Theme()


def plotly_config(filename: str = "ecg") -> dict:
    """Plotly ``config`` for showing a workbench figure: vector (SVG) export, no logo."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "svg", "filename": filename},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
