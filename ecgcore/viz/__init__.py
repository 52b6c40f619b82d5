"""Pure Plotly figure functions (never Streamlit): ECG paper, median beats, overlaid beats
(reconstruction, factor traversal), the latent-space map, the theme."""

from ecgcore.viz.beats import beat_panels_figure, reconstruction_figure, traversal_figure
from ecgcore.viz.ecg_paper import (
    ecg_paper_figure,
    median_beat_figure,
    paper_axis,
    wave_regions,
)
from ecgcore.viz.latent import latent_scatter_figure, selected_rows
from ecgcore.viz.theme import THEME, PaperScale, Theme, plotly_config

__all__ = [
    "THEME", "PaperScale", "Theme", "beat_panels_figure", "ecg_paper_figure",
    "latent_scatter_figure", "median_beat_figure", "paper_axis", "plotly_config",
    "reconstruction_figure", "selected_rows", "traversal_figure", "wave_regions",
]
