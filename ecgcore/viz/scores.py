"""Score figures for comparing runs: cluster quality beside its PCA reference, and
label-fraction curves (AUROC against the share of training labels). Pure Plotly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.viz.latent import CATEGORY_COLORS
from ecgcore.viz.theme import THEME, Theme

SCORES = (("dbi", "Davies–Bouldin ↓"), ("silhouette", "Silhouette ↑"),
          ("chi", "Calinski–Harabasz ↑"))


def _axes(fig: go.Figure, theme: Theme) -> None:
    fig.update_yaxes(showgrid=True, gridcolor="#ececec", zeroline=True,
                     zerolinecolor="#999999", tickfont=theme.font(theme.small_size))
    fig.update_xaxes(showline=True, linecolor="#bbbbbb", tickfont=theme.font(theme.small_size))


def clustering_figure(table: pd.DataFrame, *, title: str | None = None, height: int = 380,
                      width: int = 1100, theme: Theme = THEME) -> go.Figure:
    """DBI, silhouette and CHI per clustering: for every run a solid bar (its latent means)
    and a hatched bar of the same colour (the PCA of the beats with as many components).

    ``table``: :func:`ecgcore.runs.clustering.side_by_side` rows (``run``,
    ``clustering``, ``dbi``, ``dbi_pca``, …, ``pca_dim``)."""
    if table.empty:
        raise ValueError("no clustering scores to draw")
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.07,
                        subplot_titles=[name for _, name in SCORES])
    for i, (run, g) in enumerate(table.groupby("run", sort=False)):
        color = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
        x = g["clustering"].str.replace("label:", "", regex=False).tolist()
        dim = g["pca_dim"].dropna()
        ref_name = f"{run} · PCA-{int(dim.iloc[0])} reference" if len(dim) else f"{run} · PCA"
        for c, (score, _) in enumerate(SCORES, start=1):
            fig.add_trace(go.Bar(x=x, y=g[score], name=str(run), legendgroup=str(run),
                                 marker_color=color, showlegend=c == 1,
                                 hovertemplate="%{x}: %{y:.3g}<extra>" + str(run) + "</extra>"),
                          row=1, col=c)
            fig.add_trace(go.Bar(x=x, y=g[f"{score}_pca"], name=ref_name, legendgroup=ref_name,
                                 marker={"color": "white", "line": {"color": color, "width": 1.2},
                                         "pattern": {"shape": "/", "fgcolor": color, "size": 6}},
                                 showlegend=c == 1,
                                 hovertemplate="%{x}: %{y:.3g}<extra>" + ref_name + "</extra>"),
                          row=1, col=c)
    _axes(fig, theme)
    fig.update_annotations(font=theme.font(theme.font_size))
    fig.update_layout(
        template="none", font=theme.font(), barmode="group", height=height, width=width,
        title={"text": title, "font": theme.font(theme.title_size), "x": 0.0,
               "xanchor": "left"} if title else None,
        paper_bgcolor="white", plot_bgcolor="white", bargap=0.25,
        margin={"l": 55, "r": 20, "t": 60 if title else 40, "b": 40},
        legend={"orientation": "h", "x": 0.0, "y": -0.12, "yanchor": "top",
                "font": theme.font(theme.small_size)})
    return fig


def label_fraction_curves(rows: pd.DataFrame, input_name: str = "latent",
                          model: str = "logreg_l2") -> pd.DataFrame:
    """The label-fraction curve of one run's ``downstream.rows`` (``evaluation.json``):
    columns ``fraction``, ``auroc``, ``auroc_low``, ``auroc_high``; empty unless the rows
    hold at least two label fractions for ``input_name`` × ``model``."""
    cols = ["fraction", "auroc", "auroc_low", "auroc_high"]
    if rows.empty or not {"fraction", "auroc", "input", "model"} <= set(rows.columns):
        return pd.DataFrame(columns=cols)
    sel = rows[(rows["input"] == input_name) & (rows["model"] == model)]
    sel = sel.reindex(columns=cols).apply(pd.to_numeric, errors="coerce")
    sel = sel.dropna(subset=["fraction", "auroc"]).sort_values("fraction")
    return sel.reset_index(drop=True) if sel["fraction"].nunique() >= 2 else \
        pd.DataFrame(columns=cols)


def label_fraction_figure(curves: dict[str, pd.DataFrame], *, title: str | None = None,
                          height: int = 380, width: int = 640,
                          theme: Theme = THEME) -> go.Figure:
    """AUROC (95 % CI as error bars) against the fraction of training labels (log axis),
    one line per run (``curves``: run → :func:`label_fraction_curves`)."""
    fig = go.Figure()
    for i, (run, c) in enumerate(curves.items()):
        if c.empty:
            continue
        color = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
        hi = (c["auroc_high"] - c["auroc"]).to_numpy(dtype=float)
        lo = (c["auroc"] - c["auroc_low"]).to_numpy(dtype=float)
        fig.add_trace(go.Scatter(
            x=100 * c["fraction"], y=c["auroc"], mode="lines+markers", name=str(run),
            line={"color": color, "width": 2}, marker={"size": 7, "color": color},
            error_y={"type": "data", "array": np.nan_to_num(hi), "arrayminus": np.nan_to_num(lo),
                     "visible": True, "thickness": 1, "width": 3},
            hovertemplate="%{x:g} % of labels: AUROC %{y:.3f}<extra>" + str(run) + "</extra>"))
    if not fig.data:
        raise ValueError("no label-fraction curve to draw")
    _axes(fig, theme)
    fig.update_xaxes(type="log", title={"text": "training labels (%)", "font": theme.font()})
    fig.update_yaxes(title={"text": "AUROC", "font": theme.font()})
    fig.update_layout(
        template="none", font=theme.font(), height=height, width=width,
        title={"text": title, "font": theme.font(theme.title_size), "x": 0.0,
               "xanchor": "left"} if title else None,
        paper_bgcolor="white", plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 50 if title else 25, "b": 55},
        legend={"font": theme.font(theme.small_size)})
    return fig
