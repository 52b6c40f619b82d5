"""The workbench in a real browser: a Streamlit server on the two tiny runs, driven with
Playwright through Debian's Chromium (Data, Latent space, Factor traversal views).

Views are opened the way a user does, from the root URL and then the sidebar's navigation:
on a fresh server Streamlit answers the first deep link (``/latent-view``) with a "Page
not found" dialog before ``st.navigation`` has run (the ``pages/`` trap noted in app.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ecgwb.browser import (
    FIRST_CHART,
    HIGHLIGHTED,
    POINTS_DRAWN,
    STEP_TIMER,
    click_slider_step,
    slider_labels,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import chromium, chromium_missing, streamlit_server
from tiny_runs import build_tiny_runs

pytestmark = pytest.mark.e2e
EXCEPTION = '[data-testid="stException"]'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    runs, cache = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    log = tmp_path_factory.mktemp("e2e") / "streamlit.log"
    with streamlit_server(runs, log) as url:  # always stopped, by its process id
        yield url, cache


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module (Playwright's sync API allows one instance per thread)."""
    from playwright.sync_api import sync_playwright

    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    with sync_playwright() as p:
        b = chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(server, browser):
    pg = browser.new_page(viewport={"width": 1600, "height": 1000})
    pg.set_default_timeout(45_000)
    yield pg
    pg.close()


def _no_exception(pg) -> None:
    assert pg.locator(EXCEPTION).count() == 0, pg.locator(EXCEPTION).first.inner_text()


def _open(pg, title: str) -> None:
    """Click a view in the sidebar's navigation and wait for its title."""
    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    pg.get_by_role("heading", name=title).first.wait_for()


def test_data_view_draws_the_record_and_intervals(server, page):
    url, _ = server
    page.goto(url)
    page.get_by_role("heading", name="Data").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer "
                           ".trace').length >= 12")
    table = page.locator('[data-testid="stTable"]').filter(has_text="QRS duration")
    table.wait_for()
    assert "Heart rate" in table.inner_text()
    assert page.locator('[data-testid="stDialog"]').count() == 0
    _no_exception(page)


def test_latent_view_draws_every_point_and_a_lasso_selects(server, page):
    import json

    _, cache = server
    n = json.loads((cache / "cache.json").read_text())["n_ok"]
    _open(page, "Latent space")
    page.wait_for_function(f"() => ({POINTS_DRAWN})() >= {n}")
    assert page.evaluate(POINTS_DRAWN) == n
    _no_exception(page)

    # A lasso around the plot area selects records: their label mix and a beat appear.
    # (The map opens in zoom mode, where a click selects one point; the lasso is a tool.)
    page.locator('.js-plotly-plot .modebar-btn[data-val="lasso"]').first.click()
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.02 * w, y + 0.02 * h)
    page.mouse.down()
    for fx, fy in ((0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.03)):
        page.mouse.move(x + fx * w, y + fy * h, steps=6)
    page.mouse.up()
    page.get_by_role("heading", name="Selection:").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()  # the label mix
    _no_exception(page)


def test_traversal_view_slider_redraws(server, page):
    _from_root(page, server[0])
    _open(page, "Factor traversal")
    page.wait_for_function(f"() => ({HIGHLIGHTED})()?.endsWith(' 0σ')")
    unit = page.evaluate(HIGHLIGHTED).split()[0]  # the strongest unit comes first
    labels = slider_labels(page)
    assert labels == ["−3σ", "−2σ", "−1σ", "0σ", "+1σ", "+2σ", "+3σ"]
    # a mouse click on the figure's own slider restyles it in the browser
    click_slider_step(page, labels.index("+1σ"))
    page.wait_for_function(f"() => ({HIGHLIGHTED})() === '{unit} +1σ'")
    page.evaluate(STEP_TIMER, f"{unit} −2σ")  # the bench's timer, on a jump back
    click_slider_step(page, labels.index("−2σ"))
    page.wait_for_function("() => window.__ecgwbStepMs !== null")
    assert page.evaluate(HIGHLIGHTED) == f"{unit} −2σ"
    assert 0 < page.evaluate("window.__ecgwbStepMs") < 10_000
    assert page.locator('[data-testid="stTable"]').filter(has_text="ρ in cohort").count() >= 1
    _no_exception(page)


#: Colour-bar title of the first chart's attribution markers (the method's name).
SALIENCY_METHOD = ("() => { const g = " + FIRST_CHART + "; if (!g || !g._fullData) return null; "
                   "const t = g._fullData.find(t => t.marker && t.marker.showscale && "
                   "t.mode === 'markers'); return t ? t.marker.colorbar.title.text : null }")
#: Number of traces of the last chart on the page (the k-means map on Clustering).
LAST_CHART_TRACES = ("() => { const gs = document.querySelectorAll('.js-plotly-plot'); "
                     "const g = gs[gs.length - 1]; return g && g._fullData ? "
                     "g._fullData.length : 0 }")

# the k-means map: the chart whose traces are the clusters (their meta is "cluster N"); the
# cluster mean beats below it are another chart
KMEANS_MAP_TRACES = ("() => { const g = [...document.querySelectorAll('.js-plotly-plot')].find("
                     "g => g._fullData && g._fullData.length && g._fullData.every("
                     "t => typeof t.meta === 'string' && t.meta.startsWith('cluster '))); "
                     "return g ? g._fullData.length : 0 }")


def _from_root(pg, url: str) -> None:
    """Load the app first when this test runs alone (the views open from the sidebar)."""
    if not pg.url.startswith(url):
        pg.goto(url)
        pg.get_by_role("heading", name="Data").first.wait_for()


def test_saliency_view_switches_method(server, page):
    _from_root(page, server[0])
    _open(page, "Saliency")
    page.wait_for_function(f"() => ({SALIENCY_METHOD})() === 'Integrated Gradients'")
    page.locator('[data-testid="stRadio"]').filter(has_text="Occlusion").get_by_text(
        "Occlusion", exact=True).click()
    page.wait_for_function(f"() => ({SALIENCY_METHOD})() === 'Occlusion'", timeout=90_000)
    page.get_by_role("heading", name="Per region and per lead").wait_for()
    assert page.get_by_role("button", name="PNG 300 dpi").count() >= 2
    _no_exception(page)


def test_clustering_view_rescores_with_another_k(server, page):
    _from_root(page, server[0])
    _open(page, "Clustering")
    page.wait_for_function(f"() => ({KMEANS_MAP_TRACES})() === 5", timeout=90_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for()  # the scores table
    field = page.locator('[data-testid="stNumberInputField"]')
    field.fill("3")
    field.press("Enter")
    page.wait_for_function(f"() => ({KMEANS_MAP_TRACES})() === 3", timeout=90_000)
    _no_exception(page)


def test_compare_view_shows_a_record_and_the_evaluation_hint(server, page):
    _from_root(page, server[0])
    _open(page, "Compare")
    page.get_by_text("has no evaluation yet").first.wait_for(timeout=90_000)
    assert page.get_by_role("button", name="Evaluate").count() >= 1
    page.get_by_text("Median beat of record").first.wait_for(timeout=90_000)
    before = page.get_by_text("Median beat of record").first.inner_text()
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Record")
    box.click()
    page.get_by_role("option").nth(3).click()
    page.wait_for_function(
        "(b) => { const e = [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".find(e => e.innerText.startsWith('Median beat of record')); "
        "return e && e.innerText !== b }", arg=before, timeout=90_000)
    _no_exception(page)


@pytest.fixture(scope="module")
def train_server(tmp_path_factory):
    """A server of its own on an empty runs folder (the shared tiny runs stay as they are),
    with the demo cache as the sidebar's dataset, so a launch needs no preprocessing."""
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    _, cache = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    runs = tmp_path_factory.mktemp("train_runs")
    log = tmp_path_factory.mktemp("e2e_train") / "streamlit.log"
    with streamlit_server(runs, log, data=cache) as url:
        yield url, runs


def test_train_view_launches_cancels_and_lists_a_training(train_server, browser):
    from trainer import jobs

    url, runs = train_server
    pg = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        pg.set_default_timeout(90_000)
        pg.goto(url)
        pg.get_by_role("heading", name="Data").first.wait_for()
        _open(pg, "Train")

        def launch(epochs: int) -> None:  # a tiny β-VAE
            # the form's labels are people's words (trainer/field_text.py), not config keys
            pg.get_by_role("spinbutton", name="Width (channel multiplier)", exact=True).fill("0.25")
            pg.get_by_role("spinbutton", name="Epochs (at most)", exact=True).fill(str(epochs))
            pg.get_by_role("spinbutton", name="Batch size (records per step)", exact=True).fill("64")
            # median beats: the test's demo cache holds no single-beat array
            pg.get_by_role("combobox", name="Train on").click()
            pg.get_by_role("option", name="median", exact=True).click()
            pg.get_by_role("button", name="Start training").click()

        launch(1)
        pg.get_by_text("Training jobs").first.wait_for()
        # the job's live panel: its progress, then its end
        pg.get_by_text("0/1 epochs").or_(pg.get_by_text("1/1 epochs")).first.wait_for()
        (job,) = jobs.list_jobs(runs)
        assert job.total_epochs == 1 and job.model == "beta_vae"
        pg.get_by_text("finished · 1/1 epochs").wait_for(timeout=600_000)  # hang guard: shared CPU
        pg.locator(".js-plotly-plot").first.wait_for()  # its loss curves
        # the finished run is in the sidebar's picker
        pg.locator('[data-testid="stSidebar"]').get_by_text("1 run in").wait_for()
        assert job.run.name in pg.locator('[data-testid="stSidebar"]').inner_text()

        launch(500)  # long enough to be cancelled while it runs
        pg.get_by_role("button", name="Cancel").wait_for()
        long_job = next(j for j in jobs.list_jobs(runs) if j.total_epochs == 500)
        pg.get_by_role("button", name="Cancel").click()
        pg.get_by_text("cancelled · ").first.wait_for(timeout=300_000)  # hang guard
        assert jobs.read_progress(long_job).status == "cancelled"
        _no_exception(pg)
    finally:
        pg.close()
