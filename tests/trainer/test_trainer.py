"""The trainer on the real demo data: every AE-family variant, checkpoints, resume, DDP."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgcore.checkpoint import CheckpointError, load_model, write_checkpoint_files
from ecgcore.data.cache import CacheOptions, preprocess
from ecgcore.data.store import ECGCache
from trainer.config import ConfigError, load_config
from trainer.module import LatentModule, NonFiniteLossError
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
AE_FAMILY = ["pca", "ae", "sae", "vae", "beta_vae", "cyclical_beta_vae", "annealed_beta_vae",
             "task_vae", "split_task_vae"]


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory, demo_dir) -> Path:
    out = tmp_path_factory.mktemp("cache") / "demo_r400"
    summary = preprocess(demo_dir, out, options=CacheOptions(sequences=True), progress=False)
    assert summary.n_ok >= 490
    return out


def _cfg(name: str, cache: Path, *sets: str):
    return load_config(CONFIGS / f"{name}.yaml", [f"data.path={cache}", *sets])


def _rows(run: Path) -> list[dict]:
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", AE_FAMILY)
def test_every_variant_trains_from_its_config(name, demo_cache, tmp_path):
    # median beats keep this fast; training on single beats has its own test below
    cfg = _cfg(name, demo_cache, "optim.max_epochs=12", "data.batch_size=32", "data.train_on=median")
    if cfg.model.get("name") in ("task_vae", "split_task_vae"):
        cfg = _cfg(name, demo_cache, "optim.max_epochs=6", "data.batch_size=32", "data.train_on=median")
    run = train(cfg, tmp_path, progress=False)
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["status"] == "finished"
    model, prep = load_model(run)
    assert prep["scaler"]["scale_uv"] > 0 and prep["fs"] == 500.0
    rows = _rows(run)
    if name == "pca":
        assert float(rows[0]["val/recon_mse"]) < 0.5 * _variance_of_val(run, demo_cache, prep)
        return
    first = [r for r in rows if r["stage"] == rows[0]["stage"]]
    recon = [float(r["val/recon"]) for r in first]
    assert min(recon[len(recon) // 2:]) < recon[0], f"{name}: validation reconstruction did not fall: {recon}"
    if name in ("task_vae", "split_task_vae"):
        assert [r["stage"] for r in rows].count("head") >= 1 and rows[-1]["stage"] == "finetune"
        task = [float(r["val/task"]) for r in rows if r["stage"] != "pretrain"]
        assert np.isfinite(task).all()


def _variance_of_val(run, cache, prep) -> float:
    split = json.loads((run / "split.json").read_text())
    c = ECGCache(cache)
    ids = c.records["record_id"].astype(str).tolist()
    rows = [ids.index(i) for i in split["val"]]
    x = np.asarray(c.median[rows]) / prep["scaler"]["scale_uv"]
    return float(((x - x.mean(0)) ** 2).mean())


def test_checkpoint_reload_is_bit_identical_and_encode_matches(demo_cache, tmp_path):
    run = train(_cfg("vae", demo_cache, "optim.max_epochs=2"), tmp_path, progress=False)
    model, prep = load_model(run)
    x = torch.from_numpy(np.asarray(ECGCache(demo_cache).median[:8]) / prep["scaler"]["scale_uv"]).float()
    again, _ = load_model(run)
    a, b = model.encode(x), again.encode(x)
    # The same weights on the same batch in one process: the same arithmetic, bit for bit.
    assert torch.equal(a.mean, b.mean) and torch.equal(a.scale, b.scale)
    out = tmp_path / "z.parquet"
    subprocess.run([sys.executable, "-m", "ecgwb.cli", "encode", str(run), "--out", str(out)], check=True)
    import pandas as pd

    table = pd.read_parquet(out)
    assert len(table) == len(ECGCache(demo_cache)) and {"z0", "z9", "z0_scale", "record_id", "age"} <= set(table.columns)
    # `ecgwb encode` runs in another process with its own batches (all records, 256 at a
    # time): float32 convolutions accumulate in an order that depends on the batch shape and
    # the CPU's kernels (oneDNN), so equal to float32 rounding (seen: 1.6e-7), not bit for bit.
    np.testing.assert_allclose(table[[f"z{i}" for i in range(10)]].to_numpy()[:8],
                               a.mean.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_corrupt_or_mismatched_checkpoint_fails_clearly(demo_cache, tmp_path):
    run = train(_cfg("ae", demo_cache, "optim.max_epochs=1"), tmp_path, progress=False)
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("config.json", "preprocessing.json"):
        (bad / f).write_bytes((run / f).read_bytes())
    (bad / "weights.safetensors").write_bytes((run / "weights.safetensors").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="weights.safetensors is corrupt"):
        load_model(bad)
    model, prep = load_model(run)
    config = json.loads((run / "config.json").read_text())
    config["model"]["latent_dim"] = 7
    write_checkpoint_files(bad, model.state_dict(), config, prep)
    with pytest.raises(CheckpointError, match="weights do not match the model"):
        load_model(bad)
    (bad / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        load_model(bad)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "nothing")


def test_bad_config_is_an_error_before_any_work(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text((CONFIGS / "beta_vae.yaml").read_text())
    with pytest.raises(ConfigError, match="optim.lrr: unknown key"):
        load_config(cfg, ["optim.lrr=1"])
    with pytest.raises(ConfigError, match="optim.max_epochs"):
        load_config(cfg, ["optim.max_epochs=-3"])
    with pytest.raises(ConfigError, match="invalid model section.*latent_dimm"):
        load_config(cfg, ["model.latent_dimm=3"])
    with pytest.raises(ConfigError, match="unknown model 'beta_vea'"):
        load_config(cfg, ["model.name=beta_vea"])
    runs = tmp_path / "runs"
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "train", str(cfg), "--runs", str(runs),
                        "--set", "data.window=r999"], capture_output=True, text=True)
    assert r.returncode != 0 and "data.window" in r.stderr and not runs.exists()


class _NaNModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def loss(self, x, **kw):
        return {"recon": self.w * float("nan"), "total": self.w * float("nan")}


def test_non_finite_loss_stops_with_a_message():
    module = LatentModule(_NaNModel(), 1e-3, 0.0, uses_labels=False)
    batch = {"x": torch.zeros(2, 12, 400), "fiducials": torch.zeros(2, 7)}
    with pytest.raises(NonFiniteLossError, match=r"loss became nan at epoch 0.*\['recon', 'total'\]"):
        module.training_step(batch, 0)


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ECGWB_RUN_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "ecgwb.cli", *args], env=env, **kw)


def test_killed_run_resumes_without_losing_epochs(demo_cache, tmp_path):
    runs = tmp_path / "runs"
    epochs = 25
    proc = _cli("train", str(CONFIGS / "ae.yaml"), "--data", str(demo_cache), "--runs", str(runs),
                "--quiet", "--set", f"optim.max_epochs={epochs}", "--set", "optim.patience=100",
                "--set", "data.batch_size=16", "--set", "data.train_on=median", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait for the third epoch however slow the machine (a shared CPU took over 120 s):
    # only the training ending first, or a hang guard far beyond any real run, stops it.
    deadline = time.monotonic() + 900
    run = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(runs.glob("ae-*/metrics.csv"))
        if found and len(_rows(found[0].parent)) >= 3:
            run = found[0].parent
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run is not None, "training never wrote 3 epochs"
    killed_at = len(_rows(run))
    assert killed_at < epochs and not (run / "metrics.json").exists()
    r = _cli("train", "--resume", str(run), "--quiet", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = r.communicate(timeout=300)
    assert r.returncode == 0, out
    rows = _rows(run)
    assert [int(x["epoch"]) for x in rows] == list(range(epochs))
    assert json.loads((run / "metrics.json").read_text())["epochs"] == epochs


def test_two_process_ddp_on_cpu(demo_cache, tmp_path):
    runs = tmp_path / "runs"
    r = _cli("train", str(CONFIGS / "ae.yaml"), "--data", str(demo_cache), "--runs", str(runs), "--quiet",
             "--set", "optim.max_epochs=2", "--set", "data.train_on=median", "--set", "hardware.accelerator=cpu",
             "--set", "hardware.devices=2", "--set", "hardware.strategy=ddp",
             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = r.communicate(timeout=300)
    assert r.returncode == 0, out
    assert "Starting with 2 processes" in out
    (run,) = list(runs.glob("ae-*"))
    assert [int(x["epoch"]) for x in _rows(run)] == [0, 1]
    load_model(run)


def test_cross_validation_folds_and_label_fraction(demo_cache, tmp_path):
    tests = []
    for fold in (0, 1):
        cfg = _cfg("split_task_vae", demo_cache, "data.cv_folds=5", f"data.fold={fold}",
                   "data.label_fraction=0.1", "optim.max_epochs=1")
        run = train(cfg, tmp_path / f"f{fold}", progress=False)
        split = json.loads((run / "split.json").read_text())
        tests.append(set(split["test"]))
        assert not set(split["train"]) & set(split["test"])
        assert 0.05 < len(split["labelled_train"]) / len(split["train"]) < 0.2
        assert set(split["labelled_train"]) <= set(split["train"])
    assert not tests[0] & tests[1]
    assert 80 < len(tests[0]) < 120
    # the folds belong to the dataset: a label-free model holds out the same records
    pca = train(_cfg("pca", demo_cache, "data.cv_folds=5", "data.fold=0"), tmp_path / "pca", progress=False)
    assert set(json.loads((pca / "split.json").read_text())["test"]) == tests[0]


def test_models_command_lists_the_family():
    out = subprocess.run([sys.executable, "-m", "ecgwb.cli", "models"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert set(AE_FAMILY) <= set(names)


def test_training_on_single_beats(demo_cache, tmp_path):
    cfg = load_config(CONFIGS / "ae.yaml", [f"data.path={demo_cache}", "data.train_on=beats", "optim.max_epochs=1"])
    run = train(cfg, tmp_path, progress=False)
    split = json.loads((run / "split.json").read_text())
    from trainer.data import prepare_data

    prepared = prepare_data(cfg.data, "median", tmp_path / ".cache", seed=0, progress=False)
    beats, medians = prepared.dataset("train"), prepared.dataset("val")
    assert len(beats) > 5 * len(split["train"])  # every kept beat, not one per record
    assert beats[0]["x"].shape == medians[0]["x"].shape == (12, 400)
    assert set(beats.record_rows) == set(prepared.splits["train"])
    assert len(_rows(run)) == 1
    model, prep = load_model(run)  # trained on single beats, it encodes median beats
    assert prep["array"] == "median" and prep["window"] == "r400"
    x = torch.from_numpy(np.stack([medians[i]["x"].numpy() for i in range(4)])).float()
    assert tuple(model.encode(x).mean.shape) == (4, model.latent_dim)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_validates(path):
    cfg = load_config(path)
    assert cfg.model["name"] == path.stem == cfg.name


def test_cosine_schedule_decays_the_learning_rate_to_zero_over_the_stage(demo_cache, tmp_path):
    from trainer.data import prepare_data
    from trainer.run import build_model

    cfg = _cfg("ae", demo_cache, "optim.schedule=cosine", "optim.max_epochs=4", "data.batch_size=128")
    prepared = prepare_data(cfg.data, "median", tmp_path / ".cache", seed=0, progress=False)
    import lightning as L

    lrs: list[float] = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    # a resumed stage (1 of 4 epochs done) continues the curve instead of restarting it
    module = LatentModule(build_model(cfg, prepared), 1e-3, 0.0, False, schedule="cosine",
                          stage_epochs=4, stage_epochs_done=1)
    trainer = L.Trainer(max_epochs=3, callbacks=[Record()], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, prepared.loader("train"))
    assert lrs[0] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi / 4)), rel=1e-6)
    assert all(a > b for a, b in itertools.pairwise(lrs)) and lrs[-1] < 0.05 * 1e-3
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        LatentModule(build_model(cfg, prepared), 1e-3, 0.0, False, schedule="step")


def test_amplitude_jitter_scales_each_example_by_one_clipped_factor(seeded):
    from trainer.module import jitter_amplitude

    x = torch.rand(256, 12, 40) + 0.1
    factor = jitter_amplitude(x, 0.4) / x
    per_example = factor[:, :1, :1]
    assert torch.allclose(factor, per_example.expand_as(factor))  # one factor per example
    assert float(per_example.min()) >= 0.5 - 1e-6 and float(per_example.max()) <= 1.5 + 1e-6
    assert torch.equal(jitter_amplitude(x, 0.0), x)
    # by the definition: factor = clip(1 + 0.4 · N(0, 1), 0.5, 1.5), one draw per example
    # from torch's generator, so the same seed gives the same draws
    torch.manual_seed(7)
    got = jitter_amplitude(x, 0.4) / x
    torch.manual_seed(7)
    expected = (1 + 0.4 * torch.randn(256, 1, 1)).clamp(0.5, 1.5)
    assert torch.allclose(got, expected.expand_as(got), rtol=1e-5)
    assert bool(((expected == 0.5) | (expected == 1.5)).any())  # the clip is exercised



def test_a_wrapped_encoder_follows_the_data_rate(demo_cache):
    """Triplet fine-tuning's inner model gets the data's sampling rate, like any model."""
    from trainer.config import resolve_model_overrides

    cfg = _cfg("triplet_finetune", demo_cache, "data.fs=100")
    assert resolve_model_overrides(cfg)["encoder"]["fs"] == 100
    cfg = _cfg("triplet_finetune", demo_cache, "data.fs=100", "model.encoder={name: st_mem, fs: 250}")
    assert resolve_model_overrides(cfg)["encoder"]["fs"] == 250  # an explicit choice stays
