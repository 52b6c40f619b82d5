"""Issue 14 in a real browser: a folder of single-lead recordings (lead I of PTB-XL records
at 300 Hz, named ``ECG``, made by ``ecgwb bench single_lead``'s builder) opened through the
sidebar's "Another folder…": the Data view draws one lead on ECG paper with its intervals
and says why the QRS axis is not measured; the sidebar's "Lead names" field reads ``ECG`` as
lead I, and an entry that is not NAME=LEAD is named inline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import chromium, chromium_missing, streamlit_server
from single_lead_data import make_single_lead_folder

from ecgcore.signal.regions import REGION_LABELS

pytestmark = pytest.mark.e2e
EXCEPTION = '[data-testid="stException"]'
SIDEBAR = '[data-testid="stSidebar"]'
#: Names of the lead traces of the first chart (the ECG paper) and the second (median beat).
_NOT_LEADS = json.dumps(["1 mV calibration", "R peaks", *REGION_LABELS.values()])
LEAD_NAMES = ("(i) => { const skip = new Set(" + _NOT_LEADS + "); "
              "const plot = document.querySelectorAll('.js-plotly-plot')[i]; "
              "return plot ? plot.data.map(t => t.name).filter(n => !skip.has(n)) : null; }")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, ptbxl500):
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    base = tmp_path_factory.mktemp("browser_single_lead")
    data, _ = make_single_lead_folder(ptbxl500, base, n=12)
    runs = base / "runs"  # no runs: the Data view needs none
    runs.mkdir()
    with streamlit_server(runs, base / "streamlit.log") as url:
        yield {"url": url, "data": data}


def _wait_heading(page, text: str) -> None:
    page.get_by_role("heading", name=text).first.wait_for()


def test_single_lead_folder_through_the_sidebar(setup):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(setup["url"])
            _wait_heading(page, "12-lead ECG")  # the bundled demo first
            sidebar = page.locator(SIDEBAR)
            sidebar.get_by_text("Another folder…").click()
            folder = sidebar.get_by_role("textbox", name="Folder path")
            folder.fill(str(setup["data"]))
            folder.press("Enter")
            _wait_heading(page, "1-lead ECG (ECG) · record 00001")
            page.wait_for_function(f"() => ({LEAD_NAMES})(1) !== null")
            assert page.evaluate(LEAD_NAMES, 0) == ["ECG"]  # one strip, no empty panels
            assert page.evaluate(LEAD_NAMES, 1) == ["ECG"]
            page.get_by_text("needs leads I and aVF").first.wait_for()
            assert page.get_by_text("3×4 + II rhythm").count() == 0
            assert page.locator(EXCEPTION).count() == 0

            names = sidebar.get_by_role("textbox", name="Lead names")
            names.fill("ECG=I, V5")
            names.press("Enter")
            sidebar.get_by_text("lead map item 'V5' is not NAME=LEAD").wait_for()
            names.fill("ECG=I")
            names.press("Enter")
            _wait_heading(page, "1-lead ECG (I) · record 00001")
            page.wait_for_function(f"() => JSON.stringify(({LEAD_NAMES})(0)) === '[\"I\"]'")
            page.get_by_text("absent or left out: aVF").first.wait_for()  # drawn after the chart
            assert sidebar.get_by_text("not NAME=LEAD").count() == 0
            assert page.locator(EXCEPTION).count() == 0
        finally:
            browser.close()
