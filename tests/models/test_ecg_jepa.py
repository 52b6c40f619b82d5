import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import create_model, model_from_config

SMALL = {"input_shape": (12, 200), "fs": 100.0, "patch_seconds": 0.2, "dim": 16, "heads": 2,
         "depth": 1, "predictor_dim": 16, "n_outputs": 2}


def _batch(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 2, 200)
    phase = torch.rand(b, 1, 1, generator=g)
    gain = torch.linspace(-1, 1, 12)[None, :, None]
    x = gain * torch.sin(2 * torch.pi * (t + phase)) + 0.05 * torch.randn(b, 12, 200, generator=g)
    y = torch.tensor([[1.0, 0], [0, 1], [1, 1], [0, float("nan")]])[:b]
    return x, y


def _params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_target_blocks_are_whole_time_blocks_shared_by_leads():
    m = create_model("ecg_jepa", **SMALL)
    ctx, tgt = m.sample_targets(5, torch.device("cpu"))
    p = m.n_patches  # 10 patches of 20 samples
    assert ctx.shape[0] == tgt.shape[0] == 5 and ctx.shape[1] + tgt.shape[1] == 12 * p
    assert tgt.shape[1] == 12 * 3  # 30 % of 10 patches, in every lead
    for c, t in zip(ctx, tgt):
        assert set(c.tolist()).isdisjoint(t.tolist())
        times = (t % p).reshape(12, -1)
        assert bool((times == times[:1]).all())


def test_pretrain_target_gets_no_grads_and_ema_moves_it_toward_the_context():
    x, _ = _batch()
    m = create_model("ecg_jepa", **SMALL, ema_momentum=0.9)
    m.train()
    assert not m.target.training and all(not p.requires_grad for p in m.target.parameters())
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    terms = m.loss(x)
    opt.zero_grad()
    terms["total"].backward()
    assert all(p.grad is None for p in m.target.parameters())
    assert any(p.grad is not None for p in m.context.parameters())
    optimised = {id(p) for p in opt.param_groups[0]["params"]}
    assert not optimised & {id(p) for p in m.target.parameters()}
    opt.step()
    before_t, ctx = _params(m.target), _params(m.context)
    gap = (ctx - before_t).norm()
    assert gap > 0  # the context moved, the target did not
    m.on_train_batch_end(0)
    after_t = _params(m.target)
    assert torch.allclose(after_t, 0.9 * before_t + 0.1 * ctx, atol=1e-6)
    assert (ctx - after_t).norm() < gap
    m.unfreeze_backbone()  # what the trainer calls for a stage without freezing
    assert all(not p.requires_grad for p in m.target.parameters())


def test_adam_steps_reduce_the_jepa_loss():
    x, _ = _batch()
    m = create_model("ecg_jepa", **SMALL)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=3e-3)

    def eval_loss():
        torch.manual_seed(1)
        with torch.no_grad():
            return float(m.loss(x)["total"])

    before = eval_loss()
    for step in range(15):
        m.train()
        terms = m.loss(x, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        m.on_train_batch_end(step)
    assert torch.isfinite(terms["jepa"])
    assert eval_loss() < before


def test_no_decoder():
    m = create_model("ecg_jepa", **SMALL)
    with pytest.raises(NotImplementedError, match="latent space"):
        m.decode(torch.zeros(1, 16))
    with pytest.raises(NotImplementedError):
        m.reconstruct(torch.zeros(1, 12, 200))


def test_hybrid_features_join_the_embedding_and_the_head():
    x, y = _batch()
    extra = torch.randn(4, 3) * 50 + 400  # e.g. QT in ms
    m = create_model("ecg_jepa", **SMALL, hybrid_features=3)
    assert m.latent_dim == 19
    m.set_extra_normalization(extra.mean(0), extra.std(0))
    with torch.no_grad():
        z = m.eval().encode(x, extra=extra).mean
    assert z.shape == (4, 19)
    assert torch.allclose(z[:, 16:], (extra - extra.mean(0)) / extra.std(0), atol=1e-5)
    with pytest.raises(ValueError, match=r"extra \[batch, 3\]"):
        m.encode(x)
    m.set_stage("finetune")
    m.freeze_backbone()
    m.train()
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    first = None
    for _ in range(10):
        terms = m.loss(x, target=y, extra=extra)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        first = first if first is not None else float(terms["task"].detach())
    assert float(terms["task"].detach()) < first
    assert all(p.grad is None for p in m.target.parameters())
    assert m.predict_logits(x, extra=extra).shape == (4, 2)
    m.unfreeze_backbone()  # end-to-end fine-tuning trains the target encoder
    m.loss(x, target=y, extra=extra)["total"].backward()
    assert any(p.grad is not None for p in m.target.parameters())
    assert all(p.grad is None for p in m.context.parameters())


def test_safetensors_round_trip_is_bit_identical(tmp_path):
    x, _ = _batch()
    extra = torch.randn(4, 2)
    m = create_model("ecg_jepa", **SMALL, hybrid_features=2)
    m.set_extra_normalization([1.0, 2.0], [3.0, 4.0])
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    with torch.no_grad():
        assert torch.equal(m.encode(x, extra=extra).mean, r.eval().encode(x, extra=extra).mean)
