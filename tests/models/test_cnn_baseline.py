import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import count_parameters, create_model, model_from_config

# the small variant explicitly (the recipe is the full xresnet1d101), read whole (no crops)
SMALL = {"variant": "small", "input_shape": (12, 500), "width": 8, "n_outputs": 3, "crop_fraction": None}


def _batch(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, float("nan")], [0, 1, 0], [0, 0, 1]])[:b]
    t = torch.linspace(0, 1, 500)
    freq = 2.0 + 3.0 * y.nan_to_num().argmax(1).float()  # the class sets the rhythm
    x = torch.sin(2 * torch.pi * freq[:, None, None] * t) + 0.1 * torch.randn(b, 12, 500, generator=g)
    return x, y


def test_registered_supervised_on_signals():
    m = create_model("cnn_baseline", **SMALL)
    assert m.config.input_array == "signals" and m.latent_dim == 128
    # plain shuffled batches, as the PTB-XL benchmark trains (not the labelled stages' default)
    assert m.default_stages() == [{"name": "supervised", "uses_labels": True, "freeze_backbone": False,
                                   "balanced_sampling": False}]
    assert len(m.stem) == 4  # three convolutions and a max-pool
    assert count_parameters(create_model("cnn_baseline")) > 30 * count_parameters(m)


def test_logits_encode_and_any_length():
    x, _ = _batch()
    m = create_model("cnn_baseline", **SMALL).eval()
    with torch.no_grad():
        assert m.predict_logits(x).shape == (6, 3)
        assert m.encode(x).mean.shape == (6, 128) and m.encode(x).scale is None
        assert m.encode(torch.randn(2, 12, 731)).mean.shape == (2, 128)
    with pytest.raises(NotImplementedError, match="no decoder"):
        m.decode(torch.zeros(1, 128))
    with pytest.raises(ValueError, match="leads"):
        m.encode(torch.randn(2, 8, 500))


def test_adam_steps_reduce_the_bce():
    x, y = _batch()
    m = create_model("cnn_baseline", **SMALL, dropout=0.0)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)

    def eval_loss():  # batch statistics: ten steps are too few for the running ones
        with torch.no_grad():
            return float(m.loss(x, target=y, fiducials={}, extra=None)["total"])

    before = eval_loss()
    m.train()
    for step in range(10):
        terms = m.loss(x, target=y, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert eval_loss() < before
    with pytest.raises(ValueError, match="target"):
        m.loss(x)


def test_frozen_backbone_trains_the_head_only():
    x, y = _batch()
    m = create_model("cnn_baseline", **SMALL)
    m.freeze_backbone()
    m.train()
    assert not m.blocks.training and m.head.training
    m.loss(x, target=y)["total"].backward()
    assert all(p.grad is None for p in m.backbone_parameters())
    assert all(p.grad is not None for p in m.head.parameters())


def test_safetensors_round_trip_is_bit_identical(tmp_path):
    x, y = _batch()
    m = create_model("cnn_baseline", **SMALL)
    m.train()
    m.loss(x, target=y)  # batch-norm statistics move
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    r.eval()
    with torch.no_grad():
        assert torch.equal(m.encode(x).mean, r.encode(x).mean)
        assert torch.equal(m.predict_logits(x), r.predict_logits(x))
