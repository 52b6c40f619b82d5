"""Figure and table export for papers (ecgcore.viz.export): real kaleido + Chromium renders."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from ecgcore.signal.fiducials import Fiducials
from ecgcore.viz import median_beat_figure
from ecgcore.viz.export import (
    CSS_DPI,
    ExportError,
    export_problem,
    figure_bytes,
    png_info,
    png_with_dpi,
    publication_figure,
    table_csv,
    table_parquet,
)


@pytest.fixture(scope="module")
def beat_figure():
    """A median-beat figure on ECG paper from a synthetic 12-lead beat (µV)."""
    t = np.arange(400)
    beat = 900 * np.exp(-0.5 * ((t - 200) / 6) ** 2) + 200 * np.exp(-0.5 * ((t - 330) / 25) ** 2)
    beats = np.tile(beat, (12, 1)).astype(np.float32)
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    fid = Fiducials(fs=500.0, r=200, qrs_on=188, qrs_off=212, p_on=None, p_off=None, t_peak=330,
                    t_off=380)
    return median_beat_figure(beats, 500.0, leads, fid, px_per_mm=3.0)


@pytest.fixture(scope="module")
def exports(beat_figure):
    problem = export_problem()
    if problem:
        pytest.fail(problem)
    return {fmt: figure_bytes(beat_figure, fmt) for fmt in ("png", "svg", "pdf")}


def test_png_is_300_dpi_at_the_figure_size(exports, beat_figure):
    info = png_info(exports["png"])
    assert info["dpi"] >= 300
    # pixels = layout size × 300/96: the figure prints at its layout size at 300 dpi
    want_w = round(beat_figure.layout.width * 300 / CSS_DPI)
    assert abs(info["width"] - want_w) <= 2, (info, want_w)
    assert info["width"] / CSS_DPI * 96 >= beat_figure.layout.width * 3


def test_svg_parses_and_keeps_the_paper_grid(exports):
    root = ET.fromstring(exports["svg"])
    assert root.tag.endswith("svg")
    text = exports["svg"].decode()
    assert "#e08080" in text.lower() or "rgb(224, 128, 128)" in text  # bold grid colour
    assert "V6" in text  # lead labels are text, not pixels


def test_pdf_header(exports):
    assert exports["pdf"].startswith(b"%PDF")
    assert len(exports["pdf"]) > 1000


def test_publication_figure_sets_size_and_font(beat_figure):
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=["P", "QRS"], y=[1, 2]))  # no size of its own
    pub = publication_figure(fig)
    assert pub.layout.width and pub.layout.height
    assert "Helvetica" in pub.layout.font.family
    assert fig.layout.width is None  # the original is untouched
    assert publication_figure(beat_figure).layout.width == beat_figure.layout.width


def test_paper_figures_have_no_ui_controls():
    from ecgcore.leads import STANDARD_LEADS
    from ecgcore.viz import traversal_figure

    t = np.arange(300)
    beats = np.stack([np.tile(800 * (1 + 0.1 * s) * np.exp(-0.5 * ((t - 100) / 5.0) ** 2),
                              (12, 1)) for s in range(-3, 4)])

    def traversal(**kw):
        return traversal_figure(beats, np.arange(-3.0, 4.0), 500.0, list(STANDARD_LEADS), 100,
                                show=("II",), highlight=5, unit_name="z1", px_per_mm=3.0, **kw)

    fig = traversal(slider=True)
    fig.update_layout(updatemenus=[{"buttons": [{"label": "reset", "method": "relayout",
                                                 "args": [{}]}]}])
    pub = publication_figure(fig)
    assert not pub.layout.sliders and not pub.layout.updatemenus
    assert fig.layout.sliders and fig.layout.updatemenus  # the original keeps them
    # the slider's margin given back: the same page as a figure drawn without it
    plain = publication_figure(traversal())
    assert (pub.layout.width, pub.layout.height) == (plain.layout.width, plain.layout.height)
    assert pub.layout.margin == plain.layout.margin and pub.layout.meta is None
    # the initially highlighted step is the black one
    assert {t.name for t in pub.data if t.line.color == "#000000"} == {"z1 +2σ"}
    problem = export_problem()
    if problem:
        pytest.fail(problem)
    svg = figure_bytes(fig, "svg").decode()
    assert "slider" not in svg and "updatemenu" not in svg
    assert "black: z1 at +2σ" in svg


def test_png_dpi_chunk_replaced_not_duplicated(exports):
    again = png_with_dpi(exports["png"], 600)
    assert png_info(again)["dpi"] == pytest.approx(600, abs=0.1)
    assert again.count(b"pHYs") == 1
    with pytest.raises(ExportError, match="not a PNG"):
        png_with_dpi(b"GIF89a....", 300)


def test_unknown_format_is_refused(beat_figure):
    with pytest.raises(ValueError, match="unknown figure format"):
        figure_bytes(beat_figure, "eps")


def test_tables_round_trip():
    table = pd.DataFrame({"record_id": ["1", "2"], "z0": [0.125, -1.5],
                          "superclasses": [["NORM"], ["MI", "STTC"]]})
    back = pd.read_parquet(io.BytesIO(table_parquet(table)))
    assert list(back["superclasses"].iloc[1]) == ["MI", "STTC"]
    assert back["z0"].tolist() == [0.125, -1.5]
    csv = pd.read_csv(io.BytesIO(table_csv(table[["record_id", "z0"]])))
    assert csv["z0"].tolist() == [0.125, -1.5]


def test_the_browser_started_is_debians_binary_not_its_wrapper(monkeypatch, tmp_path):
    """/usr/bin/chromium is a shell wrapper whose dev-shm test prints "[: …: unexpected
    operator" in containers; the binary behind it is what export and the browser tests start,
    and BROWSER_PATH still wins."""
    from ecgcore.viz import export

    monkeypatch.delenv("BROWSER_PATH", raising=False)
    assert export.DEBIAN_CHROMIUM.is_file(), "the tests need Debian's chromium (make browser)"
    assert export.chromium_binary() == "/usr/lib/chromium/chromium"
    own = tmp_path / "my-chrome"
    monkeypatch.setenv("BROWSER_PATH", str(own))
    assert export.chromium_binary() == str(own)
