"""The Saliency, Clustering and Compare views, driven headless with AppTest over the tiny
runs (task_vae, pca, beta_vae; a cnn_baseline on 10-s signals) trained on the demo data;
figures checked in their specs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 240
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder

REGIONS = ["P", "QRS", "ST", "T", "other"]


def _copy(run: Path, dest: Path) -> Path:
    return Path(shutil.copytree(run, dest, ignore=shutil.ignore_patterns("cache")))


def _copy_runs(tiny, folder: Path, monkeypatch) -> Path:
    for name in ("task_vae", "pca", "beta_vae"):
        _copy(run_folder(tiny[0], name), folder / f"{name}-copy")
    monkeypatch.setenv("ECGWB_RUNS", str(folder))
    return folder


@pytest.fixture(scope="module")
def shared_runs(tiny, tmp_path_factory) -> Path:
    """Copies of the tiny runs shared by the read-only view tests (their caches grow)."""
    folder = tmp_path_factory.mktemp("views") / "runs"
    for name in ("task_vae", "pca", "beta_vae"):
        _copy(run_folder(tiny[0], name), folder / f"{name}-copy")
    return folder


@pytest.fixture
def runs_dir(shared_runs, monkeypatch) -> Path:
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(shared_runs))
    return shared_runs


@pytest.fixture
def own_runs(tiny, tmp_path, monkeypatch) -> Path:
    """A runs folder of this test's own (it writes evaluations or breaks a run)."""
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    return _copy_runs(tiny, tmp_path / "runs", monkeypatch)


def _run(at) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _open(name: str, *runs: Path) -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    at = _run(at.multiselect(key="runs").set_value([str(r) for r in runs]))
    return _run(at.switch_page(f"pages/{name}.py"))


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _bars(spec: dict) -> dict[str, dict[str, float]]:
    """{series name: {x: y}} of a bar figure's traces on its first axis (regions)."""
    out: dict[str, dict[str, float]] = {}
    for t in spec["data"]:
        if t["type"] == "bar" and t.get("xaxis", "x") == "x":
            out[t["name"]] = dict(zip(t["x"], t["y"]))
    return out


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def _downloads(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_saliency_record_second_predictor_and_class_average(runs_dir):
    task = runs_dir / "task_vae-copy"
    at = _open("saliency", task)
    assert at.selectbox(key="sal_predictor").value.endswith("|head0")  # the task head first
    beat, bars = _charts(at)
    markers = [t for t in beat["data"] if t.get("mode") == "markers" and "customdata" in t]
    assert len(markers) == 3  # leads II, V2, V5
    (series,) = _bars(bars).values()
    assert set(series) == set(REGIONS)
    # per-lead bars add up to the same total as the regions
    leads_total = sum(t for tr in bars["data"] if tr.get("xaxis") == "x2" for t in tr["y"])
    assert sum(series.values()) == pytest.approx(leads_total, rel=1e-6)
    assert {"PNG 300 dpi", "SVG", "PDF", "Table (CSV)"} <= set(_downloads(at))
    cache = next((task / "cache").iterdir()) / "saliency"
    assert (cache / "head0-integrated_gradients-r0.npy").exists()

    at = _run(at.radio(key="sal_method").set_value("occlusion"))
    assert (cache / "head0-occlusion-r0.npy").exists()
    at = _run(at.selectbox(key="sal_second").set_value(f"{task}|unit0"))
    charts = _charts(at)
    assert len(charts) == 3  # two beats side by side, one bar figure
    assert len(_bars(charts[2])) == 2

    # class average: not computed until asked, then per class with its n (≤ 200)
    at = _run(at.radio(key="sal_method").set_value("saliency"))
    at = _run(at.selectbox(key="sal_label").set_value("superclass_MI"))
    assert any("not computed yet" in i.value for i in at.info)
    at = _run(at.button(key="sal_class_go").click())
    by_class = _bars(_charts(at)[-1])
    ns = sorted(int(name.split("n=")[1].rstrip(")")) for name in by_class)
    assert [name.split()[0] for name in sorted(by_class)] == ["no", "yes"]
    assert sum(ns) == 200 and min(ns) >= 1
    assert any("Averaged over 200 of the" in c.value for c in at.caption)
    assert list(cache.glob("head0-saliency-class-superclass_MI-n200-s0.npz"))


def test_saliency_explains_a_latent_unit_and_refuses_pca(runs_dir):
    at = _open("saliency", runs_dir / "pca-copy")
    assert any("no differentiable predictor" in w.value for w in at.warning)
    assert not _charts(at)
    at = _open("saliency", runs_dir / "beta_vae-copy")
    assert at.selectbox(key="sal_predictor").value.endswith("|unit0")
    assert len(_charts(at)) == 2


def test_saliency_of_a_signal_model_beside_a_median_beat_model(shared_runs, cnn_run, tmp_path,
                                                               monkeypatch):
    """A cnn_baseline (10-s signals) explained on the signal, with the same region bars as
    the task_vae (median beats) beside it, and its class average."""
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    cnn = _copy(cnn_run, runs_dir / "cnn_baseline-copy")
    task = runs_dir / "task_vae-copy"
    task.symlink_to(shared_runs / "task_vae-copy")  # its caches are shared
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs_dir))
    at = _open("saliency", cnn, task.resolve())
    assert at.selectbox(key="sal_predictor").value == f"{cnn}|head0"
    signal, bars = _charts(at)
    dots = [t for t in signal["data"] if t["name"].startswith("Integrated Gradients")]
    assert [t["name"].split()[-1] for t in dots] == ["II", "V2", "V5"]
    assert all(len(_array(t["customdata"])) == 1000 for t in dots)  # 10 s at 100 Hz
    (peaks,) = [t for t in signal["data"] if t["name"] == "R peaks"]
    assert 5 <= len(_array(peaks["x"])) <= 25
    (series,) = _bars(bars).values()
    assert set(series) == set(REGIONS) and series["QRS"] > 0
    leads_total = sum(t for tr in bars["data"] if tr.get("xaxis") == "x2" for t in tr["y"])
    assert sum(series.values()) == pytest.approx(leads_total, rel=1e-6)
    folder = next((cnn / "cache").iterdir()) / "saliency"
    assert (folder / "head0-integrated_gradients-r0.npy").exists()
    assert any("10-s signal of record" in c.value for c in at.caption)

    # the task_vae's head on the same record beside it: a beat, a strip, one bar figure
    at = _run(at.selectbox(key="sal_second").set_value(f"{task.resolve()}|head0"))
    charts = _charts(at)
    assert len(charts) == 3 and len(_bars(charts[2])) == 2
    assert any("median beat of record" in c.value and "10-s signal" in c.value
               for c in at.caption)

    # class average of the cnn's head over its (60-record) data
    at = _run(at.radio(key="sal_method").set_value("saliency"))
    at = _run(at.selectbox(key="sal_label").set_value("superclass_MI"))
    assert any("on a model of 10-s signals" in i.value for i in at.info)
    at = _run(at.button(key="sal_class_go").click())
    by_class = _bars(_charts(at)[-1])
    ns = [int(name.split("n=")[1].rstrip(")")) for name in by_class]
    (cap,) = [c.value for c in at.caption if c.value.startswith("Averaged over")]
    assert sum(ns) == int(cap.split()[2]) >= 50
    assert list(folder.glob("head0-saliency-class-superclass_MI-n200-s0.npz"))


def test_clustering_scores_beside_pca_reference(runs_dir):
    runs = [runs_dir / "pca-copy", runs_dir / "beta_vae-copy"]
    at = _open("clustering", *runs)
    table = at.dataframe[0].value
    assert set(table["run"]) == {"pca-copy", "beta_vae-copy"}
    assert set(table["clustering"]) == {"superclass", "sex", "kmeans5"}
    for col in ("dbi", "dbi_pca", "silhouette", "silhouette_pca", "chi", "chi_pca"):
        assert np.isfinite(table[col].astype(float)).all(), col
    assert (table["silhouette"].between(-1, 1)).all()
    scores, kmap, beats = _charts(at)
    names = {t["name"] for t in scores["data"]}
    assert {"pca-copy", "beta_vae-copy", "pca-copy · PCA-10 reference"} <= names
    assert len(kmap["data"]) == 5  # one trace per k-means cluster
    assert len({t["name"] for t in beats["data"]}) == 5  # one mean beat per cluster
    assert list((runs[0] / "cache").glob("*/clustering-*.parquet"))

    at = _run(at.number_input(key="clu_k").set_value(3))
    assert len(_charts(at)[1]["data"]) == 3
    assert len({t["name"] for t in _charts(at)[2]["data"]}) == 3
    assert "kmeans3" in set(at.dataframe[0].value["clustering"])


def test_compare_hints_and_overlays_reconstructions(runs_dir):
    pca, vae = runs_dir / "pca-copy", runs_dir / "beta_vae-copy"
    at = _open("compare", pca, vae)
    assert sum("has no evaluation yet" in i.value for i in at.info) == 2
    assert any(f"ecgwb evaluate {pca}" in i.value for i in at.info)
    recon = _charts(at)[-1]
    assert {t["name"] for t in recon["data"]} == {"median beat", "pca-copy", "beta_vae-copy"}
    peak = {t["name"]: np.abs(_array(t["y"])).max() for t in recon["data"]
            if t["xaxis"] in ("x", None) or t.get("xaxis") == "x"}
    # µV, not model units: an R wave of hundreds of µV, the PCA close to it
    assert peak["median beat"] > 100
    assert 0.5 < peak["pca-copy"] / peak["median beat"] < 2
    at = _run(at.selectbox(key="cmp_record").set_value(7))
    assert any(c.value.startswith("Median beat of record") for c in at.caption)


@pytest.mark.slow
def test_compare_evaluate_button_writes_the_evaluation(own_runs):
    """The button runs the real ``ecgwb evaluate`` (about 20 s on the tiny PCA run)."""
    pca = own_runs / "pca-copy"
    at = _open("compare", pca, own_runs / "beta_vae-copy")
    at = _run(at.button(key="cmp_eval_pca-copy").click())
    assert (pca / "evaluation.json").exists()
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["pca"]
    assert float(table["MSE (µV²)"].iloc[0]) > 0
    assert sum("has no evaluation yet" in i.value for i in at.info) == 1
    assert "Table (CSV)" in _downloads(at)


def test_broken_run_is_named_and_the_rest_works(shared_runs, tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    good = runs_dir / "task_vae-copy"
    good.symlink_to(shared_runs / "task_vae-copy")  # resolved: its caches are shared
    bad = _copy(shared_runs / "beta_vae-copy", runs_dir / "beta_vae-broken")
    weights = bad / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    pca = _copy(shared_runs / "pca-copy", runs_dir / "pca-badeval")
    (pca / "evaluation.json").write_text("{not json")
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs_dir))
    for page in ("saliency", "clustering", "compare"):
        at = _open(page, bad, good.resolve())
        warned = [w.value for w in at.warning]
        assert any("beta_vae-broken" in w and "weights.safetensors" in w for w in warned), \
            (page, warned)
        assert _charts(at), page  # the good run is still shown
    at = _open("compare", pca)
    assert any("evaluation.json cannot be read" in w.value for w in at.warning)
