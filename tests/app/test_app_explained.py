"""Numbers that explain themselves: the Clustering and Compare views spell out each metric
(with which direction is better), put the silhouette in words, describe each k-means
cluster, and Compare names each row's run, label, scope and n and warns when rows are
scored on different records."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.evaluate.glossary import silhouette_reading

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


@pytest.fixture
def runs(tiny, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    for name in ("task_vae", "pca"):
        shutil.copytree(run_folder(tiny[0], name), folder / f"{name}-copy",
                        ignore=shutil.ignore_patterns("cache"))
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(folder))
    return folder


def _open(name: str, *runs: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at = at.multiselect(key="runs").set_value([str(r) for r in runs]).run()
    at = at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _glossary(at: AppTest) -> str:
    (box,) = [e for e in at.expander if e.label == "What these numbers mean"]
    return " ".join(m.value for m in box.markdown)


def test_clustering_spells_out_its_metrics_and_describes_the_clusters(runs, tiny):
    at = _open("clustering", runs / "pca-copy")
    text = _glossary(at)
    for said in ("**DBI** — Davies–Bouldin index (lower is better)",
                 "**Silhouette** — silhouette score (higher is better)",
                 "**CHI** — Calinski–Harabasz index (higher is better)",
                 "**L** — latent dimension", "Near 0 (below about 0.1) = no cluster structure"):
        assert said in text, said
    scores = at.dataframe[0].value
    assert scores["structure"].tolist() == [silhouette_reading(v) for v in scores["silhouette"]]
    profile = at.dataframe[1].value
    n = len(pd.read_parquet(tiny[1] / "records.parquet", columns=["record_id"]))
    sizes = [int(c.split("(")[1].rstrip(")").replace(",", "")) for c in profile.columns
             if c.startswith("cluster ")]
    assert len(sizes) == 5 and sum(sizes) == n
    assert "Normal ECG (NORM)" in set(profile["Label"])


def test_compare_names_label_scope_and_n_and_warns_on_different_records(runs):
    from ecgcore.runs.evaluation import evaluate_run

    evals = {name: evaluate_run(runs / f"{name}-copy", n_boot=20)
             for name in ("task_vae", "pca")}
    at = _open("compare", runs / "task_vae-copy", runs / "pca-copy")
    table = at.dataframe[0].value
    assert list(table.columns[:5]) == ["Run", "Label", "Scored on", "n", "Model"]
    assert table["Run"].tolist() == ["task_vae-copy", "pca-copy"]
    expected_scope = {"test": "test split", "all": "all records (out-of-fold)"}
    for name, row in zip(("task_vae", "pca"), table.itertuples(index=False)):
        down = evals[name]["downstream"]
        assert row[2] == expected_scope[down["scope"]]
        assert int(row[3]) == down["main"]["n"]
    assert table["Label"].iloc[0] == "Myocardial infarction (MI)"  # task_vae's task label
    scopes = {(evals[n]["downstream"]["scope"], evals[n]["downstream"]["main"]["n"])
              for n in evals}
    warned = [w.value for w in at.warning if "scored on different records" in w.value]
    assert len(warned) == (1 if len(scopes) > 1 else 0)
    text = _glossary(at)
    assert "**AUROC** — area under the ROC curve (higher is better): 0.5 = chance" in text
    assert "**DBI** — Davies–Bouldin index (lower is better)" in text


def test_a_class_average_drops_its_banner_and_flags_small_classes(runs):
    import json

    at = _open("saliency", runs / "task_vae-copy")
    at = at.radio(key="sal_method").set_value("saliency").run()
    at = at.selectbox(key="sal_label").set_value("superclass").run()
    assert any("not computed yet" in i.value for i in at.info)
    at = at.button(key="sal_class_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("not computed yet" in i.value for i in at.info)
    bars = json.loads(at.get("plotly_chart")[-1].proto.spec)["data"]
    ns = {t["name"].split(" (n=")[0]: int(t["name"].split("n=")[1].rstrip(")"))
          for t in bars if t["type"] == "bar" and t.get("xaxis", "x") == "x"}
    few = sorted(c for c, n in ns.items() if n < 20)
    warned = [w.value for w in at.warning if w.value.startswith("Few records in")]
    if few:
        (text,) = warned
        assert all(f"{c} ({ns[c]})" in text for c in few)
    else:
        assert warned == []
