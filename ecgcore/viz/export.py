"""Figures and tables for papers: a Plotly figure as PNG (≥ 300 dpi), SVG or PDF bytes in
the workbench's one publication theme; tables as CSV, embeddings as Parquet.

Static export is kaleido ≥ 1, which drives a Chrome or Chromium found on ``PATH``
(``chromium`` on Debian) or named by the ``BROWSER_PATH`` environment variable. It works
offline: plotly.js comes from the installed plotly package and MathJax is switched off.
One headless browser is started on the first export and kept for the process (a start
costs seconds); exports are serialised through it, since kaleido's shared server answers
one request at a time.

A PNG's physical size is the figure's layout size read at 96 px per inch (the CSS pixel),
rendered at ``dpi / 96`` times that many pixels, with a ``pHYs`` chunk stating the dpi so
that word processors place it at the intended size.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import threading
import zlib
from pathlib import Path
from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from ecgcore.viz.theme import THEME, Theme

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf",
        "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
CSS_DPI = 96.0  # layout pixels per inch
DEFAULT_DPI = 300
#: Size given to a figure that leaves its width or height to the page (a full text width).
DEFAULT_SIZE = (900, 560)

_lock = threading.Lock()
_server_started = False


#: Debian's Chromium binary. /usr/bin/chromium is a shell wrapper in front of it whose
#: /etc/chromium.d/dev-shm test prints "[: …: unexpected operator" on every start when
#: findmnt lists /dev/shm twice (containers); the binary itself needs none of the wrapper's
#: defaults for headless use, so it is started directly.
DEBIAN_CHROMIUM = Path("/usr/lib/chromium/chromium")


def chromium_binary() -> str | None:
    """The Chrome/Chromium executable to start: ``BROWSER_PATH`` when set, else Debian's
    binary behind its wrapper, else the first of chromium/google-chrome on ``PATH``."""
    if os.environ.get("BROWSER_PATH"):
        return os.environ["BROWSER_PATH"]
    if DEBIAN_CHROMIUM.is_file():
        return str(DEBIAN_CHROMIUM)
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


class ExportError(RuntimeError):
    """A figure that cannot be exported; the message says what to install or set."""


def export_problem() -> str:
    """'' when static export can work here, else what is missing (no browser is started)."""
    try:
        import kaleido  # noqa: F401
        from choreographer.browsers.chromium import Chromium
    except ImportError:
        return ("static figure export needs the `kaleido` package: "
                "`pip install kaleido` (it is a dependency of ecg-latent-workbench)")
    # BROWSER_PATH first, then Chrome/Chromium on PATH and in the usual places
    path = Chromium.find_browser(skip_local=False)
    if not path or not (shutil.which(path) or Path(path).is_file()):
        return ("static figure export needs Chrome or Chromium (kaleido drives it): install "
                "`chromium`, or set BROWSER_PATH to a Chrome executable"
                + (f" (BROWSER_PATH={path} is not one)" if path else ""))
    return ""


def without_controls(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` without UI controls (sliders, update menus): a paper figure shows
    their initial state. The margin a figure kept for them (``layout.meta``'s
    ``controls_margin``, in px per side, as :func:`ecgcore.viz.traversal_figure` sets) is
    given back."""
    out = go.Figure(fig)
    out.layout.sliders = None
    out.layout.updatemenus = None
    meta = out.layout.meta
    extra = meta.get("controls_margin") if isinstance(meta, dict) else None
    if extra:
        margin = {side: (out.layout.margin[side] or 0) - px for side, px in extra.items()}
        vertical = extra.get("t", 0) + extra.get("b", 0)
        horizontal = extra.get("l", 0) + extra.get("r", 0)
        out.update_layout(
            margin=margin, meta={k: v for k, v in meta.items() if k != "controls_margin"} or None,
            height=out.layout.height - vertical if out.layout.height else None,
            width=out.layout.width - horizontal if out.layout.width else None)
    return out


def publication_figure(fig: go.Figure, theme: Theme = THEME) -> go.Figure:
    """A copy of ``fig`` styled for print: the theme's fonts, white page, no interactive
    chrome (no sliders or update menus), and an explicit size (the figure's own, else
    :data:`DEFAULT_SIZE`)."""
    out = without_controls(fig)
    width = out.layout.width or DEFAULT_SIZE[0]
    height = out.layout.height or DEFAULT_SIZE[1]
    out.update_layout(width=width, height=height, paper_bgcolor="white",
                      font_family=theme.font_family, font_color=theme.text_color,
                      dragmode=False, hovermode=False)
    if out.layout.font.size is None:
        out.update_layout(font_size=theme.font_size)
    return out


def _ensure_server() -> None:
    global _server_started
    if _server_started:
        return
    import kaleido

    # mathjax=False: no CDN request (figures use no LaTeX); plotly.js is the local copy.
    browser = chromium_binary()
    kaleido.start_sync_server(n=1, timeout=120, mathjax=False, silence_warnings=True,
                              **({"path": browser} if browser else {}))
    _server_started = True


def png_with_dpi(png: bytes, dpi: float) -> bytes:
    """``png`` with a ``pHYs`` chunk saying ``dpi`` (replacing any), right after IHDR."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ExportError("not a PNG (bad signature)")
    chunks, pos = [], 8
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        chunks.append((kind, png[pos:pos + 12 + n]))
        pos += 12 + n
    ppm = math.ceil(dpi / 0.0254)  # never below the dpi asked for
    body = b"pHYs" + struct.pack(">IIB", ppm, ppm, 1)
    phys = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    out = [png[:8]]
    for kind, raw in chunks:
        if kind == b"pHYs":
            continue
        out.append(raw)
        if kind == b"IHDR":
            out.append(phys)
    return b"".join(out)


def png_info(png: bytes) -> dict[str, float]:
    """``{"width", "height", "dpi"}`` of a PNG from its header (dpi NaN without pHYs)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG (bad signature)")
    width, height = struct.unpack(">II", png[16:24])
    dpi, pos = float("nan"), 8
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"pHYs":
            x, _, unit = struct.unpack(">IIB", png[pos + 8:pos + 17])
            dpi = x * 0.0254 if unit == 1 else float("nan")
            break
        if png[pos + 4:pos + 8] == b"IDAT":
            break
        pos += 12 + n
    return {"width": float(width), "height": float(height), "dpi": dpi}


def figure_bytes(fig: go.Figure, fmt: Format = "png", dpi: int = DEFAULT_DPI,
                 theme: Theme = THEME) -> bytes:
    """``fig`` in the publication theme as PNG (``dpi`` ≥ 300 by default), SVG or PDF."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; choose from {FORMATS}")
    problem = export_problem()
    if problem:
        raise ExportError(problem)
    pub = publication_figure(fig, theme)
    scale = dpi / CSS_DPI if fmt == "png" else 1.0
    try:
        with _lock:
            _ensure_server()
            import kaleido

            data = kaleido.calc_fig_sync(pub.to_dict(), opts={
                "format": fmt, "width": pub.layout.width, "height": pub.layout.height,
                "scale": scale})
    except Exception as exc:  # kaleido and the browser raise many kinds
        raise ExportError(f"exporting the figure as {fmt.upper()} failed: {exc}") from exc
    return png_with_dpi(data, dpi) if fmt == "png" else data


def table_csv(table: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV (full precision, no index)."""
    return table.to_csv(index=False).encode("utf-8")


def table_parquet(table: pd.DataFrame) -> bytes:
    """A table as Parquet bytes (list columns, e.g. diagnostic classes, stay lists)."""
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()
