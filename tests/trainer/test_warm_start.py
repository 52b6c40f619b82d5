"""Warm starts (`init_from`, `ecgwb train --init-from`): a tiny ST-MEM pre-trained, then a
linear probe with the copied encoder frozen (its weights bit-identical after training, the
new head trained) and a fine-tune that moves them; strict loading with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ecgcore.data.spec import ConfigError
from ecgwb.cli import main
from trainer.config import load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
FS = 100  # the `family_cache` fixture's rate
TINY = ["model.dim=16", "model.depth=1", "model.heads=2", "model.decoder_dim=8",
        "model.decoder_heads=1", "model.patch_size=10", f"data.fs={FS}", "data.batch_size=16"]
BACKBONE = ("encoder.", "decoder.", "norm.")


@pytest.fixture(autouse=True)
def _isolated(one_thread, seeded):
    yield


@pytest.fixture(scope="module")
def pretrained(family_cache, tmp_path_factory) -> Path:
    cfg = load_config(CONFIGS / "st_mem.yaml", [f"data.path={family_cache}", *TINY, "optim.max_epochs=1"])
    torch.set_num_threads(1)
    return train(cfg, tmp_path_factory.mktemp("pre"), progress=False)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "weights.safetensors"))


def test_frozen_warm_start_keeps_the_encoder(pretrained, family_cache, tmp_path, capsys):
    """Mode ``finetune`` trains everything: only the warm start's freeze keeps the copied
    backbone fixed (``linear_probe`` would freeze it by itself)."""
    runs = tmp_path / "runs"
    code = main(["train", str(CONFIGS / "st_mem.yaml"), "--data", str(family_cache), "--runs", str(runs),
                 "--init-from", str(pretrained), "--quiet", "--set", "model.mode=finetune",
                 "--set", "init_from.modules=[encoder, decoder, norm]", "--set", "init_from.freeze=true",
                 "--set", "optim.max_epochs=2", *[a for s in TINY for a in ("--set", s)]])
    assert code == 0
    run = Path(capsys.readouterr().out.split("run: ")[-1].strip())
    before, after = _weights(pretrained), _weights(run)
    backbone = [k for k in before if k.startswith(BACKBONE)]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)
    heads = [k for k in after if k.startswith("head.")]
    assert any(not torch.equal(before[k], after[k]) for k in heads)  # the probe trained
    summary = json.loads((run / "init_from.json").read_text())
    assert summary["run"] == str(pretrained) and summary["freeze"] is True
    assert sorted(summary["copied"]) == sorted(backbone) and set(summary["fresh"]) == set(heads)
    # the copied encoder reads inputs in the pre-training's units
    scale = [json.loads((r / "preprocessing.json").read_text())["scaler"]["scale_uv"] for r in (run, pretrained)]
    assert scale[0] == scale[1]


def test_fine_tune_moves_the_copied_weights(pretrained, family_cache, tmp_path):
    cfg = load_config(CONFIGS / "st_mem.yaml", [f"data.path={family_cache}", *TINY, "optim.max_epochs=1",
                                                "model.mode=finetune", f"init_from.run={pretrained}"])
    run = train(cfg, tmp_path / "runs", progress=False)
    before, after = _weights(pretrained), _weights(run)
    summary = json.loads((run / "init_from.json").read_text())
    assert set(summary["copied"]) == set(before) and summary["frozen"] == []
    moved = [k for k in before if k.startswith("encoder.") and not torch.equal(before[k], after[k])]
    assert moved


def test_mismatched_warm_starts_fail_clearly(pretrained, family_cache, tmp_path):
    base = [f"data.path={family_cache}", *TINY, "optim.max_epochs=1", f"init_from.run={pretrained}"]
    wide = load_config(CONFIGS / "st_mem.yaml", [*base, "model.dim=32"])
    with pytest.raises(ConfigError, match=r"shape mismatch: .*encoder\.patches\.pos: \(100, 16\) there, \(100, 32\) here"):
        train(wide, tmp_path / "a", progress=False)
    nowhere = load_config(CONFIGS / "st_mem.yaml", [*base, "init_from.modules=[backbone]"])
    with pytest.raises(ConfigError, match=r"no tensor under \['backbone'\].*'encoder'"):
        train(nowhere, tmp_path / "b", progress=False)
    two_leads = load_config(CONFIGS / "st_mem.yaml", [*base, "data.leads=[I, II]"])
    with pytest.raises(ConfigError, match=r"inputs differ from this run's \(leads: \('I', 'II', 'III'.*there, \('I', 'II'\) here"):
        train(two_leads, tmp_path / "c", progress=False)
    with pytest.raises(ConfigError, match="no such checkpoint folder"):
        train(load_config(CONFIGS / "st_mem.yaml", [*base[:-1], f"init_from.run={tmp_path / 'none'}"]),
              tmp_path / "d", progress=False)


def test_frozen_batch_norms_keep_their_running_statistics(cnn_run, family_cache, tmp_path):
    """cnn_baseline has batch norms: frozen by a warm start, their running means and
    variances (buffers, not parameters) must not drift while the head trains."""
    cfg = load_config(CONFIGS / "cnn_baseline.yaml", [
        f"data.path={family_cache}", f"data.fs={FS}", "model.variant=small", "model.width=4", "optim.max_epochs=1",
        "data.batch_size=16", f"init_from.run={cnn_run}", "init_from.modules=[stem, blocks]",
        "init_from.freeze=true"])
    run = train(cfg, tmp_path / "runs", progress=False)
    before, after = _weights(cnn_run), _weights(run)
    frozen = [k for k in before if k.startswith(("stem.", "blocks."))]
    assert any(k.endswith("running_mean") for k in frozen)
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("head."))
