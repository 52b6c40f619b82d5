"""`ecgwb evaluate --models … --rr`: the probes of seeds 001 (L1 / L2 logistic regression on
latents + RR) and 004 (k-NN, linear probe), and Hanley & McNeil's SE beside DeLong's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgcore.data.store import ECGCache
from ecgcore.evaluate.stats import hanley_mcneil_se
from ecgwb.cli import main
from trainer.config import load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"


@pytest.fixture(scope="module")
def pca_run(family_cache, tmp_path_factory) -> Path:
    cfg = load_config(CONFIGS / "pca.yaml", [f"data.path={family_cache}", "data.fs=100"])
    return train(cfg, tmp_path_factory.mktemp("probe_runs"), progress=False)


def test_evaluate_runs_the_seeds_probes(pca_run, family_cache):
    assert main(["evaluate", str(pca_run), "--n-boot", "20", "--task", "superclass_NORM",
                 "--models", "logreg_l1", "logreg_l2", "knn", "linear_probe", "--rr"]) == 0
    ev = json.loads((pca_run / "evaluation.json").read_text())
    rows = {(r["input"], r["model"]): r for r in ev["downstream"]["rows"]}
    for inp in ("latent", "latent+rr"):
        for model in ("logreg_l1", "logreg_l2", "knn", "linear_probe"):
            assert (inp, model) in rows
    assert not any(m == "lgbm" for _, m in rows)
    assert rows[("latent+rr", "logreg_l1")]["n_features"] == 10 + 2
    assert rows[("latent", "logreg_l1")]["n_features"] == 10
    main_row = ev["downstream"]["main"]
    assert (main_row["input"], main_row["model"]) == ("latent", "logreg_l2")
    # binary task: Hanley & McNeil's SE beside DeLong's, from the row's own area and counts
    y = ECGCache(family_cache).records["superclass_NORM"].dropna().to_numpy()
    r = rows[("latent+rr", "knn")]
    assert r["n"] == len(y) and r["n_pos"] == int((y == 1).sum())
    assert r["auroc_se_hm"] == pytest.approx(hanley_mcneil_se(r["auroc"], r["n_pos"], r["n"] - r["n_pos"]))
    assert np.isfinite(r["auroc_se"])


def test_unknown_probe_fails_clearly(pca_run, capsys):
    from ecgcore.runs.evaluation import evaluate_run

    with pytest.raises(ValueError, match=r"unknown probe\(s\) \['svm'\]"):
        evaluate_run(pca_run, models=("svm",), n_boot=10)
    with pytest.raises(SystemExit):
        main(["evaluate", str(pca_run), "--models", "svm"])
    assert "invalid choice: 'svm'" in capsys.readouterr().err
