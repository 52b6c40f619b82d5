"""The Patient view in a real browser: PTB-XL 00002_hr written in each clinical format (by
tests/io/ecg_writers.py) is uploaded with Playwright's ``set_input_files``; for each file
the intervals, the neighbours panel and the one-page report (a real PDF download) appear."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "io"))
from ecg_writers import (
    write_csv,
    write_dicom,
    write_edf,
    write_hl7_aecg,
    write_muse,
    write_philips,
    write_scp,
)
from server import chromium, chromium_missing, streamlit_server
from tiny_runs import build_tiny_runs

pytestmark = pytest.mark.e2e
EXCEPTION = '[data-testid="stException"]'
RECORD = ROOT.parent / "shared" / "data" / "ptbxl500" / "records500" / "00000" / "00002_hr.hea"
#: Upload order = File 1…7.
WRITERS = (("muse", write_muse, ".xml"), ("hl7_aecg", write_hl7_aecg, ".xml"),
           ("dicom", write_dicom, ".dcm"), ("edf", write_edf, ".edf"), ("csv", write_csv, ".csv"),
           ("philips", write_philips, ".xml"), ("scp", write_scp, ".scp"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    from ecgcore.io import read_wfdb

    if not RECORD.exists():
        pytest.fail(f"real test data missing: {RECORD}")
    rec = read_wfdb(RECORD)
    folder = tmp_path_factory.mktemp("formats")
    return [writer(rec.signal, rec.fs, folder / f"00002_{kind}{suffix}")
            for kind, writer, suffix in WRITERS]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    runs, _ = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    log = tmp_path_factory.mktemp("e2e_patient") / "streamlit.log"
    with streamlit_server(runs, log) as url, sync_playwright() as p:
        browser = chromium(p)
        try:
            pg = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
            pg.set_default_timeout(60_000)
            pg.goto(url)
            pg.get_by_role("heading", name="Data").first.wait_for()
            pg.locator('[data-testid="stSidebarNav"]').get_by_text("Patient", exact=True).click()
            pg.get_by_role("heading", name="Patient").first.wait_for()
            yield pg
        finally:
            browser.close()


def _no_exception(pg) -> None:
    assert pg.locator(EXCEPTION).count() == 0, pg.locator(EXCEPTION).first.inner_text()


def test_upload_each_format_intervals_neighbours_report(page, files, tmp_path):
    # the view's own uploader, not the sidebar's labels-table one
    page.locator('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [str(f) for f in files])
    for n, (kind, _, _) in enumerate(WRITERS, start=1):
        if n > 1:  # pick the n-th upload
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="File")
            box.locator("input").click()
            option = page.get_by_role("option", name=f"File {n}:").first
            if not option.is_visible():  # the click only focused it (after a download)
                box.locator("input").click()
            option.click()
        try:
            page.get_by_role("heading", name=f"ECG and intervals: upload-{n}").wait_for()
        except Exception:
            page.screenshot(path="/tmp/p17b/shot.png", full_page=True)
            raise
        intervals = page.locator('[data-testid="stTable"]').filter(has_text="QRS duration")
        intervals.wait_for()
        row = intervals.locator("tr").filter(has_text="QRS duration")
        cells = [c.strip() for c in row.locator("td, th").all_inner_texts()]
        assert cells[:2] == ["QRS duration", "ms"] and cells[2].isdigit(), (kind, cells)
        assert 60 <= int(cells[2]) <= 140, (kind, cells)  # a QRS, not a stray number
        neighbours = page.locator('[data-testid="stTable"]').filter(has_text="distance")
        neighbours.wait_for()
        assert neighbours.locator("tbody tr").count() == 5, kind  # k = 5 neighbours
        page.get_by_text(f"One page for upload-{n} against").wait_for()
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")  # run done
        _no_exception(page)
        with page.expect_download(timeout=90_000) as dl:
            page.locator('[data-testid="stDownloadButton"]').filter(has_text="PDF").last.click()
        path = tmp_path / f"report_{kind}.pdf"
        dl.value.save_as(path)
        assert path.read_bytes()[:5] == b"%PDF-", kind
        assert dl.value.suggested_filename == f"report_upload-{n}.pdf"
