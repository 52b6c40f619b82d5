"""The run picker, the Latent space and the Factor traversal views, driven headless with
AppTest over two tiny runs (PCA and a 2-epoch β-VAE) trained on the demo data."""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


@pytest.fixture
def runs_env(tiny, monkeypatch) -> Path:
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(tiny[0]))
    return tiny[0]


def _run(at) -> AppTest:
    """Run the app (``at`` may be a widget whose value was just set) and check it."""
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _app() -> AppTest:
    return _run(AppTest.from_file(APP, default_timeout=TIMEOUT))


def _page(at: AppTest, name: str) -> AppTest:
    return _run(at.switch_page(f"pages/{name}.py"))


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def _n_records(cache: Path) -> int:
    return json.loads((cache / "cache.json").read_text())["n_ok"]


def _choose(at: AppTest, *runs: Path) -> AppTest:
    return _run(at.multiselect(key="runs").set_value([str(r) for r in runs]))


def test_run_picker_lists_the_runs_and_picks_the_newest(runs_env):
    at = _app()
    picker = at.multiselect(key="runs")
    assert sorted(Path(p).name.split("-")[0] for p in picker.options) == [
        "beta_vae", "pca", "task_vae"]
    newest = str(run_folder(runs_env, "beta_vae"))  # trained last
    assert at.session_state["runs"] == [newest]
    assert not at.error and not at.warning


def test_latent_map_has_every_record_and_recolours(runs_env, tiny):
    at = _page(_app(), "latent")
    (spec,) = _charts(at)
    traces = spec["data"]
    assert {t["type"] for t in traces} == {"scattergl"}
    rows = np.concatenate([_array(t["customdata"]).reshape(len(_array(t["x"])), -1)[:, 0]
                           for t in traces]).astype(int)
    n = _n_records(tiny[1])
    assert len(rows) == n and sorted(rows) == list(range(n))  # every record exactly once
    assert at.selectbox(key="latent_color").value == "age"
    assert any("colorscale" in t["marker"] for t in traces)  # continuous: a colour scale

    at = _run(at.selectbox(key="latent_color").set_value("sex"))
    names = sorted(t["name"] for t in _charts(at)[0]["data"])
    assert [name.split()[0] for name in names] == ["F", "M"]
    at = _run(at.selectbox(key="latent_color").set_value("superclass_MI"))
    traces = _charts(at)[0]["data"]
    assert [t["name"].split()[0] for t in traces] == ["no", "yes"]  # 'yes' drawn on top
    assert sum(len(_array(t["x"])) for t in traces) == n
    at = _run(at.selectbox(key="latent_color").set_value("qrs_ms"))
    assert any("colorscale" in t["marker"] for t in _charts(at)[0]["data"])


def _select(at: AppTest, *rows: int) -> AppTest:
    """What the browser sends after a lasso: points with their customdata (row, value)."""
    from streamlit.elements.plotly_chart import PlotlySelectionState, PlotlyState

    at.session_state["latent_map"] = PlotlyState({"selection": PlotlySelectionState({
        "points": [{"customdata": {"0": r, "1": 50.0}} for r in rows],
        "point_indices": list(rows), "box": [], "lasso": []})})
    return _run(at)


def test_selection_shows_label_mix_and_reconstruction(runs_env):
    at = _page(_app(), "latent")
    assert any("Select records" in i.value for i in at.info)
    at = _select(at, 4, 9)
    assert any(s.value.startswith("Selection: 2 of") for s in at.subheader)
    mix = at.dataframe[0].value
    assert {"Age (years): median (IQR)", "Sex: F", "Normal ECG (NORM)"} <= set(mix["label"])
    assert at.selectbox(key="latent_record").value == 4
    beat = _charts(at)[1]
    names = {t["name"] for t in beat["data"]}
    assert names == {"median beat", "reconstruction"}
    leads = {a["text"] for a in beat["layout"]["annotations"] if a.get("name", "").startswith("lead:")}
    assert leads == {"<b>II</b>", "<b>V5</b>"}
    assert beat["layout"]["xaxis"]["minor"]["dtick"] == 40  # ECG paper

    at = _run(at.selectbox(key="latent_record").set_value(9))
    other = _charts(at)[1]["data"][0]
    assert not np.array_equal(_array(other["y"]), _array(beat["data"][0]["y"]))
    at = _select(at, 12, 30, 31)  # a new selection without the picked record
    assert any(s.value.startswith("Selection: 3 of") for s in at.subheader)
    assert at.selectbox(key="latent_record").value in (12, 30, 31)


def test_tsne_and_umap_wait_for_a_click(runs_env):
    at = _page(_app(), "latent")
    at = _run(at.radio(key="latent_method").set_value("umap"))
    assert any("UMAP" in i.value and "not computed" in i.value for i in at.info)
    assert at.button(key="latent_compute_umap") is not None
    assert not at.get("plotly_chart")  # nothing slow ran


@pytest.mark.parametrize("name", ["pca", "beta_vae"])
def test_traversal_renders_with_its_step_slider(runs_env, name):
    at = _choose(_app(), run_folder(runs_env, name))
    at = _page(at, "traversal")
    assert not at.error
    unit = at.selectbox(key="traversal_unit").value
    assert at.selectbox(key="traversal_unit").options[0].startswith(f"z{unit}:")  # strongest first
    assert sorted(int(o.split(":")[0][1:]) for o in at.selectbox(key="traversal_unit").options) \
        == list(range(10))

    def highlighted(at) -> list[dict]:
        return [t for t in _charts(at)[0]["data"] if t.get("line", {}).get("color") == "#000000"]

    black = highlighted(at)
    assert {t["name"] for t in black} == {f"z{unit} 0σ"}
    assert len(black) == 3  # II, V2, V5
    n_traces = len(_charts(at)[0]["data"])
    compact, full = (t.value for t in at.table)
    assert len(compact) == 8 and "ρ in cohort" in compact.columns
    assert {"QRS duration", "QT interval", "ST level in V2"} <= set(full["Measurement"])
    assert "Change (cohort SD)" in full.columns
    assert any(m.value.startswith(f"**z{unit}:") for m in at.markdown)

    # the step slider is the figure's own: a step restyles it in the browser
    (slider,) = _charts(at)[0]["layout"]["sliders"]
    assert [s["label"] for s in slider["steps"]] == ["−3σ", "−2σ", "−1σ", "0σ", "+1σ", "+2σ",
                                                     "+3σ"]
    assert slider["active"] == 3 and {s["method"] for s in slider["steps"]} == {"update"}
    assert len(slider["steps"][0]["args"][2]) == n_traces - 1  # every beat, not the σ scale
    assert {"at −3σ", "at 0σ", "at +3σ"} <= set(compact.columns)
    other = 3 if unit != 3 else 4
    at = _run(at.selectbox(key="traversal_unit").set_value(other))
    at = _run(at.radio(key="traversal_leads").set_value("All leads"))
    black = highlighted(at)
    assert len(black) == 12 and {t["name"] for t in black} == {f"z{other} 0σ"}


def test_corrupt_run_shows_an_error_and_data_still_works(tiny, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    good = run_folder(tiny[0], "pca")
    shutil.copytree(good, runs / good.name, ignore=shutil.ignore_patterns("cache"))
    bad = runs / "beta_vae-broken"
    shutil.copytree(run_folder(tiny[0], "beta_vae"), bad, ignore=shutil.ignore_patterns("cache"))
    weights = bad / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))

    at = _app()
    assert at.session_state["runs"] == [str(runs / good.name)]  # the loadable one by default
    at = _choose(at, bad)
    assert any("truncated" in w.value for w in at.warning)  # the sidebar says why
    for page in ("latent", "traversal"):
        at = _page(at, page)
        (error,) = at.error
        assert "beta_vae-broken" in error.value and "weights.safetensors" in error.value
        assert not at.get("plotly_chart")
    at = _page(at, "data")
    assert not at.error and len(at.get("plotly_chart")) == 2


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_no_runs_gives_a_hint(tiny, tmp_path, monkeypatch, kind):
    folder = tmp_path / "nowhere" if kind == "missing" else tmp_path / "runs"
    folder.parent.mkdir(exist_ok=True)
    if kind == "empty":
        folder.mkdir()
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(folder))
    at = _app()
    assert at.session_state["runs"] == []
    assert any(str(folder) in i.value for i in at.info)
    for page in ("latent", "traversal"):
        at = _page(at, page)
        assert not at.error and any("Choose a run" in i.value for i in at.info)
    # A first run appears (training finished): it is picked without asking.
    run = shutil.copytree(run_folder(tiny[0], "pca"), folder / "pca-new",
                          ignore=shutil.ignore_patterns("cache"))
    at = _run(at)
    assert at.session_state["runs"] == [str(run)]
    # Once the user has cleared the picker, it stays cleared.
    at = _run(at.multiselect(key="runs").set_value([]))
    assert _run(at).session_state["runs"] == []


def test_scatter_of_20000_points_is_built_from_arrays():
    from ecgcore.data.label_columns import category_names
    from ecgcore.viz import latent_scatter_figure

    rng = np.random.default_rng(0)
    n = 20_000
    xy = rng.normal(size=(n, 2))
    ids = np.arange(n).astype(str)
    age = np.where(rng.random(n) < 0.01, np.nan, rng.uniform(18, 90, n))
    fig = latent_scatter_figure(xy, age, kind="continuous", label="age", record_ids=ids)
    flags = category_names(np.asarray(rng.random(n) < 0.2, dtype=np.int8), "superclass_MI")
    fig2 = latent_scatter_figure(xy, flags, kind="categorical", label="MI", record_ids=ids)
    spec = json.loads(fig.to_json())
    assert sum(len(_array(tr["x"])) for tr in spec["data"]) == n
    assert all(isinstance(tr["x"], dict) for tr in spec["data"])  # typed arrays, not lists
    assert sum(len(tr.x) for tr in fig2.data) == n
    # how fast 20,000 points draw is a benchmark (`ecgwb bench app --synthetic 20000`), not
    # a test: a wall-clock limit here passes or fails with the machine's load


def test_a_run_still_training_is_labelled_so_not_as_broken(tiny, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    good = run_folder(tiny[0], "pca")
    shutil.copytree(good, runs / good.name, ignore=shutil.ignore_patterns("cache"))
    busy = runs / "beta_vae-busy"  # what trainer.jobs leaves before the first checkpoint
    busy.mkdir()
    (busy / "config.json").write_text((run_folder(tiny[0], "beta_vae") / "config.json").read_text())
    (busy / "status.json").write_text('{"status": "running"}')
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))

    at = _app()
    assert at.session_state["runs"] == [str(runs / good.name)]
    labels = at.multiselect(key="runs").options
    assert any("beta_vae-busy" in o and "training…" in o and "⚠" not in o for o in labels), labels
    at = _choose(at, busy)
    assert any("still training" in w.value for w in at.warning)
