"""A beat-token model's attention over the beats, drawn on the record itself.

Each beat the model read is a band behind the trace on ECG paper, from its first to its
last sample, shaded with opacity proportional to its attention weight (the most attended
beat darkest), its weight written above it. Attention says how much each beat counted in
the model's pooled summary of the record; it is not a proof that those beats caused the
prediction. Pure Plotly, on :func:`ecgcore.viz.ecg_paper.ecg_paper_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ecgcore.viz.ecg_paper import ecg_paper_figure
from ecgcore.viz.theme import THEME, Theme

#: Opacity of the most attended beat's band; the others scale down in proportion.
MAX_OPACITY = 0.45
#: Name prefix of the bands and labels (bands are the theme's R-peak blue, apart from the
#: paper's red grid).
ATTENTION_NAME = "attention"


def attention_strip_figure(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    spans: np.ndarray,
    weights: np.ndarray,
    *,
    title: str | None = None,
    px_per_mm: float = 2.5,
    theme: Theme = THEME,
) -> go.Figure:
    """``signal`` (µV ``[leads, samples]`` at ``fs``) on ECG paper, every beat
    ``spans[k] = (start, stop)`` (samples, stop exclusive) shaded by ``weights[k]``.

    The band of beat k spans ``start/fs`` to ``stop/fs`` (drawn in ms, the paper's unit)
    over the whole height, behind the traces, with opacity ``MAX_OPACITY · w_k / max(w)``;
    the weight is written above it. ValueError when spans and weights disagree in length,
    a span leaves the signal, or a weight is negative or not finite.
    """
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    w = np.asarray(weights, dtype=np.float64).ravel()
    n = np.asarray(signal).shape[-1]
    if len(spans) != len(w):
        raise ValueError(f"{len(spans)} beat spans but {len(w)} attention weights")
    if len(spans) and ((spans[:, 0] < 0).any() or (spans[:, 1] > n).any()
                       or (spans[:, 1] <= spans[:, 0]).any()):
        raise ValueError(f"beat spans must lie within the signal's {n} samples, start < stop")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("attention weights must be finite and non-negative")
    fig = ecg_paper_figure(signal, fs, leads, title=title, layout="stack", px_per_mm=px_per_mm,
                           theme=theme)
    top = float(w.max()) if w.size and w.max() > 0 else 1.0
    ms = 1000.0 / fs
    for k, ((a, b), wk) in enumerate(zip(spans, w)):
        x0, x1 = float(a) * ms, float(b) * ms
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=0.0, y1=1.0, yref="paper", xref="x",
                      layer="between", line={"width": 0}, fillcolor=theme.rpeak_color,
                      opacity=MAX_OPACITY * float(wk) / top, name=f"{ATTENTION_NAME}:beat {k + 1}")
        fig.add_annotation(x=(x0 + x1) / 2, y=1.0, yref="paper", yanchor="bottom",
                           text=f"{wk:.2f}", showarrow=False, name=f"{ATTENTION_NAME}:{k + 1}",
                           font=theme.font(theme.small_size, theme.rpeak_color))
    fig.update_layout(margin={**fig.layout.margin.to_plotly_json(),
                              "t": (fig.layout.margin.t or 10) + 18})
    return fig


def attention_table(spans: np.ndarray, weights: np.ndarray, fs: float) -> pd.DataFrame:
    """One row per beat: beat number, start and end (s), attention weight: the figure's
    numbers, for download."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame({"beat": np.arange(1, len(spans) + 1), "start_s": spans[:, 0] / fs,
                         "end_s": spans[:, 1] / fs,
                         "attention": np.asarray(weights, dtype=np.float64).ravel()})
