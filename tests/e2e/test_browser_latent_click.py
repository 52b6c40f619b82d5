"""One click on one point of the Latent space map selects that record, in a real browser
(Streamlit server + Debian Chromium): its panel says 'Selection: 1 of …', and 'Open in Data
view' opens that very record; the same on the raw axes of two latent units. After each
test the demo cache, the demo dataset and the runs' own files are byte for byte as before.

Why a click selects at all: Streamlit 1.67 sets a chart's ``clickmode`` from its drag
mode ('event', no selection, under lasso or box select; 'event+select' under zoom or pan
when 'points' is a selection mode), so the map is drawn in zoom mode
(:mod:`ecgcore.viz.latent`)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from ecgwb.browser import POINTS_DRAWN

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import chromium, chromium_missing, streamlit_server
from test_browser_labels import checksums
from tiny_runs import DEMO, build_tiny_runs, run_folder

pytestmark = pytest.mark.e2e
EXCEPTION = '[data-testid="stException"]'

#: The map's most isolated point away from record row 0 (the Data view's own first record):
#: its trace, index, record id and page position, from the figure's own axes.
ISOLATED_POINT = """() => {
  const g = document.querySelector('.js-plotly-plot');
  const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, r = g.getBoundingClientRect();
  const pts = [];
  g._fullData.forEach((t, c) => { for (let i = 0; i < t._length; i++) {
    const row = Array.isArray(t.customdata[i]) || ArrayBuffer.isView(t.customdata[i])
      ? t.customdata[i][0] : t.customdata[i];
    pts.push({c, i, row, id: String(t.text[i]),
              px: xa._offset + xa.l2p(t.x[i]), py: ya._offset + ya.l2p(t.y[i])}) } });
  let best = null, bestD = -1;
  for (const p of pts) {
    if (p.row === 0 || p.px < 25 || p.py < 25 || p.px > xa._offset + xa._length - 25
        || p.py > ya._offset + ya._length - 25) continue;
    let d = Infinity;
    for (const q of pts) if (q !== p) d = Math.min(d, Math.hypot(p.px - q.px, p.py - q.py));
    if (d > bestD) { bestD = d; best = p }
  }
  return {...best, gap: bestD, x: r.left + best.px, y: r.top + best.py};
}"""
#: The point under the cursor as plotly sees it ('curve:index'), or null.
HOVERED = ("() => { const h = document.querySelector('.js-plotly-plot')._hoverdata; "
           "return h && h.length ? h[0].curveNumber + ':' + h[0].pointNumber : null }")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    runs, cache = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    own = tmp_path_factory.mktemp("click_runs") / "runs"
    shutil.copytree(run_folder(runs, "beta_vae"), own / "beta_vae-copy",
                    ignore=shutil.ignore_patterns("cache"))
    log = tmp_path_factory.mktemp("e2e_click") / "streamlit.log"
    with streamlit_server(own, log) as url:
        yield {"url": url, "cache": cache, "runs": own, "sums": checksums(cache, DEMO, own)}


@pytest.fixture(autouse=True)
def nothing_rewritten(setup):
    yield
    assert checksums(setup["cache"], DEMO, setup["runs"]) == setup["sums"]


@pytest.fixture(scope="module")
def page(setup):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = chromium(p)
        pg = b.new_page(viewport={"width": 1600, "height": 1000})
        pg.set_default_timeout(60_000)
        try:
            yield pg
        finally:
            b.close()


def _no_exception(pg) -> None:
    assert pg.locator(EXCEPTION).count() == 0, pg.locator(EXCEPTION).first.inner_text()


def _latent_view(pg, url: str, n: int) -> None:
    pg.goto(url)
    pg.get_by_role("heading", name="Data").first.wait_for()
    pg.locator('[data-testid="stSidebarNav"]').get_by_text("Latent space", exact=True).click()
    pg.get_by_role("heading", name="Latent space").first.wait_for()
    pg.wait_for_function(f"() => ({POINTS_DRAWN})() >= {n}")


def _click_one_point_and_open_it(pg) -> str:
    """Hover the most isolated point until plotly has it under the cursor, click once,
    and check that exactly that record is selected and opens in the Data view."""
    pg.wait_for_function(  # the chart has settled at its final size
        "() => { const g = document.querySelector('.js-plotly-plot'); "
        "return g && g._fullLayout && g._fullLayout.width > 300 }")
    # the script run has ended: a rerun still in flight can redraw the chart under the mouse
    pg.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    pg.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    pg.wait_for_timeout(500)
    point = pg.evaluate(ISOLATED_POINT)
    assert 0 < point["y"] < pg.viewport_size["height"], point  # on screen, where a mouse is
    assert point["gap"] > 3, point  # a point a click can tell from its neighbours
    pg.mouse.move(point["x"] - 8, point["y"] - 8)
    pg.mouse.move(point["x"], point["y"], steps=4)
    pg.wait_for_function(f"() => ({HOVERED})() === '{point['c']}:{point['i']}'")
    pg.mouse.down()
    pg.mouse.up()
    pg.get_by_role("heading", name=re.compile(r"^Selection: 1 of ")).wait_for()
    caption = pg.get_by_text("Median beat of record").first
    caption.wait_for()
    assert re.search(r"Median beat of record (\S+) \(black\)", caption.inner_text()).group(1) \
        == point["id"]
    pg.get_by_role("button", name="Open in Data view").click()
    pg.get_by_role("heading", name=f"12-lead ECG · record {point['id']}", exact=True).wait_for()
    _no_exception(pg)
    return point["id"]


def test_one_click_selects_one_record_and_opens_it(setup, page):
    n = len(pd.read_parquet(setup["cache"] / "records.parquet", columns=["record_id"]))
    _latent_view(page, setup["url"], n)
    # Streamlit sets the click mode from the drag mode once the chart is configured, which can
    # come a moment after its points are drawn: wait for it (a timeout fails the test).
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout"
                           ".clickmode === 'event+select'")
    _click_one_point_and_open_it(page)


def test_one_click_on_the_raw_axes_of_two_units(setup, page):
    n = len(pd.read_parquet(setup["cache"] / "records.parquet", columns=["record_id"]))
    _latent_view(page, setup["url"], n)
    page.locator('[data-testid="stRadio"]').filter(has_text="Two latent units").get_by_text(
        "Two latent units", exact=True).click()
    page.wait_for_function(
        "() => { const g = document.querySelector('.js-plotly-plot'); return !!g && "
        "/^z\\d+$/.test(g._fullLayout.xaxis.title.text) && "
        f"({POINTS_DRAWN})() >= {n} }}")
    _click_one_point_and_open_it(page)
