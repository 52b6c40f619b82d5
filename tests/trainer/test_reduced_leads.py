"""Models trained on a subset of leads (seed 002's single lead; wearables)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecgcore.checkpoint import load_model
from trainer.config import ConfigError, load_config
from trainer.run import train

CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
FAMILY_FS = 100  # the rate of the `family_cache` fixture


@pytest.mark.parametrize("name", ["pca", "vae"])
def test_a_model_trains_on_lead_I_alone(name, family_cache, tmp_path, one_thread):
    cfg = load_config(CONFIGS / f"{name}.yaml",
                      [f"data.path={family_cache}", f"data.fs={FAMILY_FS}", "data.leads=[I]",
                       "optim.max_epochs=2", "data.batch_size=16", "data.train_on=median"])
    run = train(cfg, tmp_path, progress=False)
    assert json.loads((run / "metrics.json").read_text())["status"] == "finished"
    model, prep = load_model(run)
    assert prep["leads"] == ["I"] and prep["lead_set"] == ["I"]
    assert tuple(model.config.input_shape) == (1, 80)  # one lead × 800 ms at 100 Hz


def test_an_absent_lead_is_an_error_naming_it(family_cache, tmp_path):
    cfg = load_config(CONFIGS / "pca.yaml", [f"data.path={family_cache}", f"data.fs={FAMILY_FS}",
                                             "data.leads=[ECG1]"])
    with pytest.raises((ConfigError, ValueError), match=r"ECG1, absent"):
        train(cfg, tmp_path, progress=False)


def test_ecg_sl_trains_on_lead_I_alone(family_cache, tmp_path, one_thread):
    """Seed 002's ECG-SL on one lead: beat sequences of lead I, the 5 superclass heads."""
    cfg = load_config(CONFIGS / "ecg_sl.yaml",
                      [f"data.path={family_cache}", f"data.fs={FAMILY_FS}", "data.leads=[I]",
                       "optim.max_epochs=1", "data.batch_size=16"])
    run = train(cfg, tmp_path, progress=False)
    assert json.loads((run / "metrics.json").read_text())["status"] == "finished"
    model, prep = load_model(run)
    assert prep["leads"] == ["I"] and model.config.input_shape[0] == 1


def test_lead_mae_on_one_lead_is_refused_when_the_config_is_validated(tmp_path):
    """Lead MAE learns by aligning a record's leads: one input lead is a config error,
    raised by load_config before any data is read."""
    with pytest.raises(ConfigError, match="lead_mae .* needs at least 2 input leads, got 1"):
        load_config(CONFIGS / "lead_mae.yaml", [f"data.path={tmp_path / 'nowhere'}", "data.leads=[I]"])
    load_config(CONFIGS / "lead_mae.yaml", [f"data.path={tmp_path / 'nowhere'}", "data.leads=[I, II]"])
