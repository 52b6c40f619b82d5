"""Screenshots of every view (1600 × 1000, light theme) for the documentation:
``python tests/e2e/screenshots.py --runs RUNS_DIR --out docs/screenshots``.

Starts the real server on ``RUNS_DIR`` (``ecgwb demo`` first: the tiny test runs make poor
pictures), drives Debian's Chromium like a user (sidebar navigation, a lasso on the map,
the traversal slider, every run chosen for the comparison) and writes one PNG per view.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import chromium, chromium_missing, streamlit_server

from ecgwb.browser import HIGHLIGHTED, click_slider_step, slider_labels

POINTS_DRAWN = ("() => { const g = document.querySelector('.js-plotly-plot'); return !!(g && "
                "g._fullData && g._fullData.length && g.querySelector('canvas')) }")


def _settle(pg, ms: int = 1500) -> None:
    pg.wait_for_load_state("networkidle")
    pg.wait_for_timeout(ms)


def _choose_every_run(pg) -> None:
    """Add every run to the sidebar's picker (the comparison views show them all)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = pg.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    for _ in range(8):
        box.click()
        options = pg.get_by_role("option")
        try:
            options.first.wait_for(timeout=3000)
        except PlaywrightTimeout:  # every run is chosen: the list is empty
            pg.keyboard.press("Escape")
            break
        options.first.click()
        _settle(pg, 800)


def _choose_only_run(pg, prefix: str) -> None:
    """Replace the sidebar's chosen run by the first run whose name starts with ``prefix``."""
    box = pg.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    box.click()
    pg.keyboard.press("Backspace")  # removes the chosen run's chip
    _settle(pg, 800)
    box.click()
    box.type(prefix)
    pg.get_by_role("option").first.click()
    pg.keyboard.press("Escape")
    _settle(pg, 800)


def _charts(n: int):
    return lambda pg: pg.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot').length >= {n}")


def _saliency_of_a_task_head(pg) -> None:
    """Wait for the Saliency view, then explain a task head when a chosen run has one (its
    predicted probability shows under the beat)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    _charts(2)(pg)
    box = pg.locator('[data-testid="stSelectbox"]').filter(has_text="Predictor")
    if "task head" in box.inner_text():
        return
    box.click()
    head = pg.get_by_role("option").filter(has_text="task head")
    try:
        head.first.wait_for(timeout=3000)
    except PlaywrightTimeout:  # no chosen run has a task head
        pg.keyboard.press("Escape")
        return
    head.first.click()
    pg.get_by_text("Predicted probability of").first.wait_for()
    _charts(2)(pg)


#: (sidebar title, file name, wait until drawn) of the views after the traversal.
VIEWS = (
    ("Saliency", "saliency", _saliency_of_a_task_head),
    ("Clustering", "clustering", lambda pg: pg.locator('[data-testid="stDataFrame"], '
                                                       '[data-testid="stTable"]').first.wait_for()),
    ("Compare", "compare", _charts(1)),
    ("Train", "train", lambda pg: pg.get_by_role("button", name="Start training").wait_for()),
)
#: Views pictured a second time, scrolled to a section: {file name: (heading, file name)}.
SECTIONS = {"clustering": ("Mean beat of each cluster", "clustering_beats"),
            "compare": ("Training cohort and external cohorts", "compare_cohorts")}


def _section_shot(pg, heading: str, path: Path) -> None:
    """Scroll the view so that ``heading`` (a heading or a bold line) is near the top."""
    pg.get_by_text(heading, exact=True).first.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    pg.mouse.move(1570, 500)  # over the view (right of its content), not the sidebar
    pg.mouse.wheel(0, -90)  # a little of what is above, so the section reads in context
    _settle(pg, 1500)
    pg.screenshot(path=str(path))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, help="folder of training runs")
    ap.add_argument("--out", default="docs/screenshots", help="output folder")
    ap.add_argument("--unit", type=int, default=None, help="latent unit for the traversal")
    ap.add_argument("--run", default=None,
                    help="name prefix of the run the single-run views show (default: newest)")
    ap.add_argument("--labels", default=None,
                    help="a labels table (CSV) to attach in the sidebar: labels.png shows the "
                         "latent map coloured by its first column")
    ap.add_argument("--lasso", default="0.30,0.25,0.55,0.60",
                    help="lasso rectangle on the map as fractions x0,y0,x1,y1 (empty: none)")
    args = ap.parse_args(argv)
    problem = chromium_missing()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    with streamlit_server(Path(args.runs).resolve(), log, timeout=90) as url, \
            sync_playwright() as p:
        browser = chromium(p)
        pg = browser.new_page(viewport={"width": 1600, "height": 1000})
        pg.set_default_timeout(240_000)
        nav = pg.locator('[data-testid="stSidebarNav"]')

        pg.goto(url)
        pg.locator('[data-testid="stTable"]').filter(has_text="QRS duration").wait_for()
        _settle(pg)
        if args.run:
            _choose_only_run(pg, args.run)
        pg.screenshot(path=str(out / "data.png"))

        nav.get_by_text("Latent space", exact=True).click()
        pg.wait_for_function(POINTS_DRAWN)
        _settle(pg)
        if args.lasso:
            x0, y0, x1, y1 = (float(v) for v in args.lasso.split(","))
            # the map opens in zoom mode (a click selects one point): the lasso is a tool
            pg.locator('.js-plotly-plot .modebar-btn[data-val="lasso"]').first.click()
            box = pg.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
            def at(fx: float, fy: float) -> tuple[float, float]:
                return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

            pg.mouse.move(*at(x0, y0))
            pg.mouse.down()
            for fx, fy in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 0.01)):
                pg.mouse.move(*at(fx, fy), steps=6)
            pg.mouse.up()
            pg.get_by_role("heading", name="Selection:").first.wait_for()
            pg.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")
            _settle(pg, 2500)
        pg.screenshot(path=str(out / "latent.png"))
        # two latent units on raw axes (the widest two), the selection kept
        pg.locator('[data-testid="stRadio"]').filter(has_text="Two latent units").get_by_text(
            "Two latent units", exact=True).click()
        pg.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot'); "
                             "return !!g && /^z\\d+$/.test(g._fullLayout.xaxis.title.text) }")
        _settle(pg, 2500)
        pg.screenshot(path=str(out / "latent_units.png"))
        pg.locator('[data-testid="stRadio"]').filter(has_text="PCA").get_by_text(
            "PCA", exact=True).click()
        pg.wait_for_function(POINTS_DRAWN)
        if args.labels:
            pg.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
                str(Path(args.labels).resolve()))
            pg.locator('[data-testid="stSidebar"]').get_by_text("Matched").first.wait_for()
            pg.locator('[data-testid="stSelectbox"]').filter(has_text="Colour by").click()
            pg.get_by_role("option").filter(has_text="Your labels").first.click()
            pg.wait_for_function(POINTS_DRAWN)
            _settle(pg, 2500)
            pg.screenshot(path=str(out / "labels.png"))

        nav.get_by_text("Factor traversal", exact=True).click()
        pg.get_by_role("heading", name="Factor traversal").first.wait_for()
        pg.wait_for_function(f"() => ({HIGHLIGHTED})()?.endsWith(' 0σ')")
        if args.unit is not None:
            pg.locator('[data-testid="stSelectbox"]').filter(has_text="Latent unit").click()
            pg.get_by_role("option", name=f"z{args.unit}:").first.click()
            pg.wait_for_function(f"() => ({HIGHLIGHTED})()?.startsWith('z{args.unit} ')")
            _settle(pg)
        click_slider_step(pg, slider_labels(pg).index("+2σ"))  # the figure's own slider
        pg.wait_for_function(f"() => ({HIGHLIGHTED})()?.endsWith(' +2σ')")
        pg.mouse.move(5, 995)  # no hover label over the figure
        _settle(pg, 1500)
        pg.screenshot(path=str(out / "traversal.png"))

        _choose_every_run(pg)
        for title, name, ready in VIEWS:
            nav.get_by_text(title, exact=True).click()
            pg.get_by_role("heading", name=title).first.wait_for()
            ready(pg)
            _settle(pg, 2500)
            pg.screenshot(path=str(out / f"{name}.png"))
            if name in SECTIONS:
                _section_shot(pg, SECTIONS[name][0], out / f"{SECTIONS[name][1]}.png")
        browser.close()
    for name in ("data", "latent", "latent_units", *(["labels"] if args.labels else []),
                 "traversal", *(v[1] for v in VIEWS), *(v[1] for v in SECTIONS.values())):
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
