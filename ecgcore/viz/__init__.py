"""Pure Plotly figure functions (never Streamlit): ECG paper, median beats, overlaid beats
(reconstruction, factor traversal), the latent-space map, saliency and score figures,
the theme; :mod:`ecgcore.viz.export` turns any of them into PNG/SVG/PDF for papers."""

from ecgcore.viz.beats import (
    beat_panels_figure,
    median_beat_figure,
    reconstruction_figure,
    sigma_label,
    traversal_figure,
)
from ecgcore.viz.ecg_paper import (
    ecg_paper_figure,
    paper_axis,
    wave_regions,
)
from ecgcore.viz.latent import latent_scatter_figure, selected_rows
from ecgcore.viz.saliency import region_bars_figure, saliency_beat_figure, saliency_signal_figure
from ecgcore.viz.scores import clustering_figure, label_fraction_curves, label_fraction_figure
from ecgcore.viz.theme import THEME, PaperScale, Theme, plotly_config

__all__ = [
    "THEME", "PaperScale", "Theme", "beat_panels_figure", "clustering_figure",
    "ecg_paper_figure", "label_fraction_curves", "label_fraction_figure",
    "latent_scatter_figure", "median_beat_figure", "paper_axis", "plotly_config",
    "reconstruction_figure", "region_bars_figure", "saliency_beat_figure",
    "saliency_signal_figure", "selected_rows", "sigma_label", "traversal_figure", "wave_regions",
]
