"""Pure Plotly figure functions (never Streamlit): ECG paper, median beats, the theme."""

from ecgcore.viz.ecg_paper import (
    ecg_paper_figure,
    median_beat_figure,
    paper_axis,
    wave_regions,
)
from ecgcore.viz.theme import THEME, PaperScale, Theme, plotly_config

__all__ = [
    "THEME", "PaperScale", "Theme", "ecg_paper_figure", "median_beat_figure", "paper_axis",
    "plotly_config", "wave_regions",
]
