"""Serving beyond this machine (ecgwb/access.py): the secret, clinic mode, allowed roots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from ecgwb.access import AccessPolicy, is_loopback, policy_from_env, secret_matches

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SECRET = "correct horse battery"


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("", False), ("::", False),
    ("192.168.1.20", False), ("workbench.example.org", False)])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_policy_on_loopback_is_open_and_beyond_it_needs_a_long_secret(tmp_path):
    local = policy_from_env("127.0.0.1", (tmp_path,), env={})
    assert local.problem == "" and not local.clinic and not local.needs_login
    assert local.roots == () and local.allows_folder("/anywhere")

    bare = policy_from_env("0.0.0.0", (tmp_path,), env={})
    assert "no access secret is set" in bare.problem and "ECGWB_SECRET" in bare.problem
    assert "every interface" in policy_from_env("", env={}).problem
    short = policy_from_env("0.0.0.0", env={"ECGWB_SECRET": "short"})
    assert "shorter than 8 characters" in short.problem

    public = policy_from_env("0.0.0.0", (tmp_path / "data",), env={"ECGWB_SECRET": SECRET})
    assert public.problem == "" and public.needs_login and public.clinic  # read-only by default
    assert public.allows_folder(tmp_path / "data" / "sub") and public.allows_folder(tmp_path / "data")
    assert not public.allows_folder(tmp_path) and not public.allows_folder("/etc")
    assert not public.allows_folder(tmp_path / "data" / ".." / "elsewhere")  # resolved first
    trained = policy_from_env("0.0.0.0", env={"ECGWB_SECRET": SECRET, "ECGWB_CLINIC": "0"})
    assert not trained.clinic
    rooted = policy_from_env("10.0.0.5", env={"ECGWB_SECRET": SECRET,
                                              "ECGWB_ALLOWED_ROOTS": str(tmp_path)})
    assert rooted.roots == (tmp_path.resolve(),)
    assert policy_from_env("127.0.0.1", env={"ECGWB_CLINIC": "1"}).clinic


def test_secret_comparison():
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(SECRET[:-1], SECRET) and not secret_matches("", SECRET)


def test_ecgwb_app_refuses_to_serve_beyond_localhost_without_a_secret(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ECGWB_")}
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "app", "--host", "0.0.0.0",
                        "--port", "1", "--headless"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and "no access secret is set" in r.stderr
    assert "on http://" not in r.stdout  # nothing was started
    weak = tmp_path / "secret"
    weak.write_text("abc\n")
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "app", "--host", "0.0.0.0",
                        "--secret-file", str(weak)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 2 and "shorter than 8" in r.stderr
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "app", "--host", "0.0.0.0",
                        "--secret-file", str(tmp_path / "missing")], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 2 and "cannot read the access secret" in r.stderr


@pytest.fixture
def served_on_every_interface(monkeypatch):
    """The app as a server bound to 0.0.0.0 sees it (AppTest has no real server)."""
    for name in ("ECGWB_DATA", "ECGWB_SECRET", "ECGWB_CLINIC", "ECGWB_ALLOWED_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)


def test_app_beyond_localhost_without_a_secret_shows_only_the_refusal(served_on_every_interface):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] and "no access secret is set" in at.error[0].value
    assert not at.get("plotly_chart") and not at.sidebar.radio


def test_app_asks_for_the_secret_then_opens_read_only(served_on_every_interface, monkeypatch,
                                                      tmp_path):
    monkeypatch.setenv("ECGWB_SECRET", SECRET)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.get("plotly_chart")  # nothing drawn before the secret
    at.text_input[0].set_value("guess-guess")  # a form: the value goes with the submit
    at.button[0].click().run()
    assert any("not the access secret" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    at.text_input[0].set_value(SECRET)
    at.button[0].click().run()
    assert not at.exception and at.session_state["access_granted"] is True
    assert at.get("plotly_chart")  # the Data view drew the first demo record
    (source,) = at.sidebar.radio
    assert "Another folder…" not in source.options  # clinic mode: no folder browsing
    assert any("Clinic mode" in c.value for c in at.sidebar.caption)


def test_on_localhost_a_typed_folder_outside_the_allowed_roots_is_refused(monkeypatch, tmp_path):
    for name in ("ECGWB_DATA", "ECGWB_SECRET", "ECGWB_CLINIC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ECGWB_ALLOWED_ROOTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio[0].set_value("Another folder…").run()
    at.sidebar.text_input(key="dataset_folder").set_value("/etc").run()
    assert not at.exception
    assert any("opens folders only inside" in e.value for e in at.sidebar.error)
    assert at.session_state["dataset_path"] == ""


def test_policy_dataclass_is_frozen():
    with pytest.raises(AttributeError):
        AccessPolicy("0.0.0.0").secret = "x"  # type: ignore[misc]
