"""The Compare view beside the training cohort: a tiny run evaluated on a few LUDB records
(`ecgwb evaluate RUN --data OTHER`) shows both cohorts' rows, the sections that could not
be computed and why, same-patient re-identification, probes of an attached label, and
reconstruction panels that keep their size whatever the runs."""

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
from ecgwb.cli import main as ecgwb

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder

N_LUDB = 8  # LUDB records of the external cohort (odd ids 1…15)


@pytest.fixture
def runs(tiny, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    for name in ("pca", "beta_vae", "task_vae"):
        shutil.copytree(run_folder(tiny[0], name), folder / f"{name}-copy",
                        ignore=shutil.ignore_patterns("cache"))
    monkeypatch.delenv("ECGWB_DATA", raising=False)
    monkeypatch.setenv("ECGWB_RUNS", str(folder))
    return folder


@pytest.fixture
def ludb_cohort(ludb_dir, tmp_path) -> Path:
    root = tmp_path / "ludb_few"
    (root / "data").mkdir(parents=True)
    for i in range(1, 2 * N_LUDB, 2):
        for f in (ludb_dir / "data").glob(f"{i}.*"):
            (root / "data" / f.name).symlink_to(f)
    shutil.copy(ludb_dir / "ludb.csv", root / "ludb.csv")
    return root


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def _run(at: AppTest) -> AppTest:
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _open(*runs: Path, labels: tuple[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    if labels:
        at.session_state["labels_table"] = read_labels(labels[0].encode(), labels[1])
        at.session_state["labels_name"] = labels[1]
    at = _run(at)
    at = _run(at.multiselect(key="runs").set_value([str(r) for r in runs]))
    return _run(at.switch_page("pages/compare.py"))


def _table(at: AppTest, first_column: str, has: str) -> pd.DataFrame:
    (t,) = [d.value for d in at.dataframe
            if d.value.columns[0] == first_column and has in d.value.columns]
    return t


def test_compare_shows_the_training_and_the_external_cohort(runs, ludb_cohort):
    pca = runs / "pca-copy"
    assert ecgwb(["evaluate", str(pca), "--n-boot", "20"]) == 0
    assert ecgwb(["evaluate", str(pca), "--data", str(ludb_cohort), "--n-boot", "20"]) == 0
    own = json.loads((pca / "evaluation.json").read_text())
    ext = json.loads((pca / "external" / "ludb_few" / "evaluation.json").read_text())

    at = _open(pca)
    cohorts = _table(at, "Run", "Domain AUROC")
    training = f"{Path(own['dataset']).name} (training cohort)"
    assert cohorts["Cohort"].tolist() == [training, "ludb_few (external)"]
    assert cohorts["Records"].tolist() == [own["n_records"], N_LUDB]
    assert cohorts["MAE (µV)"].tolist() == [f"{own['reconstruction']['mae']:.1f}",
                                           f"{ext['reconstruction']['mae']:.1f}"]
    assert cohorts["MAE ratio"].tolist() == [
        "1.00", f"{ext['reconstruction_ratio']['mae']:.2f}"]
    assert cohorts["Domain AUROC"].iloc[1] == f"{ext['shift']['domain_auroc']:.3f}"
    main = own["downstream"]["main"]
    assert cohorts["AUROC (95% CI)"].iloc[0].startswith(f"{main['auroc']:.3f} (")
    assert cohorts["AUROC (95% CI)"].iloc[1] == "–"  # LUDB has no PTB-XL superclasses
    gaps = [c.value for c in at.caption if c.value.startswith("Not computed for")]
    assert any("ludb_few" in g and "downstream: cohort ludb_few has no label column" in g
               for g in gaps), gaps

    # re-identification: the demo's patients with two or more records (seed 003 style)
    ident = _table(at, "Run", "Top-1")
    assert ident["Cohort"].tolist() == [training]  # LUDB: one record per patient
    assert ident["Top-1"].iloc[0] == f"{own['identification']['top1']:.3f}"
    assert ident["Top-5"].iloc[0] == f"{own['identification']['top5']:.3f}"
    assert int(ident["Queries"].iloc[0]) == own["identification"]["n_queries"]
    assert any("identification: cohort ludb_few has no patient" in g for g in gaps)
    text = " ".join(m.value for e in at.expander if e.label == "What these numbers mean"
                    for m in e.markdown)
    assert "**Domain AUROC**" in text and "**Top-1 / Top-5**" in text


def test_compare_without_external_evaluation_says_how(runs):
    at = _open(runs / "pca-copy")
    assert any("ecgwb evaluate RUN --data OTHER" in i.value for i in at.info)


def test_reconstruction_panels_keep_their_size_whatever_the_runs(runs):
    """Fitted to the record's median beat: one run or three (long legend, a 2-epoch VAE's
    wild reconstruction), the panels are the same size; what strays is clipped and said."""
    def plot_area(at: AppTest) -> tuple[float, float, float, float]:
        spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
        lay = spec["layout"]
        return (lay["height"] - lay["margin"]["t"] - lay["margin"]["b"],
                lay["width"] - lay["margin"]["l"] - lay["margin"]["r"], *lay["yaxis"]["range"])

    one = plot_area(_open(runs / "pca-copy"))
    at = _open(runs / "pca-copy", runs / "beta_vae-copy", runs / "task_vae-copy")
    three = plot_area(at)
    assert three == pytest.approx(one)
    lo, hi = one[2:]
    clipped = [c.value for c in at.caption if "clipped at the panels' edge" in c.value]
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    strays = {t["name"] for t in spec["data"] if t.get("xaxis") in (None, "x")
              and (np.nanmax(_array(t["y"])) > hi or np.nanmin(_array(t["y"])) < lo)}
    assert len(clipped) == len(strays) and all(any(n in c for c in clipped) for n in strays)
    from ecgcore.runs import Run

    beat = Run(runs / "pca-copy").beat(0)
    assert lo <= np.nanmin(beat[[1, 10]]) and np.nanmax(beat[[1, 10]]) <= hi  # II and V5
    assert hi - lo <= (np.nanmax(beat[[1, 10]]) - np.nanmin(beat[[1, 10]])) + 2 * 100 + 2 * 500


def test_an_attached_label_is_probed_on_every_run(runs, tiny):
    """Sex from the PTB-XL table attached as the user's own yes/no label: each run's latent
    means and its PCA reference, out of fold over the records that carry it."""
    db = pd.read_csv(DEMO / "ptbxl_database.csv")
    ids = set(pd.read_parquet(tiny[1] / "records.parquet", columns=["record_id"])["record_id"].astype(str))
    db = db[db["ecg_id"].astype(str).isin(ids)]
    male = (db["sex"] == 0).astype(int)  # PTB-XL: 0 = male
    csv = "ecg_id,male\n" + "".join(f"{e},{m}\n" for e, m in zip(db["ecg_id"], male))
    at = _open(runs / "pca-copy", runs / "beta_vae-copy", labels=(csv, "sex.csv"))
    assert at.selectbox(key="cmp_attached_label").value == "male"
    at = _run(at.button(key="cmp_attached_go").click())
    table = _table(at, "Run", "AUROC (95% CI)")
    assert table["Run"].tolist() == ["pca-copy", "pca-copy", "beta_vae-copy", "beta_vae-copy"]
    assert table["Input"].tolist()[:2] == ["latent means", "PCA reference (pca10)"]
    assert set(table["n"]) == {len(db)} and set(table["Positives"]) == {int(male.sum())}
    auroc = table["AUROC (95% CI)"].str.split().str[0].astype(float)
    assert auroc.between(0, 1).all()
    assert (auroc.iloc[:2] > 0.6).all(), table  # sex is written in the ECG (PCA run)
    # the PCA run's latent means are a PCA of the beats: its two rows agree closely
    assert abs(auroc.iloc[0] - auroc.iloc[1]) < 0.05
