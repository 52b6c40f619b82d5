"""`ecgwb bench reconstruction`'s paired comparison with PCA, on real closed-form runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgwb.bench.reconstruction import held_out_metrics, main, paired_against_pca
from trainer.config import load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"


def test_paired_against_pca_pairs_the_same_held_out_records(family_cache, tmp_path):
    """A 6-component PCA stands in for the 'model' against a 2-component PCA: on the same
    held-out records it reconstructs at least as well everywhere, better on most."""
    rows = []
    for name, k in (("pca", 2), ("ae", 6)):
        for fold in (0, 1):
            cfg = load_config(CONFIGS / "pca.yaml", [
                f"data.path={family_cache}", "data.fs=100", "data.cv_folds=5",
                f"data.fold={fold}", f"model.latent_dim={k}", f"name={name}-fold{fold}"])
            run = train(cfg, tmp_path, progress=False)
            rows.append({"model": name, "latent": 2, "fold": fold, "run": run.name})
    results = pd.DataFrame(rows)
    paired = paired_against_pca(results, tmp_path, family_cache)
    assert len(paired) == 1
    row = paired.iloc[0]
    assert row["model"] == "ae" and row["folds"] == 2

    def per_record(name: str) -> np.ndarray:
        runs = results.query("model == @name").run
        return np.concatenate([held_out_metrics(tmp_path / r, family_cache)["per_record"]["mae"]
                               for r in runs])

    diff = per_record("ae") - per_record("pca")
    held_out = sum(len(json.loads((tmp_path / r / "split.json").read_text())["test"])
                   for r in results.query("model == 'pca'").run)
    assert row["records"] == len(diff) == held_out
    assert np.isclose(row["mae_diff_uv"], diff.mean())
    assert row["ci_low"] <= row["mae_diff_uv"] <= row["ci_high"] < 0
    assert row["records_better"] == (diff < 0).mean() > 0.5


def test_fold_selection_outside_the_folds_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--folds", "5", "--fold", "1", "5", "--runs", str(tmp_path / "runs")])
    assert exit_.value.code == 2
    assert "--fold must be within 0..4" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
