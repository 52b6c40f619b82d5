"""Served beyond loopback, the workbench asks a real browser for the access secret before
it draws anything, and opens read-only (clinic mode) once given it."""

from __future__ import annotations

import pytest

from ecgwb.browser import chromium, chromium_missing, streamlit_server

pytestmark = pytest.mark.e2e
SECRET = "e2e-access-secret"


def test_app_bound_to_every_interface_asks_for_the_secret(tmp_path):
    from playwright.sync_api import sync_playwright

    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    runs = tmp_path / "runs"
    runs.mkdir()
    # Bound to 0.0.0.0; the browser reaches it over loopback only.
    with streamlit_server(runs, tmp_path / "streamlit.log", host="0.0.0.0",
                          env_extra={"ECGWB_SECRET": SECRET}) as url, sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(45_000)
            page.goto(url)
            secret = page.get_by_label("Access secret", exact=True)
            secret.wait_for()
            assert page.locator(".js-plotly-plot").count() == 0  # nothing shown before it
            secret.fill("not-the-secret")
            page.get_by_role("button", name="Open the workbench").click()
            page.get_by_text("That is not the access secret.").wait_for()
            assert page.locator(".js-plotly-plot").count() == 0
            secret.fill(SECRET)
            page.get_by_role("button", name="Open the workbench").click()
            page.get_by_role("heading", name="Data").first.wait_for()
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 1")
            nav = page.locator('[data-testid="stSidebarNav"]')
            assert "Latent space" in nav.inner_text() and "Train" not in nav.inner_text()
            assert page.get_by_text("Another folder…").count() == 0
        finally:
            browser.close()
