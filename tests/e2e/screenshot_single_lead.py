"""The single-lead Data view's screenshot (1600 × 1000) for the documentation:
``python tests/e2e/screenshot_single_lead.py --out docs/screenshots/data_single_lead.png``.

Makes the single-lead folder as ``ecgwb bench single_lead`` does (lead I of the first 40
records of ``../shared/data/ptbxl500`` at 300 Hz, named ``ECG``), opens it through the
sidebar's "Another folder…", reads ``ECG`` as lead I with the "Lead names" field and shows
``--record``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import ROOT, chromium, streamlit_server
from single_lead_data import make_single_lead_folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "data_single_lead.png")
    ap.add_argument("--ptbxl", type=Path, default=ROOT.parent / "shared" / "data" / "ptbxl500")
    ap.add_argument("--record", default="00003")
    ap.add_argument("--lead-map", default="ECG=I")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        data, _ = make_single_lead_folder(args.ptbxl, Path(tmp))
        (Path(tmp) / "runs").mkdir()
        with streamlit_server(Path(tmp) / "runs", Path(tmp) / "streamlit.log") as url, \
                sync_playwright() as p:
            browser = chromium(p)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_role("heading", name="12-lead ECG").first.wait_for()
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Another folder…").click()
            folder = sidebar.get_by_role("textbox", name="Folder path")
            folder.fill(str(data))
            folder.press("Enter")
            page.get_by_role("heading", name="1-lead ECG (ECG)").first.wait_for()
            if args.lead_map:
                names = sidebar.get_by_role("textbox", name="Lead names")
                names.fill(args.lead_map)
                names.press("Enter")
                page.get_by_text("Read as:").first.wait_for()
            page.locator('[data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name=args.record).first.click()
            page.get_by_role("heading", name=f"record {args.record}").first.wait_for()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(2000)
            # from the record's title down: the strip, the median beat, the intervals and
            # what was not measured, with why
            page.get_by_role("heading", name=f"record {args.record}").first.evaluate(
                "h => h.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(1000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
