"""Any ECG a user has, in the app (issue 14): the sidebar's lead map, a single-lead folder
in the Data view, a QTDB two-lead Holter record, a 12-lead run refused on one lead with what
it needs, and a run trained on one lead in the Latent view coloured by rhythm.

The single-lead folder is made as ``ecgwb bench single_lead`` makes it (its own builder,
``tests/e2e/single_lead_data.py``): lead I of the first PTB-XL records of ``ptbxl500``
resampled to 300 Hz, the lead named ``ECG``, with the rhythm labels table.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.signal.regions import REGION_LABELS

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120
QTDB = ROOT.parent / "shared" / "data" / "qtdb_dev"
N_RECORDS = 40  # of ptbxl500, made single-lead
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from single_lead_data import make_single_lead_folder
from tiny_runs import run_folder

LEAD_MAP = "dataset_lead_map_text"


@pytest.fixture(scope="session")
def single_lead(tmp_path_factory, ptbxl500) -> tuple[Path, Path]:
    return make_single_lead_folder(ptbxl500, tmp_path_factory.mktemp("single_lead"), N_RECORDS)


@pytest.fixture(scope="session")
def single_lead_run(single_lead, tmp_path_factory) -> Path:
    """A tiny VAE trained on the single-lead folder's one lead (``data.leads=[ECG]``), its
    cache holding the rhythm labels (2 epochs on median beats; a few seconds)."""
    import torch

    from ecgcore.data.cache import preprocess
    from trainer.config import load_config
    from trainer.run import train

    data, labels = single_lead
    base = tmp_path_factory.mktemp("single_lead_run")
    summary = preprocess(data, base / "cache", labels=labels, workers=1, progress=False)
    assert summary.n_ok >= N_RECORDS - 3, str(summary)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_config(ROOT / "trainer" / "configs" / "vae.yaml",
                          [f"data.path={base / 'cache'}", "data.leads=[ECG]", "data.train_on=median",
                           "optim.max_epochs=2", "data.batch_size=16"])
        train(cfg, base / "runs", progress=False)
    finally:
        torch.set_num_threads(threads)
    return base / "runs"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.delenv("ECGWB_RUNS", raising=False)


def _run(at) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _app(data: Path, monkeypatch, runs: Path | None = None) -> AppTest:
    monkeypatch.setenv("ECGWB_DATA", str(data))
    if runs is not None:
        monkeypatch.setenv("ECGWB_RUNS", str(runs))
    return _run(AppTest.from_file(APP, default_timeout=TIMEOUT))


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _lead_traces(spec: dict) -> list[str]:
    """Names of the traces that are leads (not the calibration pulse, R peaks or waves)."""
    other = {"1 mV calibration", "R peaks", *REGION_LABELS.values()}
    return [t["name"] for t in spec["data"] if t.get("name") not in other]


def _section(at: AppTest, title: str) -> dict[str, str] | None:
    """The items of the Data view's markdown list under ``title`` ("Leads not drawn", "Not
    measured") as {name: text after the name}, or None when the page has no such list."""
    found = [m.value for m in at.markdown if m.value.startswith(f"**{title}**")]
    assert len(found) <= 1
    if not found:
        return None
    items = [line[2:] for line in found[0].splitlines() if line.startswith("- ")]
    return dict(item.split(": ", 1) for item in items)


def _intervals(at: AppTest) -> dict[str, float]:
    (table,) = at.table
    return dict(zip(table.value["Measure"], table.value["Value"].astype(float)))


def _expected_intervals(record) -> dict[str, float]:
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    feats = process_record(record, PipelineConfig()).features
    keys = {"Heart rate": "hr_bpm", "QRS duration": "qrs_ms", "QT interval": "qt_ms"}
    return {label: float(np.round(feats[key])) for label, key in keys.items()}


def test_single_lead_folder_draws_one_lead_with_its_intervals(single_lead, monkeypatch):
    from ecgcore.io import open_source
    from ecgcore.signal.pipeline import process_record

    data, _ = single_lead
    at = _app(data, monkeypatch)
    assert not at.error
    record_id = at.selectbox(key="data_record").value
    assert record_id == "00001"
    assert at.subheader[0].value.startswith("1-lead ECG (ECG)")
    paper, median = _charts(at)
    assert _lead_traces(paper) == ["ECG"]  # one strip, not 11 empty rows
    assert _lead_traces(median) == ["ECG"]
    assert any(t["name"] == "R peaks" for t in paper["data"])
    assert any(s.get("name", "").startswith("QRS:") for s in median["layout"]["shapes"])
    assert at.radio(key="data_layout").options == ["Leads stacked"]  # no 3×4 without 12 leads
    measured = _intervals(at)
    expected = _expected_intervals(open_source(data).read(record_id))
    assert {k: measured[k] for k in expected} == pytest.approx(expected)
    assert np.isnan(measured["QRS axis"])
    why = _section(at, "Not measured")
    assert "needs leads I and aVF" in why["QRS axis"]
    assert _section(at, "Leads not drawn") is None  # the record's one lead is drawn
    assert any("`ECG=I`" in c.value for c in at.caption)  # the hint to name it
    # the QRS's source is said, with the beats its confidence is of
    beat = process_record(open_source(data).read(record_id))
    n = len(beat.one_lead_qrs_beats)
    assert any(f"learned segmenter's median over {n} beats" in c.value for c in at.caption)
    table = at.table[0].value.set_index("Measure")
    assert float(table.loc["QRS duration", "Beats"]) == n


def test_lead_map_is_applied_and_remembered_for_its_folder(single_lead, monkeypatch):
    from ecgcore.io import open_source

    data, _ = single_lead
    at = _app(data, monkeypatch)
    at = _run(at.text_input(key=LEAD_MAP).set_value("ecg=i"))
    assert not at.sidebar.error and not at.warning
    assert any("`ecg` → I" in c.value for c in at.sidebar.caption)
    assert at.subheader[0].value.startswith("1-lead ECG (I)")
    paper, median = _charts(at)
    assert _lead_traces(paper) == ["I"] and _lead_traces(median) == ["I"]
    status = _section(at, "Leads not drawn")
    assert list(status) == ["II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6"]
    assert status["II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6"].startswith(
        "not in the recording")
    why = _section(at, "Not measured")
    assert why["QRS axis"].endswith("absent or left out: aVF")  # I is there now
    record = open_source(data, lead_map={"ecg": "I"}).read("00001")
    measured, expected = _intervals(at), _expected_intervals(record)
    assert {k: measured[k] for k in expected} == pytest.approx(expected)

    # another folder has its own (empty) map; coming back brings this one back
    at = _run(at.radio(key="dataset_choice").set_value("Another folder…"))
    at = _run(at.text_input(key="dataset_folder").set_value(str(QTDB)))
    assert at.text_input(key=LEAD_MAP).value == ""
    at = _run(at.radio(key="dataset_choice").set_value(at.radio(key="dataset_choice").options[0]))
    assert at.text_input(key=LEAD_MAP).value == "ecg=i"
    assert _lead_traces(_charts(at)[0]) == ["I"]


def test_lead_map_name_absent_from_the_record_is_named(single_lead, monkeypatch):
    data, _ = single_lead
    at = _app(data, monkeypatch)
    at = _run(at.text_input(key=LEAD_MAP).set_value("ECG=I, EKG2=II"))
    (warning,) = at.warning
    assert "`EKG2` matches no lead of record 00001 (its file names `ECG`)" in warning.value
    assert _lead_traces(_charts(at)[0]) == ["I"]


def test_invalid_lead_map_names_the_entry_and_is_not_applied(single_lead, monkeypatch):
    data, _ = single_lead
    at = _app(data, monkeypatch)
    at = _run(at.text_input(key=LEAD_MAP).set_value("ECG=I, MLII"))
    (error,) = at.sidebar.error
    assert "'MLII'" in error.value and "NAME=LEAD" in error.value
    assert _lead_traces(_charts(at)[0]) == ["ECG"]  # read with its own names


def test_qtdb_holter_record_draws_both_leads(monkeypatch):
    at = _app(QTDB, monkeypatch)
    at = _run(at.selectbox(key="data_record").set_value("sel100"))  # MLII and V5, 15 min
    assert not at.error
    assert at.subheader[0].value.startswith("2-lead ECG (II, V5)")  # MLII is a modified II
    paper, median = _charts(at)
    assert _lead_traces(paper) == ["II", "V5"] and _lead_traces(median) == ["II", "V5"]
    strip = at.slider(key="data_strip_start")
    assert "15.0 min" in strip.label and strip.max == 890.0
    (first,) = [_array(t["y"]) for t in paper["data"] if t["name"] == "II"]
    assert len(first) == 10 * 500  # a 10-s strip at the pipeline's 500 Hz, not 15 minutes
    at = _run(strip.set_value(600.0))
    paper = _charts(at)[0]
    assert _lead_traces(paper) == ["II", "V5"]
    (later,) = [_array(t["y"]) for t in paper["data"] if t["name"] == "II"]
    assert len(later) == len(first) and not np.allclose(later, first)  # 10:00–10:10
    (absent,) = _section(at, "Leads not drawn")
    assert absent == "I, III, aVR, aVL, aVF, V1, V2, V3, V4, V6"


def _array(x) -> np.ndarray:
    if isinstance(x, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
    return np.asarray(x, dtype=float)


def test_twelve_lead_run_on_a_single_lead_dataset_says_what_it_needs(single_lead, tiny,
                                                                      monkeypatch):
    data, _ = single_lead
    at = _app(data, monkeypatch, runs=tiny[0])
    beta = str(run_folder(tiny[0], "beta_vae"))
    at = _run(at.multiselect(key="runs").set_value([beta]))
    at = _run(at.switch_page("pages/latent.py"))
    at = _run(at.radio(key="latent_source").set_value("sidebar"))
    (error,) = at.error
    assert "the model reads leads I, II, III" in error.value
    assert "this dataset has ECG" in error.value and "No lead is derived" in error.value
    assert not _charts(at)


def test_single_lead_run_maps_its_records_by_rhythm(single_lead, single_lead_run, monkeypatch):
    data, labels = single_lead
    at = _app(data, monkeypatch, runs=single_lead_run)
    at = _run(at.switch_page("pages/latent.py"))
    assert not at.error
    at = _run(at.selectbox(key="latent_color").set_value("rhythm"))
    (spec,) = _charts(at)
    counts = {t["name"].split()[0]: len(_array(t["x"])) for t in spec["data"]}
    table = pd.read_csv(labels, dtype={"record_id": str})
    assert set(counts) <= {"normal", "AF", "other"} and counts["normal"] > counts["AF"] > 0
    assert sum(counts.values()) == len(table)  # every record mapped


def test_twelve_lead_record_with_a_flat_lead_keeps_the_print(ptbxl500, tmp_path, monkeypatch):
    """PTB-XL record 1 with V3 written flat (a detached electrode): still the 12-lead print,
    V3's panel empty, and the lead named with the reader's reason."""
    import wfdb

    rec = wfdb.rdrecord(str(ptbxl500 / "records500" / "00000" / "00001_hr"))
    signal = rec.p_signal.copy()
    signal[:, rec.sig_name.index("V3")] = 0.0
    folder = tmp_path / "flat_v3"
    folder.mkdir()
    wfdb.wrsamp("flat1", fs=rec.fs, units=rec.units, sig_name=rec.sig_name, p_signal=signal,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                write_dir=str(folder))
    at = _app(folder, monkeypatch)
    assert at.subheader[0].value == "12-lead ECG · record flat1"
    assert at.radio(key="data_layout").options == ["3×4 + II rhythm", "12 leads stacked"]
    status = _section(at, "Leads not drawn")
    assert list(status) == ["V3"] and status["V3"].startswith("left out (")
    paper, median = _charts(at)
    assert len(_lead_traces(median)) == 12  # the 3×4 grid of median beats, V3 empty
    v3 = [_array(t["y"]) for t in paper["data"] if t.get("name") == "V3"]
    assert len(v3) == 1 and np.isnan(v3[0]).all()  # an empty panel in its place
    assert all(np.isfinite(_array(t["y"])).any() for t in paper["data"]
               if t.get("name") in set(_lead_traces(paper)) - {"V3"})
    at = _run(at.radio(key="data_layout").set_value("12 leads stacked"))
    stacked = _lead_traces(_charts(at)[0])
    assert len(stacked) == 11 and "V3" not in stacked
