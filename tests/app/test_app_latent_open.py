"""Latent space → Data view: a selected record opens in the Data view; the map says how many
of the dataset's records it shows. And the Data view opens a folder on its first record that
can be analysed, listing the ones before it with their reasons."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))


def _run(at) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_selected_record_opens_in_the_data_view(tiny, monkeypatch):
    from streamlit.elements.plotly_chart import PlotlySelectionState, PlotlyState

    runs, cache = tiny
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at = _run(at.switch_page("pages/latent.py"))
    n = len(pd.read_parquet(cache / "records.parquet", columns=["record_id"]))
    assert any(c.value == f"{n:,} points: every one of the dataset's {n:,} records."
               for c in at.caption)
    row = 7
    at.session_state["latent_map"] = PlotlyState({"selection": PlotlySelectionState({
        "points": [{"customdata": {"0": row, "1": 0.0}}], "point_indices": [row],
        "box": [], "lasso": []})})
    at = _run(at)
    rid = str(pd.read_parquet(cache / "records.parquet")["record_id"].iloc[row])
    at = _run(at.button(key="latent_open_data").click())
    assert [t.value for t in at.title] == ["Data"]
    assert at.selectbox(key="data_record").value == rid
    assert at.session_state["dataset_path"] == str(DEMO.resolve())


def test_the_data_view_opens_on_the_first_analysable_record(tmp_path, monkeypatch):
    import wfdb

    folder = tmp_path / "mixed"
    folder.mkdir()
    src = DEMO / "records100" / "00000"
    # a 0.5 s record first (too few beats), then two real ones
    header = sorted(src.glob("*.hea"))[0]
    rec = wfdb.rdrecord(str(header.with_suffix("")))
    wfdb.wrsamp("a_short", fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                p_signal=rec.p_signal[: int(rec.fs // 2)], fmt=["16"] * rec.n_sig,
                write_dir=str(folder))
    for h in sorted(src.glob("*.hea"))[:2]:
        rec = wfdb.rdrecord(str(h.with_suffix("")))
        wfdb.wrsamp(f"b_{h.stem}", fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                    p_signal=rec.p_signal, fmt=["16"] * rec.n_sig, write_dir=str(folder))
    monkeypatch.setenv("ECGWB_DATA", str(folder))
    at = _run(AppTest.from_file(APP, default_timeout=120))
    picked = at.selectbox(key="data_record").value
    assert picked.startswith("b_"), picked
    assert not at.error
    assert any("could not be analysed" in e.label for e in at.expander)
    skipped = at.session_state["data_skipped"]
    assert list(skipped) == ["a_short"]
    assert "too short" in skipped["a_short"] and "a_short.hea" in skipped["a_short"]
