"""The sidebar's labels table: attached to the demo dataset in memory, it colours the latent
map of an existing run by its columns (continuous LVEF), with no retraining, and leaves the
demo cache, the demo dataset and every run's own files byte for byte as they were."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from ecgcore.data.attached_labels import read_labels

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))


def checksums(*folders: Path, skip: str | None = None) -> dict[str, str]:
    """sha256 of every file under ``folders`` (paths containing ``/skip/`` left out)."""
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not (skip and f"/{skip}/" in str(path)):
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def test_attached_lvef_colours_the_latent_map_and_writes_nothing(tiny, monkeypatch):
    runs, cache = tiny
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(runs))
    ids = pd.read_parquet(cache / "records.parquet", columns=["record_id"])["record_id"].astype(str)
    lvef = {rid: 25.0 + (int(rid) * 7) % 45 for rid in ids.iloc[10:]}  # 10 records unlabelled
    csv = "ecg_id,lvef\n" + "".join(f"{rid},{v}\n" for rid, v in lvef.items())
    before = checksums(cache, DEMO, runs, skip="cache")  # a run's results cache may grow

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["labels_table"] = read_labels(csv.encode(), "echo.csv")
    at.session_state["labels_name"] = "echo.csv"
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    side = " ".join(c.value for c in at.sidebar.caption)
    assert "`lvef` (continuous)" in side
    assert f"Matched {len(lvef):,} of {len(pd.read_csv(DEMO / 'ptbxl_database.csv')):,}" in side

    at = at.switch_page("pages/latent.py").run()
    assert not at.exception, [e.message for e in at.exception]
    colour = at.selectbox(key="latent_color")
    assert colour.options[0] == "Your labels · LVEF (%)"
    at = colour.set_value("lvef").run()
    assert not at.exception, [e.message for e in at.exception]
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    (scale,) = [t for t in traces if "colorscale" in t["marker"]]  # continuous
    rows = _array(scale["customdata"]).reshape(len(_array(scale["x"])), -1)[:, 0].astype(int)
    expected = np.array([lvef[ids.iloc[r]] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(_array(scale["marker"]["color"]), expected)
    assert len(rows) == len(lvef)
    (missing,) = [t for t in traces if t["name"].startswith("missing")]
    assert missing["name"] == f"missing ({len(ids) - len(lvef)})"

    assert checksums(cache, DEMO, runs, skip="cache") == before
