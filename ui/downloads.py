"""Download buttons for the views: every figure as PNG (300 dpi), SVG and PDF in the
publication theme, tables as CSV, embeddings as Parquet (:mod:`ecgcore.viz.export`).

Files are made only when a button is clicked (Streamlit's deferred ``data`` callables), so
a page pays nothing for offering them; a machine that cannot export says why instead.
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ecgcore.viz.export import (
    DEFAULT_DPI,
    FORMATS,
    MIME,
    export_problem,
    figure_bytes,
    table_csv,
    table_parquet,
)

_LABELS = {"png": f"PNG {DEFAULT_DPI} dpi", "svg": "SVG", "pdf": "PDF"}


def file_stem(name: str) -> str:
    """A safe file name stem: 'ecg_12', 'traversal_beta_vae-2026_z3'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or "figure"


@st.cache_resource(show_spinner=False)
def _problem() -> str:
    return export_problem()


def download_buttons(fig: go.Figure, name: str, *, key: str | None = None) -> None:
    """A row of PNG / SVG / PDF download buttons for ``fig`` (file ``name.<ext>``)."""
    stem, key = file_stem(name), key or file_stem(name)
    problem = _problem()
    if problem:
        st.caption(f"Figure export is unavailable: {problem}.")
        return
    row = st.container(horizontal=True, gap="small")
    with row:
        st.caption("Download figure:")
        for fmt in FORMATS:
            st.download_button(
                _LABELS[fmt], data=lambda fmt=fmt: figure_bytes(fig, fmt),
                file_name=f"{stem}.{fmt}", mime=MIME[fmt], key=f"dl_{key}_{fmt}",
                on_click="ignore", type="tertiary", icon=":material/download:",
                help="Publication theme; PNG at 300 dpi at the figure's size, SVG and PDF "
                     "as vectors.")


def table_download(table: pd.DataFrame, name: str, *, key: str | None = None,
                   label: str = "CSV", parquet: bool = False) -> None:
    """A download button for ``table`` as CSV (``parquet=True``: Parquet)."""
    stem, key = file_stem(name), key or file_stem(name)
    fmt = "parquet" if parquet else "csv"
    st.download_button(
        label, data=lambda: table_parquet(table) if parquet else table_csv(table),
        file_name=f"{stem}.{fmt}", mime=MIME[fmt], key=f"dl_{key}_{fmt}", on_click="ignore",
        type="tertiary", icon=":material/table:")
