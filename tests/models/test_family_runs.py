"""Every seed 002-004 family from its shipped config through the real trainer on demo data:
a few epochs at tiny width with falling validation loss, a reload through the common
checkpoint format, and the same embeddings through `ecgwb encode`, `ecgwb evaluate` (which
must succeed) and the app's run object.

The cache (``family_cache``, tests/conftest.py) holds 60 demo records at 100 Hz, with beat
sequences (ecg_sl) and 10-s signals (st_mem, ecg_jepa, cnn_baseline), so that each run takes
a few seconds.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ecgcore.checkpoint import load_model
from ecgcore.data.datasets import CachedDataset
from ecgcore.data.store import ECGCache
from ecgcore.models.triplet import call_encode
from ecgwb.cli import main as cli_main
from trainer.config import load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
FS = 100  # the `family_cache` fixture (tests/conftest.py) is at 100 Hz

TINY_VIT = ["model.dim=16", "model.depth=1", "model.heads=2"]
# config name → (overrides: a tiny model, a few epochs; the loss column that must fall over
# the first stage). Validation columns where ~10 validation records give a steady signal.
FAMILIES: dict[str, tuple[list[str], str]] = {
    "ecg_sl": (["model.beat_backbone={kind: small, width: 0.25}", *TINY_VIT, "model.head_hidden=16",
                ("stages=[{name: beat_ae, max_epochs: 3}, {name: masked, max_epochs: 1}, "
                "{name: finetune, uses_labels: true, max_epochs: 1}]"), "optim.lr=0.003"], "train/recon"),
    # lead_mae: its inputs are scaled to unit RMS, so a zero output already scores ~1 and
    # 12 steps barely move it; validation draws new random masks each epoch (noisy on 9 records)
    "lead_mae": ([*TINY_VIT, "model.decoder_dim=8", "model.patch_size=10", "model.curriculum_epochs=20",
                  "optim.max_epochs=8", "optim.lr=0.003", "data.batch_size=16"], "train/recon"),
    "st_mem": ([*TINY_VIT, "model.decoder_dim=8", "model.patch_seconds=1.0", "optim.max_epochs=4",
                "optim.lr=0.003", "data.batch_size=16"], "val/recon"),
    "ecg_jepa": ([*TINY_VIT, "model.predictor_dim=8", "model.patch_seconds=0.5", "model.ema_momentum=0.9",
                  ("stages=[{name: pretrain, max_epochs: 4}, {name: finetune, uses_labels: true, "
                  "freeze_backbone: true, max_epochs: 1}]"), "optim.lr=0.003", "data.batch_size=16"], "val/jepa"),
    "ecg_jepa_hybrid": ([*TINY_VIT, "model.predictor_dim=8", "model.patch_seconds=0.5", "model.hybrid_features=2",
                        "data.extra=[rr_mean_ms, qrs_ms]", "optim.max_epochs=4", "optim.lr=0.003",
                        "data.batch_size=16"], "val/jepa"),
    "vq_vae": (["model.backbone={kind: small, width: 0.25}", "model.codebook_size=16", "model.code_dim=4",
                "model.n_tokens=2", "model.dead_code_steps=5", "optim.max_epochs=4", "optim.lr=0.003",
                "data.batch_size=16"], "val/recon"),
    "cnn_baseline": (["model.variant=small", "model.width=4", "optim.max_epochs=4", "optim.lr=0.003", "data.batch_size=16"],
                     "train/task"),
    "triplet_finetune": ([("model.encoder={name: st_mem, dim: 16, depth: 1, heads: 2, decoder_dim: 8, "
                          "patch_seconds: 1.0, fs: 100}"), "model.projection_dim=8", "optim.max_epochs=4",
                          "optim.lr=0.01", "data.batch_size=32"], "val/triplet"),
}


def _rows(run: Path) -> list[dict]:
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_trains_reloads_encodes_and_evaluates(name, family_cache, tmp_path, monkeypatch, capsys):
    sets, falling = FAMILIES[name]
    cfg = load_config(CONFIGS / f"{name.removesuffix('_hybrid')}.yaml", [f"data.path={family_cache}", f"data.fs={FS}",
                                                 "optim.patience=50", *sets])
    run = train(cfg, tmp_path, progress=False)
    assert json.loads((run / "metrics.json").read_text())["status"] == "finished"

    # the first stage's loss falls
    rows = _rows(run)
    first = [float(r[falling]) for r in rows if r["stage"] == rows[0]["stage"]]
    assert len(first) >= 3 and first[-1] < first[0], f"{name}: {falling} did not fall: {first}"

    # reload through the common format: weights + config + preprocessing, bit-identical
    model, prep = load_model(run)
    again, _ = load_model(run)
    cache = ECGCache(family_cache)
    ds = CachedDataset(cache, array=prep["array"], leads=prep["lead_set"], scale_uv=prep["scaler"]["scale_uv"],
                       extra_columns=prep["extra"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=6)))
    inputs = (batch["x"], batch.get("mask"), batch.get("extra"))
    with torch.no_grad():
        a, b = call_encode(model, *inputs).mean, call_encode(again, *inputs).mean
    assert torch.equal(a, b) and a.shape == (6, model.latent_dim)

    # Parity (issue 15): `ecgwb encode` (its own process), `ecgwb evaluate` and the app's run
    # object give every record the embedding of the reloaded model on inputs built here from
    # preprocessing.json (hybrid models: with their classical features). Batches differ
    # (256, 256, 7 here): float32 sums in another order, so equal to 1e-5, not bit-identical.
    reference = _reference_means(model, prep, cache)
    out = tmp_path / "z.parquet"
    done = subprocess.run([sys.executable, "-m", "ecgwb.cli", "encode", str(run), "--out", str(out)],
                          capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_parquet(out)
    cols = [f"z{i}" for i in range(model.latent_dim)]
    assert len(table) == len(cache) and {"record_id", *cols} <= set(table.columns)
    assert table["record_id"].tolist() == cache.records["record_id"].tolist()
    np.testing.assert_allclose(table[cols].to_numpy(), reference, rtol=TOL, atol=TOL)

    encoded = _spy_on_encode(monkeypatch)
    assert cli_main(["evaluate", str(run), "--n-boot", "20"]) == 0, capsys.readouterr().err
    ev = json.loads((run / "evaluation.json").read_text())
    assert ev["n_records"] == len(cache) and ev["latent_dim"] == model.latent_dim
    assert len(encoded) == 1  # evaluate encodes the whole dataset once, through the Run
    np.testing.assert_allclose(encoded[0], reference, rtol=TOL, atol=TOL)

    from ui.runs import open_run

    np.testing.assert_allclose(open_run(str(run)).means(), reference, rtol=TOL, atol=TOL)


TOL = 1e-5
ROOT = Path(__file__).resolve().parents[2]


def _reference_means(model, prep: dict, cache: ECGCache) -> np.ndarray:
    """Every record's latent mean, the model fed by hand from preprocessing.json's keys."""
    ds = CachedDataset(cache, array=prep["array"], leads=prep["lead_set"], scale_uv=prep["scaler"]["scale_uv"],
                       extra_columns=prep["extra"])
    means = []
    with torch.no_grad():
        for batch in torch.utils.data.DataLoader(ds, batch_size=7):
            means.append(call_encode(model, batch["x"], batch.get("mask"), batch.get("extra")).mean.numpy())
    return np.concatenate(means)


def _spy_on_encode(monkeypatch) -> list[np.ndarray]:
    """The latent means every Run.encode call returns, in order."""
    from ecgcore.runs import Run

    seen: list[np.ndarray] = []
    encode = Run.encode

    def spy(self, *args, **kwargs):
        mean, scale = encode(self, *args, **kwargs)
        seen.append(mean.copy())
        return mean, scale

    monkeypatch.setattr(Run, "encode", spy)
    return seen


def test_families_bench_parts_run_and_report_in_range(family_cache, tmp_path, capsys):
    """`ecgwb bench families` lead_mae and vq_vae parts, one epoch each on the small cache."""
    from ecgwb.bench.families import bench_lead_mae, bench_vq_vae

    lead = bench_lead_mae(family_cache, tmp_path, epochs=1, batch_size=16, lr=None,
                          sets=[f"data.fs={FS}", "model.patch_size=10", *TINY_VIT])
    assert -1 <= min(lead["cross_lead_r"]) <= max(lead["cross_lead_r"]) <= 1
    assert len(lead["cross_lead_r"]) == lead["n_test"] > 0
    from_i = lead["lead_mae, from lead I alone"]
    assert from_i["mae_uv"] > 0 and set(from_i["r_per_lead"]) == set(ECGCache(family_cache).leads)
    vq = bench_vq_vae(family_cache, tmp_path, epochs=1, patience=5,
                      sets=[f"data.fs={FS}", "model.backbone={kind: small, width: 0.25}", "model.codebook_size=16"])
    for row in vq.values():
        assert 1 <= row["last_epoch_perplexity"] <= 16 and 0 < row["last_epoch_codes_used"] <= 1
        assert 1 <= row["all_records_perplexity"] <= 16 and 0 < row["all_records_codes_used"] <= 1
    printed = capsys.readouterr().out
    assert "| lead_mae, from lead I alone |" in printed and "| no restart (dead_code_steps=0) |" in printed
