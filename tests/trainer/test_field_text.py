"""Readable config keys (trainer/field_text.py), shared by the Train form and
``ecgwb train --help``."""

from __future__ import annotations

from trainer.config import DataConfig, HardwareConfig, OptimConfig
from trainer.field_text import applies, config_keys_help, field_text


def test_labels_and_help_from_the_table_and_the_schema():
    assert field_text("model.latent_dim")[0] == "Latent units"
    label, text = field_text("data.train_on", DataConfig.model_fields["train_on"])
    assert label == "Train on" and text == DataConfig.model_fields["train_on"].description
    label, text = field_text("model.backbone.kernel_size")  # a leaf name, anywhere
    assert label == "Kernel size (samples)" and "odd number (3, 5, 7…)" in text
    label, text = field_text("optim.weight_decay", OptimConfig.model_fields["weight_decay"])
    assert (label, text) == ("Weight decay", "weight decay (L2 or decoupled: see optimizer)")


def test_a_closed_form_fit_has_no_optimiser_fields():
    for path in ("optim.lr", "optim.max_epochs", "data.batch_size", "hardware.accelerator"):
        assert applies(path, trainable=True) and not applies(path, trainable=False)
    assert applies("model.latent_dim", trainable=False)
    assert applies("data.leads", trainable=False)


def test_cli_help_lists_every_key_once():
    text = config_keys_help({"data": DataConfig, "optim": OptimConfig,
                             "hardware": HardwareConfig})
    keys = [line.split()[0] for line in text.splitlines()]
    expected = [f"{s}.{n}" for s, cls in (("data", DataConfig), ("optim", OptimConfig),
                                          ("hardware", HardwareConfig))
                for n in cls.model_fields]
    assert keys == expected
    assert "  optim.lr                 Learning rate: Adam's step size" in text


def test_ecgwb_train_help_shows_the_keys(capsys):
    import pytest

    from ecgwb.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "data.batch_size          Batch size (records per step)" in out
