import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import create_model, model_from_config
from ecgcore.models.triplet import TripletFinetune, triplet_loss

AE = {"name": "ae", "input_shape": (3, 64), "backbone": {"kind": "small", "width": 0.25}, "latent_dim": 6}


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1], [1, 1], [0, 0], [0, 0], [1, float("nan")]])
    t = torch.linspace(0, 1, 64)
    centre = 0.3 + 0.4 * y.nan_to_num()[:, :1, None]
    x = torch.exp(-((t - centre) ** 2) / 0.01).expand(8, 3, 64) + 0.3 * torch.randn(8, 3, 64, generator=g)
    return x, y


def test_loss_is_zero_when_classes_are_apart_and_positive_when_mixed():
    y = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    apart = torch.tensor([[0.0, 0], [0, 0.1], [5, 0], [5, 0.1]])
    mixed = torch.tensor([[0.0, 0], [5, 0], [0, 0.1], [5, 0.1]])
    for mining in ("batch_hard", "random"):
        assert float(triplet_loss(apart, y, 0.2, mining)) == 0.0
        assert float(triplet_loss(mixed, y, 0.2, mining)) > 2.0
    assert float(triplet_loss(torch.randn(2, 3), torch.tensor([[1.0, 0], [0, 1]]))) == 0.0  # no positive
    # sharing one label makes a positive: [1, 1] pulls toward [1, 0], away from the unlabelled [0, 0]
    z = torch.tensor([[0.0, 0], [3, 0], [0.1, 0]])
    shared = torch.tensor([[1.0, 1], [1, 0], [0, 0]])
    assert float(triplet_loss(z, shared, 0.2)) == pytest.approx((3.1 + 0.3) / 2, abs=1e-4)
    with pytest.raises(ValueError, match="mining"):
        triplet_loss(apart, y, 0.2, "hardest")


def test_wraps_a_registered_encoder_by_config_frozen_with_projection():
    x, y = _batch()
    m = create_model("triplet_finetune", encoder=AE, projection_dim=4)
    assert m.config.input_array == "median" and m.input_shape == (3, 64) and m.latent_dim == 4
    assert m.default_stages() == [{"name": "triplet", "uses_labels": True, "freeze_backbone": True}]
    m.train()
    assert not m.encoder.training and m.projection.training
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)

    def eval_loss():
        with torch.no_grad():
            return float(m.eval().loss(x, target=y)["total"])

    before = eval_loss()
    m.train()
    for _ in range(20):
        terms = m.loss(x, target=y)
        opt.zero_grad()
        terms["total"].backward()
        assert all(p.grad is None for p in m.encoder.parameters())
        opt.step()
    assert eval_loss() < before
    with pytest.raises(ValueError, match="target"):
        m.loss(x)
    with pytest.raises(NotImplementedError):
        m.decode(torch.zeros(1, 4))


def test_wraps_an_instance_end_to_end_without_projection():
    x, y = _batch()
    inner = create_model(AE["name"], **{k: v for k, v in AE.items() if k != "name"}).eval()
    with torch.no_grad():
        z_inner = inner.encode(x).mean
    m = TripletFinetune.wrap(inner, freeze_backbone=False, projection_dim=None, mining="random")
    assert m.encoder is inner and m.latent_dim == 6
    with torch.no_grad():
        assert torch.equal(m.eval().encode(x).mean, z_inner)  # weights kept
        assert m.decode(z_inner).shape == x.shape  # no projection: the inner decoder applies
    m.train()
    m.loss(x, target=y)["total"].backward()
    assert all(p.grad is not None for p in inner.encoder.parameters())
    with pytest.raises(ValueError, match="projection_dim"):
        create_model("triplet_finetune", encoder=AE, projection_dim=None)


def test_shape_override_reaches_the_wrapped_model_and_reload_is_bit_identical(tmp_path):
    m = create_model("triplet_finetune", input_shape=(12, 300),
                     encoder={"name": "st_mem", "fs": 100.0, "dim": 16, "heads": 2, "depth": 1})
    assert m.encoder.input_shape == (12, 300) and m.config.input_array == "signals"
    x = torch.randn(3, 12, 300)
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    assert r.config == m.config
    with torch.no_grad():
        assert torch.equal(m.encode(x).mean, r.eval().encode(x).mean)
