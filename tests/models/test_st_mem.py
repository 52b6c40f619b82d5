import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import create_model, model_from_config

SMALL = {"input_shape": (12, 300), "fs": 100.0, "patch_seconds": 0.3, "dim": 16, "heads": 2,
         "depth": 1, "decoder_dim": 16, "n_outputs": 3}


def _batch(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 3, 300)
    phase = torch.rand(b, 12, 1, generator=g)
    x = torch.sin(2 * torch.pi * (t + phase)) + 0.05 * torch.randn(b, 12, 300, generator=g)
    y = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, float("nan"), 0]])[:b]
    return x, y


def test_patch_size_follows_fs_and_defaults():
    assert create_model("st_mem", fs=250.0, input_shape=(12, 2250)).config.patch == 75
    assert create_model("st_mem").config.patch == 150  # 0.3 s at the cache's 500 Hz
    m = create_model("st_mem", **SMALL)
    assert m.config.input_array == "signals" and m.n_patches == 10 and m.latent_dim == 16
    assert m.default_stages() == [{"name": "pretrain", "uses_labels": False, "freeze_backbone": False}]
    probe = create_model("st_mem", **{**SMALL, "mode": "linear_probe"})
    assert probe.default_stages() == [{"name": "linear_probe", "uses_labels": True, "freeze_backbone": True}]
    with pytest.raises(NotImplementedError):
        m.decode(torch.zeros(1, 16))


def test_spatio_temporal_masking_keeps_equal_counts_per_lead():
    x, _ = _batch()
    m = create_model("st_mem", **SMALL)
    pred, patches, masked = m.masked_reconstruction(x)
    assert pred.shape == patches.shape == (4, 12, 10, 30)
    assert bool((masked.sum(-1) == 10 - 2).all())  # 75 % of 10 patches, 2 kept per lead
    assert not bool((masked == masked[:, :1]).all())  # leads masked independently


def test_loss_is_on_masked_patches_only():
    x, _ = _batch()
    m = create_model("st_mem", **SMALL)
    torch.manual_seed(0)
    pred, patches, masked = m.masked_reconstruction(x)
    torch.manual_seed(0)
    recon = m.loss(x)["recon"]
    expect = ((pred - patches) ** 2).mean(-1)[masked].mean()
    assert torch.allclose(recon, expect)


@pytest.mark.parametrize("mode", ["pretrain", "finetune"])
def test_adam_steps_reduce_the_loss(mode):
    x, y = _batch()
    m = create_model("st_mem", **{**SMALL, "mode": mode})
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=3e-3)

    def eval_loss():
        torch.manual_seed(1)
        m.eval()
        with torch.no_grad():
            return float(m.loss(x, target=y)["total"])

    before = eval_loss()
    m.train()
    for step in range(15):
        terms = m.loss(x, target=y, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert eval_loss() < before


def test_linear_probe_freezes_the_encoder():
    x, y = _batch()
    m = create_model("st_mem", **{**SMALL, "mode": "linear_probe"}).train()
    assert m.stage == "linear_probe" and m.backbone_frozen
    assert not m.encoder.training and m.head.training
    m.loss(x, target=y)["total"].backward()
    assert all(p.grad is None for p in m.encoder.parameters())
    assert all(p.grad is not None for p in m.head.parameters())
    assert m.predict_logits(x).shape == (4, 3)
    with pytest.raises(ValueError, match="target"):
        m.loss(x)


def test_pretrained_weights_load_strictly_into_a_probe_and_reload_is_bit_identical(tmp_path):
    x, _ = _batch()
    m = create_model("st_mem", **SMALL).eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    weights = load_file(str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(weights, strict=True)
    probe = create_model("st_mem", **{**SMALL, "mode": "linear_probe"})
    probe.load_state_dict(weights, strict=True)
    with torch.no_grad():
        z = m.encode(x).mean
        assert z.shape == (4, 16)
        assert torch.equal(z, r.eval().encode(x).mean)
        assert torch.equal(z, probe.eval().encode(x).mean)


def test_wrong_length_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\[batch, 12, 300\]"):
        create_model("st_mem", **SMALL).encode(torch.randn(2, 12, 250))
