"""`ecgwb evaluate RUN --data OTHER`: a run scored on another cohort (LUDB, 12 leads,
another hospital and device) is stored under that cohort's name and never touches the
run's own ``evaluation.json``; the run's split ids are never applied to the other cohort."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgcore.data.store import ECGCache
from ecgwb.cli import main
from trainer.config import load_config
from trainer.run import train

FAMILY_FS = 100  # the `family_cache` fixture's rate (tests/conftest.py)

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
N_LUDB = 24  # LUDB records in the external cohort (enough for clustering, a few seconds)


@pytest.fixture(scope="module")
def pca_run(family_cache, tmp_path_factory) -> Path:
    """A PCA-10 run on the 60 demo (PTB-XL) records at 100 Hz."""
    cfg = load_config(CONFIGS / "pca.yaml", [f"data.path={family_cache}", f"data.fs={FAMILY_FS}"])
    return train(cfg, tmp_path_factory.mktemp("ext_runs"), progress=False)


@pytest.fixture(scope="module")
def ludb_cohort(ludb_dir, tmp_path_factory) -> Path:
    """The first LUDB records (odd ids 1, 3, …) as a folder of their own, with ludb.csv.
    Their record ids ("1", "3", …) collide with PTB-XL ecg_ids: the split must not."""
    root = tmp_path_factory.mktemp("ludb_cohort") / "ludb_small"
    (root / "data").mkdir(parents=True)
    ids = [str(i) for i in range(1, 2 * N_LUDB, 2)]
    for i in ids:
        for f in (ludb_dir / "data").glob(f"{i}.*"):
            (root / "data" / f.name).symlink_to(f)
    shutil.copy(ludb_dir / "ludb.csv", root / "ludb.csv")
    # one damaged record (its signal file cut short): left out with its reason, never the cohort
    damaged = root / "data" / f"{ids[-1]}.dat"
    damaged.unlink()
    damaged.write_bytes((ludb_dir / "data" / f"{ids[-1]}.dat").read_bytes()[:1000])
    return root


def test_external_evaluation_leaves_the_run_alone(pca_run, ludb_cohort, family_cache, capsys):
    assert main(["evaluate", str(pca_run), "--n-boot", "50"]) == 0
    own = (pca_run / "evaluation.json").read_bytes()
    own_ev = json.loads(own)
    # the run's test ids include PTB-XL ecg_ids that are also LUDB record ids
    test_ids = set(json.loads((pca_run / "split.json").read_text())["test"])

    assert main(["evaluate", str(pca_run), "--data", str(ludb_cohort), "--n-boot", "50"]) == 0
    printed = capsys.readouterr().out
    assert (pca_run / "evaluation.json").read_bytes() == own  # untouched
    path = pca_run / "external" / "ludb_small" / "evaluation.json"
    assert path.exists() and str(path) in printed
    ev = json.loads(path.read_text())

    cache = ECGCache(Path(ev["dataset"]))
    ids = cache.records["record_id"].astype(str)
    assert ev["n_records"] == len(ids) == N_LUDB - 1  # every record, not the split's
    assert [r["record_id"] for r in ev["left_out"]] == [str(2 * N_LUDB - 1)] and ev["left_out"][0]["reason"]
    assert "could not be preprocessed" in ev["reasons"]["records"]
    assert set(ids) & test_ids, "the cohort should share ids with the split for this test"
    assert ev["cohort"] == "ludb_small" and ev["external"] is True

    # reconstruction of every record, computed here: PCA of the run's training beats (µV)
    from sklearn.decomposition import PCA

    own_cache = ECGCache(family_cache)
    split = json.loads((pca_run / "split.json").read_text())
    own_ids = own_cache.records["record_id"].astype(str)
    train_rows = np.flatnonzero(own_ids.isin(set(split["train"])).to_numpy())
    test_rows = np.flatnonzero(own_ids.isin(test_ids).to_numpy())
    own_beats = np.nan_to_num(np.asarray(own_cache.median, dtype=np.float64))
    pca = PCA(10, svd_solver="full").fit(own_beats[train_rows].reshape(len(train_rows), -1))
    x = np.nan_to_num(np.asarray(cache.median, dtype=np.float64))
    x_hat = pca.inverse_transform(pca.transform(x.reshape(len(x), -1))).reshape(x.shape)
    mae_ext = float(np.abs(x - x_hat).mean())
    xt = own_beats[test_rows]
    xt_hat = pca.inverse_transform(pca.transform(xt.reshape(len(xt), -1))).reshape(xt.shape)
    mae_own = float(np.abs(xt - xt_hat).mean())

    rec = ev["reconstruction"]
    assert rec["mae"] == pytest.approx(mae_ext, rel=1e-3)
    assert set(rec["mae_per_wave"]) == {"P", "QRS", "ST", "T"}
    assert own_ev["reconstruction"]["mae"] == pytest.approx(mae_own, rel=1e-3)
    ref = ev["in_cohort"]
    assert ref["reconstruction"]["mae"] == pytest.approx(mae_own, rel=1e-3)
    assert ev["reconstruction_ratio"]["mae"] == pytest.approx(mae_ext / mae_own, rel=1e-3)
    relative = (mae_ext / np.abs(x).mean()) / (mae_own / np.abs(xt).mean())
    assert ev["reconstruction_ratio"]["relative_mae"] == pytest.approx(relative, rel=1e-3)
    assert "relative to the mean |signal|" in printed

    # clustering of the external latents (k-means; LUDB has no superclass labels)
    assert any(r["space"] == "latent" for r in ev["clustering"])
    # no PTB-XL superclass columns in LUDB: the downstream section says why
    assert ev["downstream"] is None
    assert "NORM" in ev["reasons"]["downstream"] and "ludb_small" in ev["reasons"]["downstream"]
    assert "downstream" in printed and "NORM" in printed

    shift = ev["shift"]
    assert shift["n_training"] == len(own_ids) and shift["n_external"] == len(ids)
    assert 0.5 <= shift["domain_auroc"] <= 1.0 and shift["frechet"] > 0


def test_split_is_never_applied_to_another_cohort(pca_run, ludb_cohort):
    from ecgcore.runs import Run, RunError
    from ecgcore.runs.evaluation import evaluate_run

    other = Run(pca_run, ludb_cohort)
    assert not other.on_own_data and Run(pca_run).on_own_data
    with pytest.raises(RunError, match="another cohort"):
        other.split_rows("test")
    with pytest.raises(RunError, match="another cohort"):
        evaluate_run(other)


@pytest.fixture(scope="module")
def labelled_cohort(demo_dir, tmp_path_factory) -> Path:
    """Demo records 61–120 (PTB-XL, with superclass labels), none of them in the run's
    60 records, as a folder of their own."""
    import pandas as pd

    root = tmp_path_factory.mktemp("labelled") / "ptbxl_61_120"
    root.mkdir()
    db = pd.read_csv(demo_dir / "ptbxl_database.csv")
    db.iloc[60:120].to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(demo_dir / "records100")
    return root


def test_probes_fitted_on_the_training_cohort_score_the_other(pca_run, labelled_cohort, family_cache):
    """The L2 logistic regression probe: fitted on the training cohort's latents, applied
    to the external cohort; its macro AUROC recomputed here with scikit-learn on the
    run's PCA (standardised units: sign and scale of the components do not matter)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from ecgcore.data.spec import SUPERCLASS_COLUMNS
    from ecgcore.runs.external import evaluate_external, external_evaluations

    own_before = (pca_run / "evaluation.json").read_bytes() if (pca_run / "evaluation.json").exists() else None
    ev = evaluate_external(pca_run, labelled_cohort, n_boot=50)
    assert ((pca_run / "evaluation.json").read_bytes() if own_before is not None else None) == own_before
    assert "ptbxl_61_120" in external_evaluations(pca_run)
    down = ev["downstream"]
    assert down is not None and "downstream" not in ev["reasons"]
    assert down["label"] == list(SUPERCLASS_COLUMNS) and down["task"] == "multilabel"

    own, ext = ECGCache(family_cache), ECGCache(Path(ev["dataset"]))
    split = json.loads((pca_run / "split.json").read_text())
    train_rows = np.flatnonzero(own.records["record_id"].astype(str).isin(set(split["train"])).to_numpy())
    def flat(c) -> np.ndarray:
        return np.nan_to_num(np.asarray(c.median, dtype=np.float64)).reshape(len(c.records), -1)

    pca = PCA(10, svd_solver="full").fit(flat(own)[train_rows])
    z_own, z_ext = pca.transform(flat(own)), pca.transform(flat(ext))
    y_own = own.records[list(SUPERCLASS_COLUMNS)].to_numpy(dtype=float)
    y_ext = ext.records[list(SUPERCLASS_COLUMNS)].to_numpy(dtype=float)
    ok_own, ok_ext = np.isfinite(y_own).all(1), np.isfinite(y_ext).all(1)
    scaler = StandardScaler().fit(z_own[ok_own])
    aucs = []
    for j in range(len(SUPERCLASS_COLUMNS)):
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(z_own[ok_own]), y_own[ok_own, j])
        p = lr.predict_proba(scaler.transform(z_ext[ok_ext]))[:, 1]
        aucs.append(roc_auc_score(y_ext[ok_ext, j], p))
    row = next(r for r in down["rows"] if r["model"] == "logreg_l2")
    assert row["n"] == int(ok_ext.sum()) and row["n_train"] == int(ok_own.sum())
    assert row["auroc"] == pytest.approx(float(np.mean(aucs)), abs=1e-3)
    assert down["main"]["model"] == "logreg_l2"  # PCA has no head of its own
    assert {r["model"] for r in down["rows"]} == {"logreg_l2", "lgbm"}
    assert any(r["clustering"] == "label:label" for r in ev["clustering"])


def test_a_supervised_run_is_judged_by_its_own_head(cnn_run, labelled_cohort):
    """cnn_baseline (10-s signals, 5 superclass heads): its head scores the other cohort
    (main row), AUROC recomputed here from the head's probabilities; no decoder: the
    reconstruction section says why."""
    import torch
    from sklearn.metrics import roc_auc_score

    from ecgcore.data.spec import SUPERCLASS_COLUMNS
    from ecgcore.runs import Run
    from ecgcore.runs.external import evaluate_external

    run = Run(cnn_run, labelled_cohort)
    ev = evaluate_external(run, n_boot=50)
    assert ev["reconstruction"] is None and "signals" in ev["reasons"]["reconstruction"]
    main = ev["downstream"]["main"]
    assert main["input"] == "own_head"
    y = run.cache.records[list(SUPERCLASS_COLUMNS)].to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(y).all(1))
    with torch.no_grad():
        x = torch.stack([run.dataset(ok)[i]["x"] for i in range(len(ok))])
        p = torch.sigmoid(run.model.predict_logits(x)).numpy()
    want = np.mean([roc_auc_score(y[ok, j], p[:, j]) for j in range(len(SUPERCLASS_COLUMNS))])
    assert main["auroc"] == pytest.approx(want, abs=1e-6) and main["n"] == len(ok)


def test_cohort_table_puts_in_cohort_and_external_side_by_side(pca_run, ludb_cohort):
    """One row per cohort, read from the run's own and external evaluation files."""
    from ecgcore.runs.external import cohort_table, evaluate_external, external_evaluations

    assert main(["evaluate", str(pca_run), "--n-boot", "20"]) == 0
    evaluate_external(pca_run, ludb_cohort, n_boot=20)
    own = json.loads((pca_run / "evaluation.json").read_text())
    ext = external_evaluations(pca_run)
    table = cohort_table([pca_run])
    assert list(table["external"]) == [False] + [True] * len(ext)
    assert list(table["cohort"][1:]) == sorted(ext)
    first = table.iloc[0]
    assert first["mae_uv"] == own["reconstruction"]["mae"] and first["mae_ratio"] == 1.0
    ludb = table[table["cohort"] == "ludb_small"].iloc[0]
    assert ludb["mae_ratio"] == ext["ludb_small"]["reconstruction_ratio"]["mae"]
    assert ludb["domain_auroc"] == ext["ludb_small"]["shift"]["domain_auroc"]
    assert ludb["auroc"] is None or np.isnan(ludb["auroc"])
    assert "downstream: cohort ludb_small has no label column" in ludb["why"]
    assert ludb["relative_mae_ratio"] == ext["ludb_small"]["reconstruction_ratio"]["relative_mae"]
    # re-identification: the training cohort's patients with two or more records; none in LUDB
    assert first["id_top1"] == own["identification"]["top1"]
    assert first["id_queries"] == own["identification"]["n_queries"]
    assert ludb["id_top1"] is None or np.isnan(ludb["id_top1"])
    assert "identification: cohort ludb_small has no patient" in ludb["why"]


def test_a_neural_decoder_is_scored_on_both_cohorts(family_cache, ludb_cohort, tmp_path):
    """A (1-epoch) β-VAE: the in-cohort reference decodes the cached float64 latent table
    as the external section decodes fresh float32 latents."""
    from ecgcore.runs.external import evaluate_external

    cfg = load_config(CONFIGS / "beta_vae.yaml", [f"data.path={family_cache}", f"data.fs={FAMILY_FS}",
                                                  "optim.max_epochs=1", "data.train_on=median"])
    run = train(cfg, tmp_path / "runs", progress=False)
    ev = evaluate_external(run, ludb_cohort, n_boot=20)
    assert "reconstruction" not in ev["reasons"] and "reconstruction_ratio" not in ev["reasons"]
    ratio = ev["reconstruction"]["mae"] / ev["in_cohort"]["reconstruction"]["mae"]
    assert ev["reconstruction_ratio"]["mae"] == pytest.approx(ratio)
