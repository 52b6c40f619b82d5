"""`ecgwb evaluate` / `ecgwb report` on real runs trained on the demo data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.data.cache import preprocess
from ecgcore.data.store import ECGCache
from ecgcore.runs.evaluation import evaluate_run, report_rows
from trainer.config import load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_dir):
    root = tmp_path_factory.mktemp("eval")
    preprocess(demo_dir, root / "cache", progress=False)
    out = {}
    # a median-beat cache: the task VAE trains on median beats here (its config: single beats)
    task_sets = ["optim.max_epochs=2", "data.train_on=median"]
    for name, sets in (("pca", []), ("split_task_vae", task_sets)):
        cfg = load_config(CONFIGS / f"{name}.yaml", [f"data.path={root / 'cache'}", *sets])
        out[name] = train(cfg, root / "runs", progress=False)
    return out


def pca_reference(run: Path, cache_dir: Path, k: int) -> dict:
    """The figures a PCA-``k`` run must report, computed here without the project's code
    paths: scikit-learn's PCA (full SVD) fitted on the run's training split of median
    beats in µV, reconstructing its test split; per-record MAE and per-lead Pearson r
    averaged over records; identification top-1/top-5 by cosine nearest neighbour."""
    from sklearn.decomposition import PCA

    cache = ECGCache(cache_dir)
    split = json.loads((run / "split.json").read_text())
    ids = cache.records["record_id"].astype(str)
    train_rows = np.flatnonzero(ids.isin(set(split["train"])).to_numpy())
    test_rows = np.flatnonzero(ids.isin(set(split["test"])).to_numpy())
    beats = np.nan_to_num(np.asarray(cache.median, dtype=np.float64))
    flat = beats.reshape(len(beats), -1)
    pca = PCA(k, svd_solver="full").fit(flat[train_rows])
    x = beats[test_rows]
    x_hat = pca.inverse_transform(pca.transform(flat[test_rows])).reshape(x.shape)
    xc, hc = x - x.mean(-1, keepdims=True), x_hat - x_hat.mean(-1, keepdims=True)
    r = (xc * hc).sum(-1) / np.sqrt((xc ** 2).sum(-1) * (hc ** 2).sum(-1))
    out = {"mae": float(np.abs(x - x_hat).mean()), "correlation": float(np.nanmean(np.nanmean(r, 1)))}
    z = pca.transform(flat)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    pid = cache.records["patient_id"].astype(str).to_numpy()
    queries = [i for i in range(len(pid)) if (pid == pid[i]).sum() >= 2]
    ranks = []
    for q in queries:
        d = 1 - z @ z[q]
        d[q] = np.inf
        order = np.argsort(d, kind="stable")
        ranks.append(1 + int(np.flatnonzero(pid[order] == pid[q])[0]))
    ranks = np.array(ranks)
    out.update(n_queries=len(queries), top1=float((ranks <= 1).mean()), top5=float((ranks <= 5).mean()))
    return out


def test_evaluate_writes_every_section(runs):
    ev = evaluate_run(runs["pca"], n_boot=100)
    saved = json.loads((runs["pca"] / "evaluation.json").read_text())
    assert saved["model"] == "pca" and saved["latent_dim"] == 10 and saved["n_records"] >= 490
    rec = saved["reconstruction"]
    ref = pca_reference(runs["pca"], Path(saved["dataset"]), 10)
    assert rec["mae"] == pytest.approx(ref["mae"], rel=1e-3)
    assert rec["correlation"] == pytest.approx(ref["correlation"], rel=1e-3)
    assert set(rec["mae_per_wave"]) == {"P", "QRS", "ST", "T"}
    down = saved["downstream"]
    assert down["scope"] == "all" and down["task"] == "multilabel" and len(down["label"]) == 5
    main = down["main"]
    # a floor only: the probe and its folds are the library's (their AUROC, CI and DeLong
    # arithmetic are checked against scikit-learn and published values in tests/evaluate)
    assert 0.6 < main["auroc"] < 1 and main["auroc_low"] < main["auroc"] < main["auroc_high"]
    inputs = {r["input"] for r in down["rows"]}
    assert {"latent", "pca10", "features", "sex_age"} <= inputs
    assert any(c["space"].startswith("beats_pca") for c in saved["clustering"])
    # identification by brute force on scikit-learn's PCA scores: same-patient nearest
    # neighbours by cosine (PCA latents equal them up to sign and the input's global scale)
    assert saved["identification"]["n_queries"] == ref["n_queries"]
    assert saved["identification"]["top1"] == pytest.approx(ref["top1"], abs=1.01 / ref["n_queries"])
    assert saved["identification"]["top5"] == pytest.approx(ref["top5"], abs=1.01 / ref["n_queries"])
    assert ev["run"] == saved["run"]


def test_runs_trained_with_labels_are_judged_on_their_test_split_only(runs):
    ev = evaluate_run(runs["split_task_vae"], n_boot=100)
    split = json.loads((runs["split_task_vae"] / "split.json").read_text())
    assert ev["downstream"]["scope"] == "test" and ev["downstream"]["label"] == ["superclass_MI"]
    assert ev["downstream"]["n"] == len(split["test"])


def test_report_table(runs, tmp_path):
    for run in runs.values():
        if not (run / "evaluation.json").exists():
            evaluate_run(run, n_boot=100)
    out = tmp_path / "table.md"
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "report", *map(str, runs.values()),
                        "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| pca | 10 |" in text and "split_task_vae" in text and "AUROC (95% CI)" in text
    missing = subprocess.run([sys.executable, "-m", "ecgwb.cli", "report", str(tmp_path)],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "evaluation.json" in missing.stderr


def test_test_scope_scores_every_run_on_the_same_held_out_records(runs):
    ev = evaluate_run(runs["pca"], n_boot=100, scope="test")
    split = json.loads((runs["pca"] / "split.json").read_text())
    down = ev["downstream"]
    assert down["scope"] == "test" and down["n"] == len(split["test"])
    assert all(r["n"] == len(split["test"]) for r in down["rows"])  # every input, every probe
    assert 0.5 < down["main"]["auroc"] < 1
    rows = report_rows([runs["pca"]])
    assert [r["model"] for r in rows] == ["pca", "sex + age"]
    assert rows[1]["scope"] == "test" and rows[1]["n"] == len(split["test"])
    assert 0.4 < rows[1]["downstream"]["auroc"] < 0.9  # sex and age alone: weak, not nothing
    evaluate_run(runs["pca"], n_boot=100)  # leave the default evaluation for the other tests


def test_holdout_probe_is_fitted_on_the_other_records_only(demo_dir):
    """``test_rows``: probes learn on the rest, scores exist only for the held-out rows."""
    from ecgcore.evaluate.downstream import evaluate_downstream

    meta = pd.DataFrame({"patient_id": np.repeat(np.arange(60), 2), "sex": np.tile([0, 1], 60),
                         "age": np.linspace(30, 80, 120), "y": np.tile([0, 1, 1, 0], 30)})
    x = np.c_[meta["y"] * 2.0 + np.random.default_rng(0).normal(0, 0.5, 120)]
    held = np.arange(80, 120)
    res = evaluate_downstream(meta, "y", {"z": x}, sex_age=False, hybrid=False,
                              models=("logreg_l2",), n_boot=50, test_rows=held)
    score = res.predictions[("z", "logreg_l2")].score
    assert np.isfinite(score[held]).all() and np.isnan(score[:80]).all()
    assert res.table.loc[0, "n"] == 40 and res.table.loc[0, "auroc"] > 0.9
    with pytest.raises(ValueError, match="both sides"):
        evaluate_downstream(meta, "y", {"z": x}, sex_age=False, hybrid=False, models=("logreg_l2",),
                            test_rows=np.arange(120))
