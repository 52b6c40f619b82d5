"""The Train view, headless with AppTest: the form built from the config schema, its
validation errors shown in the form, and a launched job listed with its progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from trainer import jobs
from trainer.config import load_config

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture
def runs_env(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("ECGWB_DATA", raising=False)  # the sidebar's dataset: the bundled demo
    monkeypatch.setenv("ECGWB_RUNS", str(tmp_path))
    return tmp_path


def _train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = at.switch_page("pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _key(family: str, path: str) -> str:
    return f"train.{family}.{path}"


def test_the_form_follows_the_family_schema(runs_env):
    at = _train_page()
    assert at.selectbox(key="train_family").value == "beta_vae"
    # β-VAE fields at the top, with the shipped config's values
    assert at.number_input(key=_key("beta_vae", "model.beta")).value == 3.0
    shipped = load_config(ROOT / "trainer" / "configs" / "beta_vae.yaml")  # on its recipe
    assert at.number_input(key=_key("beta_vae", "optim.max_epochs")).value == shipped.optim.max_epochs
    assert at.selectbox(key=_key("beta_vae", "model.backbone.kind")).value == "small"
    assert at.selectbox(key=_key("beta_vae", "data.window")).options == ["r400", "qrs750"]
    # another family brings its own fields (the split-task VAE's γ and task column)
    at.selectbox(key="train_family").set_value("split_task_vae").run()
    assert at.number_input(key=_key("split_task_vae", "model.gamma")).value == 500.0
    assert at.text_input(key=_key("split_task_vae", "data.task")).value == "superclass_MI"
    assert not at.exception
    assert "No training launched" in " ".join(c.value for c in at.caption)


def test_a_bad_value_is_shown_in_the_form_and_nothing_starts(runs_env):
    at = _train_page()
    at.text_input(key="train_name").set_value("my run")  # spaces are not allowed
    at.button[0].click().run()  # the form's submit button
    errors = [e.value for e in at.error]
    assert any("Train form: invalid config" in e and "name" in e for e in errors), errors
    assert not at.exception
    assert jobs.list_jobs(runs_env) == []

    at.text_input(key="train_name").set_value("ok")
    at.number_input(key=_key("beta_vae", "optim.lr")).set_value(0.0)  # must be > 0
    at.button[0].click().run()
    assert any("optim.lr" in e.value for e in at.error), [e.value for e in at.error]
    assert jobs.list_jobs(runs_env) == []


def test_a_missing_dataset_is_refused_in_the_form(runs_env):
    at = _train_page()
    at.sidebar.radio(key="dataset_choice").set_value("Another folder…").run()
    at.sidebar.text_input(key="dataset_folder").set_value(str(runs_env / "nowhere")).run()
    at.button[0].click().run()
    errors = [e.value for e in at.error]
    assert any("nowhere: no such folder" in e for e in errors), errors
    assert jobs.list_jobs(runs_env) == []
