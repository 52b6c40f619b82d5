"""The Latent space view's raw axes: two latent units against each other (no projection),
the widest first, coloured by any label, with the same selection as the projection; and the
map's drag mode that lets a click select one point (AppTest over the tiny runs)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


def _run(at) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def _map(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _points(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """(rows, xy) of every point of the map, in trace order."""
    rows, xy = [], []
    for t in spec["data"]:
        x, y = _array(t["x"]), _array(t["y"])
        rows.append(_array(t["customdata"]).reshape(len(x), -1)[:, 0].astype(int))
        xy.append(np.column_stack([x, y]))
    return np.concatenate(rows), np.concatenate(xy)


def test_two_latent_units_on_raw_axes(tiny, monkeypatch):
    from streamlit.elements.plotly_chart import PlotlySelectionState, PlotlyState

    from ecgcore.runs import Run

    runs, _ = tiny
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))
    at = _run(AppTest.from_file(APP, default_timeout=120))
    run = run_folder(runs, "beta_vae")
    assert at.session_state["runs"] == [str(run)]
    at = _run(at.switch_page("pages/latent.py"))
    assert _map(at)["layout"]["dragmode"] == "zoom"  # a click selects (see ecgcore.viz.latent)

    at = _run(at.radio(key="latent_method").set_value("units"))
    means = Run(run).means()
    sd = means.std(axis=0, ddof=1)
    x_box, y_box = at.selectbox(key="latent_x_unit"), at.selectbox(key="latent_y_unit")
    widest = list(np.argsort(-sd, kind="stable"))
    assert x_box.options[0].startswith(f"z{widest[0]} (SD ")  # widest first
    assert (x_box.value, y_box.value) == (widest[0], widest[1])
    spec = _map(at)
    assert spec["layout"]["xaxis"]["title"]["text"] == f"z{widest[0]}"
    assert spec["layout"]["yaxis"]["title"]["text"] == f"z{widest[1]}"
    assert spec["layout"]["dragmode"] == "zoom"
    rows, xy = _points(spec)
    assert sorted(rows) == list(range(len(means)))  # every record once
    np.testing.assert_allclose(xy, means[rows][:, [widest[0], widest[1]]], rtol=1e-6)

    # another unit on y, coloured by a categorical label: the same points, new y
    unit = widest[-1]
    at = _run(at.selectbox(key="latent_y_unit").set_value(unit))
    at = _run(at.selectbox(key="latent_color").set_value("sex"))
    spec = _map(at)
    assert spec["layout"]["yaxis"]["title"]["text"] == f"z{unit}"
    assert sorted(t["name"].split()[0] for t in spec["data"]) == ["F", "M"]
    rows, xy = _points(spec)
    np.testing.assert_allclose(xy[:, 1], means[rows, unit], rtol=1e-6)

    # a click's selection (one point) opens that record's panel, as on the projection
    at.session_state["latent_map"] = PlotlyState({"selection": PlotlySelectionState({
        "points": [{"customdata": 17}], "point_indices": [0], "box": [], "lasso": []})})
    at = _run(at)
    assert any(s.value.startswith("Selection: 1 of") for s in at.subheader)
    assert at.selectbox(key="latent_record").value == 17
    assert at.button(key="latent_open_data") is not None
