"""ecgcore.runs: the runs listing and each run's cached results on disk (headless)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.data.label_columns import category_names, label_kinds, selection_summary
from ecgcore.runs import Run, RunError, list_runs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from tiny_runs import run_folder


def _copy(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("cache"))
    return dest


def test_list_runs_reports_problems_instead_of_raising(tiny, tmp_path):
    pca = run_folder(tiny[0], "pca")
    vae = run_folder(tiny[0], "beta_vae")
    _copy(pca, tmp_path / "a-good")
    (_copy(vae, tmp_path / "b-truncated") / "weights.safetensors").write_bytes(
        (vae / "weights.safetensors").read_bytes()[:1000])
    (_copy(vae, tmp_path / "c-badjson") / "config.json").write_text("{not json")
    (_copy(vae, tmp_path / "d-noprep") / "preprocessing.json").unlink()
    (tmp_path / "e-empty-weights").mkdir()
    (tmp_path / "e-empty-weights" / "weights.safetensors").write_bytes(b"")
    (tmp_path / ".cache").mkdir()  # the trainer's cache folder is not a run
    (tmp_path / "notes").mkdir()  # nor is a folder without run files

    table = list_runs(tmp_path).set_index("name")
    assert set(table.index) == {"a-good", "b-truncated", "c-badjson", "d-noprep",
                                "e-empty-weights"}
    assert table.loc["a-good", "problem"] == ""
    assert table.loc["a-good", "model"] == "pca" and table.loc["a-good", "latent_dim"] == 10
    assert table.loc["a-good", "status"] == "finished"
    assert "truncated" in table.loc["b-truncated", "problem"]
    assert "config.json is not valid JSON" in table.loc["c-badjson", "problem"]
    assert "missing preprocessing.json" in table.loc["d-noprep", "problem"]
    assert "weights.safetensors" in table.loc["e-empty-weights", "problem"]
    assert np.isfinite(list_runs(tiny[0]).set_index("model").loc["beta_vae", "best_val"])

    assert list_runs(tmp_path / "absent").empty
    with pytest.raises(RunError, match="b-truncated cannot be loaded.*truncated"):
        _ = Run(tmp_path / "b-truncated").model


def test_artifacts_are_cached_on_disk_and_corrupt_files_recomputed(tiny, tmp_path):
    run = _copy(run_folder(tiny[0], "pca"), tmp_path / "pca-copy")
    art = Run(run)
    emb = art.embedding
    assert len(emb) == len(art.cache.records) and emb["record_id"].tolist() == \
        art.cache.records["record_id"].tolist()
    assert {"z0", "z9", "age", "superclass_MI"} <= set(emb.columns)
    xy = art.projection("pca")
    assert xy.shape == (len(emb), 2) and art.has_projection("pca")
    assert not art.has_projection("umap")  # never computed unasked
    sigmas, _values, beats = art.traversal(1)
    assert list(sigmas) == [-3, -2, -1, 0, 1, 2, 3] and beats.shape == (7, 12, 400)
    ann = art.annotation()
    assert set(ann.sentences) == set(range(10)) and set(ann.table["unit"]) == set(range(10))
    files = {p.name for p in art.folder.iterdir()}
    assert {"embedding.parquet", "projection-pca.npy", "traversal-u1-n7-s3.npz",
            "annotation-n7-s3.parquet", "annotation-n7-s3.json"} <= files
    assert art.folder.parent == run / "cache"

    # A fresh object reads the files; corrupt ones are recomputed to the same values.
    (art.folder / "embedding.parquet").write_bytes(b"PAR1 garbage")
    (art.folder / "projection-pca.npy").write_bytes(b"\x93NUMPY garbage")
    (art.folder / "traversal-u1-n7-s3.npz").write_bytes(b"PK garbage")
    (art.folder / "annotation-n7-s3.json").write_text("{")
    again = Run(run)
    pd.testing.assert_frame_equal(again.embedding[["z0", "z1"]], emb[["z0", "z1"]])
    np.testing.assert_allclose(again.projection("pca"), xy, atol=1e-5)
    np.testing.assert_allclose(again.traversal(1)[2], beats, atol=1e-3)
    assert again.annotation().sentences == ann.sentences

    recon = again.reconstruction(0)
    beat = again.beat(0)
    assert recon.shape == beat.shape == (12, 400)
    assert np.abs(recon - beat).mean() < np.abs(beat).mean()  # PCA reconstructs


def test_labels_and_selection_summary():
    table = pd.DataFrame({
        "record_id": ["1", "2", "3", "4"], "age": [20.0, 40.0, 60.0, np.nan],
        "sex": ["F", "M", "F", "M"], "superclass_MI": np.array([0, 1, 1, 0], dtype=np.int8),
        "fid_r": [200] * 4, "superclasses": [["NORM"], ["MI"], ["MI"], []],
    })
    kinds = label_kinds(table, max_categories=2)
    assert kinds == {"age": "continuous", "sex": "categorical", "superclass_MI": "categorical"}
    assert category_names(table["superclass_MI"], "superclass_MI").tolist() == \
        ["no", "yes", "yes", "no"]
    summary = selection_summary(table, [1, 2], kinds).set_index("label")
    assert summary.loc["Myocardial infarction (MI)", "selection"] == "100 %"
    assert summary.loc["Myocardial infarction (MI)", "all"] == "50 %"
    assert summary.loc["Sex: F", "selection"] == "50 %"
    assert summary.loc["Age (years): median (IQR)", "selection"].startswith("50 ")
