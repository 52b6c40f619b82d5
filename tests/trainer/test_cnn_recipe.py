"""The pieces of the PTB-XL benchmark's recipe that cnn_baseline ships (issue 16): input
standardisation fitted on the training records, AdamW, the one-cycle schedule and keeping
the last epoch's weights."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgcore.checkpoint import latest_checkpoint, read_checkpoint
from ecgcore.data.spec import DataConfig
from ecgcore.data.store import ECGCache
from ecgcore.models import create_model
from trainer.config import load_config
from trainer.data import prepare_data
from trainer.module import LatentModule, one_cycle_factor
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
FAMILY_FS = 100  # the `family_cache` fixture (tests/conftest.py) is at 100 Hz


def test_std_scaling_is_the_sd_of_the_training_records_only(family_cache, tmp_path):
    data = DataConfig(path=str(family_cache), fs=FAMILY_FS, scaling="std", cv_folds=5, fold=1)
    prepared = prepare_data(data, "signals", tmp_path / ".cache", seed=0, progress=False)
    signals = np.asarray(ECGCache(family_cache).array("signals"), dtype=np.float64)
    train_rows = prepared.splits["train"]
    assert prepared.scale_uv == pytest.approx(float(signals[train_rows].std()), rel=1e-9)
    # not the SD of every record: the held-out fold does not enter the scale
    assert abs(prepared.scale_uv - float(signals.std())) > 1e-6 * prepared.scale_uv
    # and the default stays the largest |x| of the training records
    default = prepare_data(DataConfig(path=str(family_cache), fs=FAMILY_FS, cv_folds=5, fold=1), "signals",
                           tmp_path / ".cache", seed=0, progress=False)
    assert default.scale_uv == pytest.approx(float(np.abs(signals[train_rows]).max()), rel=1e-6)


def test_one_cycle_warms_up_from_lr_over_25_then_anneals_to_lr_over_250000():
    assert one_cycle_factor(0.0) == pytest.approx(1 / 25)
    assert one_cycle_factor(0.3) == pytest.approx(1.0)
    assert one_cycle_factor(1.0) == pytest.approx(1 / 250_000)
    # half-way through each phase: the mean of its two ends (cosine interpolation)
    assert one_cycle_factor(0.15) == pytest.approx((1 / 25 + 1) / 2)
    assert one_cycle_factor(0.65) == pytest.approx((1 + 1 / 250_000) / 2)
    # a quarter into the warm-up: 1/25 + (1 − 1/25)·(1 − cos(π/4))/2
    assert one_cycle_factor(0.075) == pytest.approx(1 / 25 + (24 / 25) * (1 - math.cos(math.pi / 4)) / 2)
    up = [one_cycle_factor(p) for p in np.linspace(0, 0.3, 20)]
    down = [one_cycle_factor(p) for p in np.linspace(0.3, 1, 20)]
    assert all(a < b for a, b in itertools.pairwise(up)) and all(a > b for a, b in itertools.pairwise(down))


def test_adamw_decouples_weight_decay_and_adam_keeps_it_in_the_gradient():
    model = create_model("cnn_baseline", variant="small", width=4, input_shape=(12, 200))
    adamw = LatentModule(model, 1e-2, 0.1, True, optimizer="adamw").configure_optimizers()
    adam = LatentModule(model, 1e-2, 0.1, True).configure_optimizers()
    assert type(adamw) is torch.optim.AdamW and type(adam) is torch.optim.Adam
    assert adamw.param_groups[0]["weight_decay"] == adam.param_groups[0]["weight_decay"] == 0.1
    # one step on a zero gradient: AdamW shrinks w by lr·wd·w; Adam's L2 gradient wd·w is
    # normalised by its own size, a step of lr (first step of Adam: m/√v = sign)
    w = torch.nn.Parameter(torch.tensor([2.0, -0.5]))
    for cls, want in ((torch.optim.AdamW, w.detach() * (1 - 1e-2 * 0.1)),
                      (torch.optim.Adam, w.detach() - 1e-2 * torch.sign(w.detach()))):
        p = torch.nn.Parameter(w.detach().clone())
        opt = cls([p], lr=1e-2, weight_decay=0.1)
        p.grad = torch.zeros_like(p)
        opt.step()
        assert torch.allclose(p.detach(), want, atol=1e-6)
    with pytest.raises(ValueError, match="unknown optimizer"):
        LatentModule(model, 1e-2, 0.1, True, optimizer="sgd")


def test_keep_last_keeps_the_last_epochs_weights(family_cache, tmp_path, one_thread):
    cfg = load_config(CONFIGS / "cnn_baseline.yaml", [
        f"data.path={family_cache}", f"data.fs={FAMILY_FS}", "model.variant=small", "model.width=4",
        "optim.max_epochs=3", "data.batch_size=16"])
    assert cfg.optim.keep == "last" and cfg.optim.schedule == "one_cycle" and cfg.optim.optimizer == "adamw"
    run = train(cfg, tmp_path, progress=False)
    kept, _, _ = read_checkpoint(run)
    last, _, _ = read_checkpoint(latest_checkpoint(run / "checkpoints" / "last"))
    assert kept.keys() == last.keys() and all(torch.equal(kept[k], last[k]) for k in kept)


def test_cnn_baseline_trains_on_plain_shuffled_batches():
    from trainer.run import stages_for

    cfg = load_config(CONFIGS / "cnn_baseline.yaml")
    stages = stages_for(create_model("cnn_baseline"), cfg)
    assert [(s.name, s.uses_labels, s.balanced_sampling) for s in stages] == [("supervised", True, False)]


def test_val_in_train_adds_the_validation_records_to_training_and_moves_no_test_record(family_cache):
    from ecgcore.data.store import ECGCache
    from trainer.data import make_splits

    records = ECGCache(family_cache).records
    plain = make_splits(records, DataConfig(cv_folds=5, fold=2), seed=0)
    merged = make_splits(records, DataConfig(cv_folds=5, fold=2, val_in_train=True), seed=0)
    assert np.array_equal(merged["train"], np.sort(np.concatenate([plain["train"], plain["val"]])))
    assert np.array_equal(merged["val"], plain["val"]) and np.array_equal(merged["test"], plain["test"])
    assert not set(merged["train"]) & set(merged["test"])
    one = make_splits(records, DataConfig(val_in_train=True), seed=0)  # the single split too
    assert set(one["val"]) <= set(one["train"]) and not set(one["train"]) & set(one["test"])


def test_val_in_train_is_refused_where_a_choice_is_made_on_the_validation_split():
    from ecgcore.data.spec import ConfigError

    cfg = load_config(CONFIGS / "cnn_baseline.yaml")
    assert cfg.data.val_in_train and cfg.optim.keep == "last"  # the recipe trains on every record
    with pytest.raises(ConfigError, match="optim.keep=last"):
        load_config(CONFIGS / "cnn_baseline.yaml", ["optim.keep=best"])
    with pytest.raises(ConfigError, match="stage 'supervised' has patience 10 < 50"):
        load_config(CONFIGS / "cnn_baseline.yaml", ["optim.patience=10"])
    with pytest.raises(ConfigError, match="stage 'pre' has patience 5 < 20"):
        load_config(CONFIGS / "cnn_baseline.yaml", ["stages=[{name: pre, max_epochs: 20, patience: 5}]"])
    assert not load_config(CONFIGS / "cnn_baseline.yaml", ["data.val_in_train=false",
                                                           "optim.keep=best"]).data.val_in_train
