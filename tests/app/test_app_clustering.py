"""The Clustering view describes its k-means clusters: each cluster's mean beat on ECG paper
(µV, n per cluster; checked against the mean of the member beats computed here), and any
label stratified by cluster — the sidebar's attached labels first, also as a clustering to
score."""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.data.attached_labels import read_labels
from ecgcore.data.store import ECGCache

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


@pytest.fixture
def pca(tiny, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    run = Path(shutil.copytree(run_folder(tiny[0], "pca"), folder / "pca-copy",
                               ignore=shutil.ignore_patterns("cache")))
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(folder))
    return run


def _run(at: AppTest) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def _labels_table(cache: Path) -> tuple[str, pd.DataFrame]:
    """A user's table of real labels of the demo records: the PTB-XL report's heart axis
    (categorical) and the patient's weight (continuous, missing for many)."""
    db = pd.read_csv(DEMO / "ptbxl_database.csv")
    ids = set(pd.read_parquet(cache / "records.parquet", columns=["record_id"])["record_id"].astype(str))
    db = db[db["ecg_id"].astype(str).isin(ids)]
    table = pd.DataFrame({"ecg_id": db["ecg_id"], "axis_report": db["heart_axis"],
                          "weight_kg": db["weight"]})
    return table.to_csv(index=False), table


def test_cluster_mean_beats_and_attached_labels_by_cluster(pca, tiny):
    from ecgcore.runs import Run
    from ecgcore.runs.clustering import run_kmeans

    csv, labels = _labels_table(tiny[1])
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["labels_table"] = read_labels(csv.encode(), "mine.csv")
    at.session_state["labels_name"] = "mine.csv"
    at = _run(at)
    at = _run(at.multiselect(key="runs").set_value([str(pca)]))
    at = _run(at.switch_page("pages/clustering.py"))

    # the attached categorical column is a clustering to score, named as the user's
    by_labels = at.multiselect(key="clu_labels")
    assert "Your labels · axis_report" in by_labels.options[:3]
    at = _run(by_labels.set_value(["sex", "axis_report"]))
    assert set(at.dataframe[0].value["clustering"]) == {"sex", "axis_report", "kmeans5"}

    # the mean beat of each k-means cluster: lead panels, one trace per cluster, with n
    ids = run_kmeans(Run(pca), 5)
    cache = ECGCache(tiny[1])
    beats = np.asarray(cache.median, dtype=np.float64)
    (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if any("(n = " in t.get("name", "") for t in json.loads(c.proto.spec)["data"])]
    leads = list(cache.leads)
    names = sorted({t["name"] for t in spec["data"]})
    ns = {int(name.split()[1]): int(name.split("n = ")[1].rstrip(")").replace(",", ""))
          for name in names}
    assert ns == {c + 1: int((ids == c).sum()) for c in range(5)}
    assert sum(ns.values()) == len(beats)
    lead_ii = [t for t in spec["data"] if t.get("xaxis") in (None, "x")]  # the first panel: II
    assert len(lead_ii) == 5
    for trace in lead_ii:
        c = int(trace["name"].split()[1]) - 1
        members = beats[ids == c][:, leads.index("II")]
        np.testing.assert_allclose(_array(trace["y"]), np.nanmean(members, axis=0),
                                   rtol=1e-4, atol=0.05)
    assert any(c.value.startswith("Each cluster's mean beat") for c in at.caption)

    # a continuous attached label by cluster: n, mean ± SD and median of each cluster
    at = _run(at.selectbox(key="clu_stratify").set_value("weight_kg"))
    table = at.dataframe[-1].value
    rec = pd.read_parquet(tiny[1] / "records.parquet", columns=["record_id"])
    weight = rec["record_id"].astype(str).map(
        dict(zip(labels["ecg_id"].astype(str), labels["weight_kg"]))).to_numpy(dtype=float)
    assert table["Cluster"].tolist() == [f"cluster {c + 1}" for c in range(5)] + ["all records"]
    for c in range(5):
        w = weight[ids == c]
        w = w[np.isfinite(w)]
        row = table.iloc[c]
        assert int(row["With a value"]) == len(w)
        if len(w) > 1:
            assert row["Mean ± SD"] == f"{w.mean():.4g} ± {w.std(ddof=1):.3g}"
    assert int(table.iloc[-1]["With a value"]) == int(np.isfinite(weight).sum())

    # a categorical one: the contingency of the report's heart axis, each cluster adding up
    at = _run(at.selectbox(key="clu_stratify").set_value("axis_report"))
    table = at.dataframe[-1].value
    axis = rec["record_id"].astype(str).map(
        dict(zip(labels["ecg_id"].astype(str), labels["axis_report"])))
    for c in range(5):
        want = axis[ids == c].value_counts()
        row = table.iloc[c]
        for cat, n in want.items():
            assert row[cat].startswith(f"{n:,} ("), (c, cat, row[cat])
    assert any("records of each category in each cluster" in c.value for c in at.caption)
