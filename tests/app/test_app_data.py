"""The Streamlit Data view, driven headless with AppTest on the bundled demo dataset."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO_RECORD = ROOT / "assets" / "demo" / "ptbxl100" / "records100" / "00000" / "00001_lr"
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _no_env_folder(monkeypatch):
    monkeypatch.delenv("ECGWB_DATA", raising=False)


def _run(at: AppTest | None = None) -> AppTest:
    at = (at or AppTest.from_file(APP, default_timeout=TIMEOUT)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _trace_y(trace: dict) -> np.ndarray:
    y = trace["y"]
    if isinstance(y, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


def _intervals(at: AppTest) -> dict[str, float]:
    (table,) = at.table
    df = table.value
    return dict(zip(df["Measure"], df["Value"].astype(float)))


def test_default_record_renders():
    at = _run()
    assert not at.error
    assert at.session_state["dataset_path"] == str(ROOT / "assets" / "demo" / "ptbxl100")
    picker = at.selectbox(key="data_record")
    assert picker.value == "1"
    assert picker.options[0].startswith("ecg_id 1 · 56 y · F · NORM")
    paper, median = _charts(at)
    leads = {t["name"] for t in paper["data"]}
    assert {"I", "II", "V6", "R peaks"} <= leads
    assert paper["layout"]["xaxis"]["minor"]["dtick"] == 40
    assert sum(t["name"] in leads for t in median["data"]) >= 12
    assert any(s.get("name", "").startswith("QRS:") for s in median["layout"]["shapes"])


def test_intervals_table_shows_numbers():
    values = _intervals(_run())
    assert list(values) == ["Heart rate", "P duration", "PR interval", "QRS duration",
                            "QT interval", "QTc (Bazett)", "QRS axis"]
    # the pipeline's measures of the shown record (demo record 1), rounded as displayed
    from ecgcore.io import open_source
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    record = open_source(ROOT / "assets" / "demo" / "ptbxl100").read("1")
    feats = process_record(record, PipelineConfig()).features
    keys = {"Heart rate": "hr_bpm", "P duration": "p_ms", "PR interval": "pr_ms",
            "QRS duration": "qrs_ms", "QT interval": "qt_ms", "QTc (Bazett)": "qtc_ms",
            "QRS axis": "axis_deg"}
    expected = {label: float(np.round(feats[key])) for label, key in keys.items()}
    assert values == pytest.approx(expected, nan_ok=True)
    assert values["QTc (Bazett)"] == pytest.approx(
        feats["qt_ms"] / np.sqrt(60 / feats["hr_bpm"]), abs=0.5 + 1e-9)


def test_intervals_table_shows_confidence():
    at = _run()
    (table,) = at.table
    df = table.value.set_index("Measure")
    from ecgcore.io import open_source
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    beat = process_record(open_source(ROOT / "assets" / "demo" / "ptbxl100").read("1"),
                          PipelineConfig())
    conf = beat.confidence()
    rows = {"P duration": "p_ms", "PR interval": "pr_ms", "QRS duration": "qrs_ms",
            "QT interval": "qt_ms"}
    for label, key in rows.items():
        c = conf[key]
        want = "absent" if c["absent"] else "uncertain" if c["uncertain"] else "ok"
        assert df.loc[label, "Confidence"] == want, label
        assert float(df.loc[label, "Beats"]) == c["n_beats"] >= 3
    assert df.loc["QRS duration", "Confidence"] in ("ok", "uncertain")
    assert df.loc["Heart rate", "Confidence"] == ""  # not a delineated interval
    assert any("Leads used (12): I, II, III" in c.value for c in at.caption)
    # The demo is recorded at 100 Hz: pacing is unknown there, and the view says so.
    assert beat.pacing.paced is None
    assert any(c.value == beat.pacing.describe() for c in at.caption)


def test_switching_record_rerenders():
    at = _run()
    before = _charts(at)[0]
    hr_before = _intervals(at)["Heart rate"]
    at = _run(at.selectbox(key="data_record").set_value("2"))
    assert not at.error
    after = _charts(at)[0]
    def lead_ii(spec: dict) -> np.ndarray:
        return _trace_y(next(t for t in spec["data"] if t["name"] == "II"))

    assert not np.array_equal(lead_ii(before), lead_ii(after))
    assert _intervals(at)["Heart rate"] != hr_before
    # The other layout of the same record re-renders too.
    at = _run(at.radio(key="data_layout").set_value("12 leads stacked"))
    names = [t["name"] for t in _charts(at)[0]["data"]]
    assert names.count("II") == 1 and "V6" in names


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_broken_dataset_folder_shows_error(tmp_path, kind):
    folder = tmp_path / "nowhere" if kind == "missing" else tmp_path
    at = _run()
    at = _run(at.radio(key="dataset_choice").set_value("Another folder…"))
    assert at.info  # no folder typed yet: a hint, no error
    at = _run(at.text_input(key="dataset_folder").input(str(folder)))
    assert at.error, "expected an error message"
    assert str(folder) in at.error[0].value
    assert not at.get("plotly_chart")
    # Back to the demo: the app still works.
    at = _run(at.radio(key="dataset_choice").set_value(at.radio(key="dataset_choice").options[0]))
    assert not at.error and len(at.get("plotly_chart")) == 2


def test_bad_record_shows_record_error(tmp_path):
    # A folder whose only record has a truncated signal file: a RecordError, shown.
    shutil.copy(DEMO_RECORD.with_suffix(".hea"), tmp_path / "00001_lr.hea")
    data = DEMO_RECORD.with_suffix(".dat").read_bytes()
    (tmp_path / "00001_lr.dat").write_bytes(data[: len(data) // 3])
    at = _run()
    at = _run(at.radio(key="dataset_choice").set_value("Another folder…"))
    assert at.info  # no folder typed yet: a hint, no error
    at = _run(at.text_input(key="dataset_folder").input(str(tmp_path)))
    assert at.selectbox(key="data_record").value == "00001_lr"
    (error,) = at.error
    assert "cannot be analysed" in error.value and "truncated" in error.value
    assert not at.get("plotly_chart")


def test_env_variable_sets_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGWB_DATA", str(tmp_path / "absent"))
    at = _run()
    assert at.session_state["dataset_path"] == str(tmp_path / "absent")
    assert "start-up folder" in at.radio(key="dataset_choice").options[0]
    assert at.error and "absent" in at.error[0].value
