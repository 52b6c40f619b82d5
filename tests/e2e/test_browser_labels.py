"""Issue 18 in a real browser: a labels table with an ``lvef`` column attached from the
sidebar colours an existing run's latent map continuously; a selected point opens in the Data
view; Clustering and Compare spell out their metrics; the Train form for PCA has no
optimiser fields; and after every test the demo cache, the demo dataset and the runs' own
files are byte for byte as before (checksums)."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from ecgwb.browser import POINTS_DRAWN

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import chromium, chromium_missing, streamlit_server
from tiny_runs import DEMO, build_tiny_runs, run_folder

pytestmark = pytest.mark.e2e
EXCEPTION = '[data-testid="stException"]'
SIDEBAR = '[data-testid="stSidebar"]'


def checksums(*folders: Path) -> dict[str, str]:
    """sha256 of every file under ``folders``, a run's results cache (``cache/``) left out."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*"))
            if p.is_file() and "/cache/" not in str(p)}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    from ecgcore.runs.evaluation import evaluate_run

    runs, cache = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    own = tmp_path_factory.mktemp("labels_runs") / "runs"  # evaluations written here only
    for name in ("pca", "beta_vae"):
        shutil.copytree(run_folder(runs, name), own / f"{name}-copy",
                        ignore=shutil.ignore_patterns("cache"))
    for name in ("pca", "beta_vae"):  # the picker chooses either; both have a table row
        evaluate_run(own / f"{name}-copy", n_boot=20)
    ids = pd.read_parquet(cache / "records.parquet", columns=["record_id"])["record_id"]
    table = tmp_path_factory.mktemp("labels") / "echo.csv"
    table.write_text("ecg_id,lvef\n" + "".join(f"{rid},{25 + (int(rid) * 7) % 45}\n"
                                                for rid in ids.astype(str)))
    log = tmp_path_factory.mktemp("e2e_labels") / "streamlit.log"
    with streamlit_server(own, log) as url:
        yield {"url": url, "cache": cache, "runs": own, "table": table,
               "sums": checksums(cache, DEMO, own)}


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
        pg.goto(setup["url"])
        pg.get_by_role("heading", name="Data").first.wait_for()
        try:
            yield pg
        finally:
            b.close()


def _no_exception(pg) -> None:
    assert pg.locator(EXCEPTION).count() == 0, pg.locator(EXCEPTION).first.inner_text()


def _open(pg, title: str) -> None:
    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    pg.get_by_role("heading", name=title).first.wait_for()


def test_attached_lvef_colours_the_latent_map(setup, page):
    n = len(pd.read_csv(setup["table"]))
    page.locator(f'{SIDEBAR} input[type="file"]').set_input_files(str(setup["table"]))
    page.locator(SIDEBAR).get_by_text("Matched", exact=False).wait_for()
    side = page.locator(SIDEBAR).inner_text()
    assert "lvef (continuous)" in side and f"Matched {n:,} of" in side
    _open(page, "Latent space")
    page.wait_for_function(f"() => ({POINTS_DRAWN})() >= {n}")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Colour by").click()
    page.get_by_role("option", name="Your labels · LVEF (%)").click()
    page.wait_for_function(
        "() => { const g = document.querySelector('.js-plotly-plot'); return !!g && "
        "g._fullData.some(t => t.marker && t.marker.colorscale && t.marker.colorbar && "
        "String(t.marker.colorbar.title.text).includes('LVEF')) }")
    _no_exception(page)


def test_a_selected_point_opens_in_the_data_view(page):
    _open(page, "Latent space")
    page.wait_for_function(f"() => ({POINTS_DRAWN})() > 0")
    page.wait_for_timeout(1000)
    x, y = page.evaluate(
        "() => { const g = document.querySelector('.js-plotly-plot'); "
        "const t = g._fullData.find(t => t._length > 0); const xa = g._fullLayout.xaxis, "
        "ya = g._fullLayout.yaxis; const r = g.getBoundingClientRect(); "
        "const i = Math.floor(t._length / 2); "
        "return [r.left + xa._offset + xa.l2p(t.x[i]), r.top + ya._offset + ya.l2p(t.y[i])] }")
    # a small lasso around one point, with the toolbar's lasso (the map opens in zoom
    # mode, where a plain click selects: tests/e2e/test_browser_latent_click.py)
    page.locator('.js-plotly-plot .modebar-btn[data-val="lasso"]').first.click()
    page.mouse.move(x - 6, y - 6)
    page.mouse.down()
    for dx, dy in ((6, -6), (6, 6), (-6, 6), (-6, -5)):
        page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()
    page.get_by_role("heading", name="Selection:").first.wait_for()
    page.get_by_text("Median beat of record").first.wait_for()
    rid = re.search(r"Median beat of record (\S+) \(black\)",
                    page.locator("main").inner_text()).group(1)
    page.get_by_role("button", name="Open in Data view").click()
    page.get_by_role("heading", name="Data").first.wait_for()
    page.get_by_role("heading", name="12-lead ECG").first.wait_for()
    assert rid != "1"  # not the record the Data view opens on by itself
    page.get_by_role("heading", name=f"12-lead ECG · record {rid}", exact=True).wait_for()
    _no_exception(page)


def test_clustering_and_compare_explain_their_metrics(page):
    _open(page, "Clustering")
    page.get_by_text("What these numbers mean").first.wait_for()
    page.get_by_text("Davies–Bouldin index (lower is better)").first.wait_for()
    page.get_by_text("no cluster structure", exact=False).first.wait_for()
    _open(page, "Compare")
    page.get_by_text("area under the ROC curve (higher is better)").first.wait_for()
    page.get_by_text("Calinski–Harabasz index (higher is better)").first.wait_for()
    _no_exception(page)


def test_the_pca_train_form_has_no_optimiser_fields(page):
    _open(page, "Train")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model family").click()
    page.get_by_role("option", name="pca", exact=True).click()
    page.get_by_text("is fitted in closed form").first.wait_for()
    form = page.locator('[data-testid="stForm"]')
    form.get_by_text("Latent units").first.wait_for()
    # Streamlit keeps the previous family's widgets on screen (stale) until the rerun
    # ends, so read the form once the run is over and two reads 0.5 s apart agree.
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    text, previous = form.inner_text(), ""
    for _ in range(20):
        if text == previous:
            break
        page.wait_for_timeout(500)
        previous, text = text, form.inner_text()
    for absent in ("Learning rate", "Epochs (at most)", "Batch size"):
        assert absent not in text, absent
    _no_exception(page)
