"""A real Streamlit server of the workbench and a headless Debian Chromium, shared by the
browser tests (tests/e2e), the screenshots and ``ecgwb bench app``.

``streamlit_server(runs)`` starts ``python -m streamlit run app.py`` on a free local port
with ``ECGWB_RUNS=runs`` and yields its URL once ``/_stcore/health`` answers; the server is
always stopped (by its own process id) on exit. The file watcher is off, so edits made
while a test runs never trigger a rerun. ``chromium(playwright)`` launches Debian's
Chromium binary (not its wrapper script) with the flags that work headless as root.
``POINTS_DRAWN`` and ``HIGHLIGHTED`` are the page scripts that tell when the views have drawn; ``STEP_TIMER``
and :func:`click_slider_step` time and make a step of the traversal figure's slider.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecgcore.viz.export import chromium_binary

ROOT = Path(__file__).resolve().parents[1]  # the app.py beside the package
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
FIRST_CHART = "document.querySelector('.js-plotly-plot')"
#: Number of points a WebGL scatter has drawn (0 until plotly has computed and drawn it).
POINTS_DRAWN = ("() => { const g = " + FIRST_CHART + "; if (!g || !g._fullData || "
                "!g.querySelector('canvas')) return 0; return g._fullData.reduce("
                "(n, t) => n + (t.type === 'scattergl' ? (t._length || 0) : 0), 0) }")
#: Name of the highlighted beat of the traversal figure as drawn: the trace whose line the
#: SVG strokes black in every panel (null when none, or when the panels disagree). Traces
#: raised by ``zorder`` sit in layers of their own (``scatterlayer2``), hence ``g.trace``.
HIGHLIGHTED = ("() => { const g = " + FIRST_CHART + "; if (!g) return null; "
               "const names = new Set(); "
               "for (const t of g.querySelectorAll('g.trace.scatter')) { "
               "const p = t.querySelector('path.js-line'); "
               "if (p && p.style.stroke === 'rgb(0, 0, 0)' && t.__data__) "
               "names.add(t.__data__[0].trace.name) } "
               "return names.size === 1 ? [...names][0] : null }")
#: Starts timing one slider step (argument: the beat name it should highlight): from the
#: next mousedown (its event time) to the first animation frame in which the drawn figure
#: highlights that beat; the milliseconds land in ``window.__ecgwbStepMs``.
STEP_TIMER = ("(target) => { window.__ecgwbStepMs = null; let t0 = null; "
              "window.addEventListener('mousedown', e => { t0 = e.timeStamp }, "
              "{capture: true, once: true}); "
              "const frame = () => { if (t0 !== null && (" + HIGHLIGHTED + ")() === target) "
              "window.__ecgwbStepMs = performance.now() - t0; "
              "else requestAnimationFrame(frame) }; requestAnimationFrame(frame) }")


def slider_labels(page) -> list[str]:
    """The step labels of the first chart's Plotly slider ('−3σ' … '+3σ'), in order."""
    return page.locator(".js-plotly-plot").first.locator(
        ".slider-container .slider-label").all_text_contents()


def click_slider_step(page, index: int) -> None:
    """A real mouse click on the first chart's Plotly slider at step ``index``: on the
    rail, at the x of that step's tick."""
    chart = page.locator(".js-plotly-plot").first
    tick = chart.locator(".slider-container .slider-tick-rect").nth(index).bounding_box()
    rail = chart.locator(".slider-container .slider-rail-touch-rect").first.bounding_box()
    page.mouse.click(tick["x"] + tick["width"] / 2, rail["y"] + rail["height"] / 2)

def chromium_missing() -> str:
    """'' when Debian's Chromium and the playwright package are there, else what to do."""
    if chromium_binary() is None:
        return ("Chromium is missing: the browser tests need Debian's Chromium "
                "(`make browser`, or `apt-get install -y chromium`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: `pip install -e '.[dev]'`"
    return ""


def chromium(playwright):
    """Headless Chromium (Debian's build: `playwright install` cannot download here)."""
    return playwright.chromium.launch(executable_path=chromium_binary(), args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(runs: Path, log: Path, timeout: float = 60.0,
                     data: Path | None = None, host: str = "127.0.0.1",
                     env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """Start the app on a free port bound to ``host``; yield its base URL (always on
    127.0.0.1, which every binding answers); always stop it."""
    port = free_port()
    env = dict(os.environ, ECGWB_RUNS=str(runs))
    for name in ("ECGWB_DATA", "ECGWB_SECRET", "ECGWB_CLINIC", "ECGWB_ALLOWED_ROOTS"):
        env.pop(name, None)
    if data is not None:
        env["ECGWB_DATA"] = str(data)
    env.update(env_extra or {})
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", host, "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}:\n"
                                       f"{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s:"
                                       f"\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
