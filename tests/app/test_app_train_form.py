"""The Train form for people: readable labels and help from the config schema, and no
optimiser fields for a closed-form fit (PCA)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _widgets(at: AppTest) -> dict[str, object]:
    out = {}
    for kind in ("number_input", "selectbox", "text_input", "checkbox"):
        for w in at.get(kind):
            if w.key and w.key.startswith("train."):
                out[w.key] = w
    return out


def test_pca_form_has_no_optimiser_fields_and_beta_vae_reads_in_words(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGWB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at = at.switch_page("pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    widgets = _widgets(at)
    latent = widgets["train.beta_vae.model.latent_dim"]
    assert latent.label == "Latent units"
    assert "latent dimensions" in latent.help and "`--set model.latent_dim=…`" in latent.help
    assert widgets["train.beta_vae.optim.lr"].label == "Learning rate"
    assert widgets["train.beta_vae.data.batch_size"].label == "Batch size (records per step)"

    at = at.selectbox(key="train_family").set_value("pca").run()
    assert not at.exception, [e.message for e in at.exception]
    keys = set(_widgets(at))
    assert "train.pca.model.latent_dim" in keys
    offered = [k for k in keys if k.startswith(("train.pca.optim.", "train.pca.hardware."))
               or k in ("train.pca.data.batch_size", "train.pca.data.num_workers")]
    assert offered == []
    assert any("fitted in closed form" in c.value for c in at.caption)


def test_the_picker_switches_to_a_run_launched_from_the_train_view(tmp_path_factory,
                                                                   monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from tiny_runs import build_tiny_runs, run_folder

    runs, _ = build_tiny_runs(tmp_path_factory.getbasetemp() / "tiny_runs")
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=120).run()
    newest = str(run_folder(runs, "beta_vae"))
    assert at.session_state["runs"] == [newest]
    launched = str(run_folder(runs, "pca"))  # as the Train view records a launched run
    at.session_state["runs_pending"] = launched
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["runs"] == [launched]
    assert "runs_pending" not in at.session_state
