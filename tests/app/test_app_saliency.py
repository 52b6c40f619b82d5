"""The Saliency view (AppTest over the tiny task_vae run): the record's predicted
probability for the explained class under its figure, the P/QRS/ST/T regions the bars sum
over shaded on the beat, and the sidebar's labels table as classes of the class average,
a class of few records flagged."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.data.attached_labels import read_labels

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


@pytest.fixture
def task_run(tiny, tmp_path, monkeypatch) -> Path:
    """A copy of the task_vae run (its results cache grows here, not in the shared one)."""
    run = Path(shutil.copytree(run_folder(tiny[0], "task_vae"), tmp_path / "runs" / "task_vae-copy",
                               ignore=shutil.ignore_patterns("cache")))
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(run.parent))
    return run


def _run(at) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_probability_and_regions_on_the_beat(task_run):
    from ecgcore.runs import Run
    from ecgcore.runs.saliency import predictor_by_key, predictor_output
    from ecgcore.signal.regions import region_bounds

    at = _run(AppTest.from_file(APP, default_timeout=240))
    at = _run(at.switch_page("pages/saliency.py"))
    assert at.selectbox(key="sal_predictor").value.endswith("|head0")
    art = Run(task_run)
    out = predictor_output(art, predictor_by_key(art, "head0"), 0)
    assert out.name == "Myocardial infarction (MI)" and 0 < out.probability < 1
    line = [m.value for m in at.markdown if m.value.startswith("Predicted probability")]
    recorded = {1.0: "yes", 0.0: "no"}[out.recorded]
    expected = (f"Predicted probability of **Myocardial infarction (MI): "
                f"{out.probability:.2f}** (logit {out.value:.2f}) · recorded label: "
                f"**{recorded}**")
    assert line == [expected]

    beat = _charts(at)[0]
    bounds = region_bounds(np.asarray(art.cache.fiducials)[0], art.window)
    ms = 1000.0 / art.fs
    shapes = [s for s in beat["layout"]["shapes"] if s.get("name", "").startswith("region ")]
    assert len(shapes) == 3 * sum(b is not None for b in bounds.values())  # II, V2, V5
    for s in shapes:
        start, stop = bounds[s["name"].split()[1]]
        assert s["x0"] == pytest.approx((start - art.r_index - 0.5) * ms)
        assert s["x1"] == pytest.approx((stop - art.r_index - 0.5) * ms)
    assert any("P, QRS, ST and T regions" in c.value for c in at.caption)

    # a latent unit: its mean, no probability
    at = _run(at.selectbox(key="sal_predictor").set_value(f"{task_run}|unit1"))
    unit = [m.value for m in at.markdown if m.value.startswith("Latent mean")]
    assert unit == [f"Latent mean **z1 = {art.embedding['z1'].iloc[0]:.3g}** for this record."]


def test_attached_labels_are_classes_and_few_records_are_flagged(task_run, tiny):
    _, cache = tiny
    ids = pd.read_parquet(cache / "records.parquet", columns=["record_id"])["record_id"].astype(str)
    # 12 records in group 'rare', 88 in 'common', the rest unlabelled; and a numeric column
    groups = {rid: ("rare" if i < 12 else "common") for i, rid in enumerate(ids.iloc[:100])}
    csv = "ecg_id,echo group,lvef\n" + "".join(
        f"{rid},{g},{30 + i % 40}\n" for i, (rid, g) in enumerate(groups.items()))
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["labels_table"] = read_labels(csv.encode(), "echo.csv")
    at = _run(at)
    at = _run(at.switch_page("pages/saliency.py"))
    at = _run(at.radio(key="sal_method").set_value("saliency"))
    box = at.selectbox(key="sal_label")
    assert "Your labels · echo group" in box.options  # shown by name, in its group
    assert not [o for o in box.options if "LVEF" in o or "lvef" in o]  # numbers: no classes
    assert any("lvef" in c.value and "not classes" in c.value for c in at.caption)
    at = _run(box.set_value("echo group"))
    assert any(c.value.startswith("Averaged over 100 of the 100 records") for c in at.caption)
    at = _run(at.button(key="sal_class_go").click())
    bars = _charts(at)[-1]["data"]
    ns = {t["name"].split(" (n=")[0]: int(t["name"].split("n=")[1].rstrip(")"))
          for t in bars if t["type"] == "bar" and t.get("xaxis", "x") == "x"}
    assert ns == {"common": 88, "rare": 12}
    (warning,) = [w.value for w in at.warning if w.value.startswith("Few records in")]
    assert "rare (12)" in warning and "common" not in warning
