"""A user's labels table through `ecgwb preprocess --labels`, training with `data.labels`,
a supervised run's own head in `ecgwb evaluate`, and `evaluate --task` on a continuous
label. The labels are made here from PTB-XL's own metadata (sex, age) to give answers the
test knows; they are plumbing checks, never findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from ecgcore.checkpoint import load_model
from ecgcore.data.store import ECGCache
from ecgcore.runs.evaluation import evaluate_run
from trainer.config import load_config
from trainer.run import train

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "trainer" / "configs"
N_RECORDS, N_UNLABELLED = 160, 5


@pytest.fixture(scope="module")
def labelled(demo_dir, tmp_path_factory) -> dict:
    """160 demo records and a labels table (by ecg_id) for all but the last 5: ``male``
    (PTB-XL sex 0) and ``age_decades`` (age / 10)."""
    root = tmp_path_factory.mktemp("labels")
    data = root / "demo"
    data.mkdir()
    db = pd.read_csv(demo_dir / "ptbxl_database.csv").head(N_RECORDS)
    db.to_csv(data / "ptbxl_database.csv", index=False)
    (data / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (data / "records100").symlink_to(demo_dir / "records100")
    table = pd.DataFrame({"ecg_id": db["ecg_id"], "male": (db["sex"] == 0).astype(int),
                          "age_decades": db["age"] / 10}).iloc[:-N_UNLABELLED]
    table.to_csv(root / "labels.csv", index=False)
    expected = table.assign(record_id=table["ecg_id"].astype(str)).set_index("record_id")
    unlabelled = set(db["ecg_id"].astype(str).iloc[-N_UNLABELLED:])
    return {"root": root, "data": data, "labels": root / "labels.csv", "expected": expected,
            "unlabelled": unlabelled}


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def test_preprocess_command_joins_the_labels_table_by_record_id(labelled):
    out = labelled["root"] / "cli_cache"
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "preprocess", str(labelled["data"]),
                        "--out", str(out), "--labels", str(labelled["labels"]), "--fs", "100",
                        "--workers", "1", "--quiet"], env=_env(), capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    records = ECGCache(out).records.set_index("record_id")
    exp = labelled["expected"]
    have = records.index.intersection(exp.index)
    assert len(have) >= N_RECORDS - N_UNLABELLED - 3  # a few records may be unusable
    np.testing.assert_allclose(records.loc[have, "age_decades"].astype(float), exp.loc[have, "age_decades"])
    np.testing.assert_array_equal(records.loc[have, "male"].astype(float), exp.loc[have, "male"])
    # the labels join beside PTB-XL's metadata, which stays
    np.testing.assert_allclose(records.loc[have, "age"].astype(float) / 10, exp.loc[have, "age_decades"])
    missing = records.index.intersection(sorted(labelled["unlabelled"]))
    assert len(missing) and records.loc[missing, ["male", "age_decades"]].isna().all(axis=None)


@pytest.fixture(scope="module")
def task_run(labelled) -> Path:
    """A supervised cnn_baseline (width 4, 1 epoch) trained on the data folder with
    ``data.labels`` and task ``male``: its cache of 10-s signals is built from the folder
    with the labels joined. (Own-head scoring of runs with extra inputs:
    tests/runs/test_own_head.py; the task VAEs, which have no ``predict_logits``, get none.)"""
    cfg = load_config(CONFIGS / "cnn_baseline.yaml", [
        f"data.path={labelled['data']}", f"data.labels={labelled['labels']}", "data.task=[male]",
        "data.fs=100", "optim.max_epochs=1", "data.batch_size=16", "model.variant=small", "model.width=4"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(cfg, labelled["root"] / "runs", progress=False)
    finally:
        torch.set_num_threads(threads)


def test_training_with_data_labels_learns_its_head_on_labelled_records_only(task_run, labelled):
    split = json.loads((task_run / "split.json").read_text())
    assert set(split["labelled_train"]) == set(split["train"]) - labelled["unlabelled"]
    assert set(split["train"]) & labelled["unlabelled"]  # the split holds every record


def test_a_supervised_runs_own_head_is_scored_on_its_test_split(task_run, labelled):
    ev = evaluate_run(task_run, n_boot=50)
    down = ev["downstream"]
    assert down["scope"] == "test" and down["label"] == ["male"]
    own = next(r for r in down["rows"] if r["input"] == "own_head")
    # the head's AUROC recomputed here: its logits on the test records that have a label
    model, prep = load_model(task_run)
    cache = ECGCache(Path(ev["dataset"]))
    records = cache.records.reset_index(drop=True)
    split = json.loads((task_run / "split.json").read_text())
    rows = np.flatnonzero(records["record_id"].astype(str).isin(set(split["test"])).to_numpy())
    y = records.loc[rows, "male"].astype(float).to_numpy()
    assert prep["array"] == "signals"
    signals = np.asarray(cache.array("signals")[rows], dtype=np.float32)
    x = torch.from_numpy(np.nan_to_num(signals) / np.float32(prep["scaler"]["scale_uv"]))
    with torch.no_grad():
        p = torch.sigmoid(model.predict_logits(x)).numpy()[:, 0]
    ok = np.isfinite(y)
    assert own["n"] == ok.sum() == len(rows) - len(set(split["test"]) & labelled["unlabelled"])
    assert own["auroc"] == pytest.approx(roc_auc_score(y[ok], p[ok]), rel=1e-6)


def test_evaluate_task_on_a_continuous_label(labelled, tmp_path):
    cache = labelled["root"] / "cli_cache"
    if not (cache / "cache.json").exists():  # the preprocess test made it; alone, make it
        from ecgcore.data.cache import preprocess
        from ecgcore.signal.pipeline import PipelineConfig

        preprocess(labelled["data"], cache, PipelineConfig(target_fs=100), labels=labelled["labels"],
                   workers=1, progress=False)
    cfg = load_config(CONFIGS / "pca.yaml", [f"data.path={cache}", "data.fs=100", "model.latent_dim=4"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = train(cfg, tmp_path / "runs", progress=False)
    finally:
        torch.set_num_threads(threads)
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "evaluate", str(run), "--task", "age_decades",
                        "--n-boot", "50"], env=_env(), capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr[-3000:]  # crashed printing an AUROC before
    assert "age_decades: R² " in r.stdout
    down = json.loads((run / "evaluation.json").read_text())["downstream"]
    n_labelled = int(ECGCache(cache).records["age_decades"].notna().sum())
    assert down["task"] == "continuous" and down["n"] == n_labelled
    rows = {(row["input"], row["model"]): row for row in down["rows"]}
    # age_decades is age / 10 and the sex + age baseline has age: the linear probe
    # recovers it out of fold (R² short of 1 only by its L2 penalty)
    assert rows[("sex_age", "logreg_l2")]["r2"] > 0.99
    assert rows[("sex_age", "logreg_l2")]["mae"] < 0.1  # decades: under a year
    assert all(np.isfinite(row["r2"]) and row["n"] == n_labelled for row in down["rows"])


def test_stratification_reads_labels_with_missing_values():
    """A labels table read back from the cache gives nullable booleans (True/False/<NA>);
    the multilabel stratification key raised on them (fillna(0) on `boolean`)."""
    from ecgcore.data.splits import stratify_key

    meta = pd.DataFrame({"a": pd.array([True, False, None, True, False], dtype="boolean"),
                         "b": pd.array([False, False, True, None, False], dtype="boolean")})
    # b is the rarer label (1 of 4 known): it overwrites a; a missing label counts as negative
    assert stratify_key(meta, ["a", "b"]).tolist() == [0, -1, 1, 0, -1]


def test_a_task_model_without_extra_inputs_has_a_head_that_needs_none():
    """`data.extra: []` gave a task VAE the default 2 extra inputs, so its head waited for
    extras that never came and training stopped with "the model produced no logits"."""
    from trainer.run import build_model

    cfg = load_config(CONFIGS / "task_vae.yaml", ["data.extra=[]"])
    model = build_model(cfg)
    assert model.config.n_extra == 0
    logits = model.task_logits(torch.zeros(3, model.config.latent_dim), None)
    assert logits is not None and tuple(logits.shape) == (3, 1)
