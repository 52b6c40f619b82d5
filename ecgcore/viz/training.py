"""Training curves of a run: every loss term per epoch from its metrics.csv rows. Pure Plotly."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME, Theme


def loss_columns(rows: Sequence[dict]) -> list[str]:
    """The loss columns present in metrics rows: ``train/…`` and ``val/…`` terms with at least
    one number (β and other logged settings are not losses)."""
    names: list[str] = []
    for row in rows:
        for k, v in row.items():
            if k.startswith(("train/", "val/")) and v not in (None, "") and k not in names \
                    and not k.endswith(("/beta", "/lr")):
                names.append(k)
    return names


def loss_curves_figure(rows: Sequence[dict], columns: Sequence[str] | None = None, *,
                       title: str | None = None, height: int = 320, log_y: bool = True,
                       theme: Theme = THEME) -> go.Figure:
    """One line per loss term against the epoch; train solid, validation dashed, one colour
    per term. ``rows``: :func:`trainer.callbacks.read_metrics` dicts (values may be
    strings, empty where an epoch did not log the term). ``log_y``: a log loss axis (so
    the first epochs' spike does not flatten the rest) when every value is positive."""
    if not rows:
        raise ValueError("no metrics rows to draw")
    columns = list(columns) if columns is not None else loss_columns(rows)
    terms = list(dict.fromkeys(c.split("/", 1)[1] for c in columns))
    fig = go.Figure()
    for col in columns:
        split, term = col.split("/", 1)
        pts = [(int(float(r["epoch"])) + 1, float(r[col])) for r in rows
               if r.get(col) not in (None, "")]
        if not pts:
            continue
        color = CATEGORY_COLORS[terms.index(term) % len(CATEGORY_COLORS)]
        fig.add_trace(go.Scatter(
            x=[p[0] for p in pts], y=[p[1] for p in pts], name=col,
            mode="lines+markers" if len(pts) < 30 else "lines",
            line={"color": color, "width": 1.6, "dash": "dash" if split == "val" else "solid"},
            marker={"size": 4}, hovertemplate="epoch %{x}: %{y:.4g}<extra>" + col + "</extra>"))
    fig.update_xaxes(title="epoch", showline=True, linecolor="#bbbbbb", rangemode="tozero",
                     tickfont=theme.font(theme.small_size))
    ys = [y for t in fig.data for y in t.y]
    log = log_y and bool(ys) and min(ys) > 0
    fig.update_yaxes(title="loss (log scale)" if log else "loss", showgrid=True,
                     gridcolor="#ececec", type="log" if log else "linear",
                     tickfont=theme.font(theme.small_size))
    fig.update_layout(
        template="none", font=theme.font(), height=height, paper_bgcolor="white",
        plot_bgcolor="white",
        title={"text": title, "font": theme.font(theme.title_size), "x": 0.0,
               "xanchor": "left"} if title else None,
        margin={"l": 60, "r": 20, "t": 45 if title else 20, "b": 45},
        legend={"font": theme.font(theme.small_size)})
    return fig
