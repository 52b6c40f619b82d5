import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import TaskVAE, create_model, model_from_config, wave_weight_mask
from trainer.arrays import fit_arrays


def _smooth_batch(n=8, leads=12, length=400, seed=0):
    """Random but learnable: a few smooth bumps per lead."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, length)
    centres = torch.rand(n, leads, 3, 1, generator=g)
    amps = torch.randn(n, leads, 3, 1, generator=g)
    return (amps * torch.exp(-((t - centres) ** 2) / 0.002)).sum(2)


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_adam_steps_reduce_the_loss(name):
    x = _smooth_batch()
    fid = torch.tensor([[60, 100, 150, 200, 320]] * x.shape[0])
    m = create_model(name, backbone={"kind": "small", "width": 0.5})
    opt = torch.optim.Adam(m.parameter_groups(), lr=2e-3)

    def eval_loss():
        m.eval()
        with torch.no_grad():
            return float(m.loss(x, fiducials=fid)["recon"])

    before = eval_loss()
    m.train()
    for step in range(25):
        terms = m.loss(x, fiducials=fid, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert {"recon", "kl", "beta", "task", "total"} <= set(terms)
    assert eval_loss() < 0.5 * before


def test_arrays_train_through_the_one_loop():
    """``trainer.arrays.fit_arrays``: the trainer's LatentModule on in-memory arrays."""
    x = _smooth_batch(n=16, leads=3, length=120)
    m = create_model("vae", input_shape=(3, 120), backbone={"kind": "small", "width": 0.5})
    history = fit_arrays(m, x, epochs=6, batch_size=8, lr=2e-3)
    assert list(history) == ["train"] and len(history["train"]) == 6
    assert history["train"][-1] < history["train"][0]
    assert not m.training


def _assert_identical_after_safetensors(m, x, tmp_path):
    m.eval()
    path = tmp_path / "weights.safetensors"
    save_file(m.state_dict(), str(path))
    rebuilt = model_from_config(m.config.model_dump(mode="json"))
    rebuilt.load_state_dict(load_file(str(path)), strict=True)
    rebuilt.eval()
    with torch.no_grad():
        a, b = m.encode(x), rebuilt.encode(x)
        assert torch.equal(a.mean, b.mean)
        assert (a.scale is None and b.scale is None) or torch.equal(a.scale, b.scale)
        assert torch.equal(m.decode(a.mean), rebuilt.decode(b.mean))


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("vae", {}),
        (
            "annealed_beta_vae",
            {
                "backbone": {"kind": "kors000", "width": 0.0625},
                "input_shape": (3, 375),
                "latent_dim": 30,
            },
        ),
        ("cyclical_beta_vae", {"backbone": {"kind": "factorecg", "width": 0.0625, "depth": 2}}),
        ("split_task_vae", {}),
        ("ae", {"wave_weights": None, "recon_reduction": "mean"}),
    ],
)
def test_safetensors_round_trip_is_bit_identical(name, overrides, tmp_path):
    m = create_model(name, **overrides)
    x = torch.randn(4, *m.input_shape)
    m.train()
    with torch.no_grad():
        m(x)  # move batch-norm running statistics away from their initial values
    if isinstance(m, TaskVAE):
        m.set_extra_normalization([800.0, 50.0], [150.0, 30.0])
    _assert_identical_after_safetensors(m, x, tmp_path)


def test_pca_safetensors_round_trip(tmp_path):
    x = np.random.default_rng(0).standard_normal((20, 3, 375)).astype(np.float32)
    m = create_model("pca", input_shape=(3, 375), latent_dim=8).fit(x)
    _assert_identical_after_safetensors(m, torch.from_numpy(x[:4]), tmp_path)


def test_task_head_inputs_and_loss():
    m = create_model("split_task_vae", backbone={"kind": "small", "width": 0.5}).eval()
    x, extra = torch.randn(5, 12, 400), torch.randn(5, 2)
    target = torch.tensor([0.0, 1.0, 0.0, 1.0, float("nan")])
    assert m.head.in_features == 2 + 2
    out = m(x, extra)
    assert out.logits.shape == (5, 1)
    assert m(x).logits is None  # no RR features: no prediction (reconstruction still works)
    probs = m.predict_proba(x, extra)
    assert bool(((probs > 0) & (probs < 1)).all())
    with torch.no_grad():
        terms = m.loss(x, target=target, extra=extra)
    assert float(terms["task"]) > 0
    expected = terms["recon"] + terms["beta"] * terms["kl"] + 500.0 * terms["task"]
    assert float(terms["total"]) == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(ValueError, match="extra"):
        m.predict_proba(x)
    # changing a latent unit the head does not read leaves the prediction alone
    mean = m.encode(x).mean
    moved = mean.clone()
    moved[:, 5] += 3.0
    assert torch.equal(m.task_logits(mean, extra), m.task_logits(moved, extra))
    full = create_model("task_vae", backbone={"kind": "small", "width": 0.5})
    assert full.head.in_features == 10 + 2


def test_frozen_backbone_gets_no_gradients():
    m = create_model("task_vae", backbone={"kind": "small", "width": 0.5})
    x, extra, target = (
        torch.randn(4, 12, 400),
        torch.randn(4, 2),
        torch.tensor([0.0, 1.0, 1.0, 0.0]),
    )
    m.freeze_backbone()
    m.train()
    assert m.backbone_frozen and not m.encoder.training and m.head.training
    m.loss(x, target=target, extra=extra)["total"].backward()
    assert all(p.grad is None for p in m.encoder.parameters())
    assert all(p.grad is None for p in m.decoder.parameters())
    assert m.to_mean.weight.grad is None
    assert m.head.weight.grad is not None
    trainable = [p for g in m.parameter_groups() for p in g["params"]]
    assert {id(p) for p in trainable} == {id(p) for p in m.head.parameters()}
    m.zero_grad(set_to_none=True)
    m.unfreeze_backbone()
    assert m.encoder.training
    m.loss(x, target=target, extra=extra)["total"].backward()
    assert all(p.grad is not None for p in m.encoder.parameters())


def test_fc_weight_decay_goes_into_parameter_groups():
    m = create_model("vae", backbone={"kind": "kors000", "width": 0.0625}, input_shape=(3, 375))
    groups = m.parameter_groups(weight_decay=1e-4)
    assert [g["weight_decay"] for g in groups] == [1e-4, pytest.approx(1e-4 + 0.02)]
    fc = {id(p) for p in groups[1]["params"]}
    linear_weights = {id(mod.weight) for mod in m.modules() if isinstance(mod, torch.nn.Linear)}
    assert fc == linear_weights  # encoder FC, decoder FCs and the latent heads; no biases
    assert len(create_model("vae").parameter_groups()) == 1  # small: no FC decay by default


def test_sampling_only_in_training_mode():
    m = create_model("vae", backbone={"kind": "small", "width": 0.5})
    x = torch.randn(2, 12, 400)
    m.eval()
    with torch.no_grad():
        out = m(x)
        assert torch.equal(out.z, out.mean)
        assert not torch.equal(m(x, sample=True).z, out.mean)
    ae = create_model("ae").train()
    out = ae(x)
    assert out.logvar is None and torch.equal(out.z, out.mean)


def test_loss_uses_config_thetas_with_fiducials():
    # seed 000's wave-weighted squared error (the recipe is unweighted absolute error)
    m = create_model("ae", input_shape=(1, 12), backbone={"kind": "small", "width": 0.25},
                     recon_loss="mse", wave_weights={}).eval()
    x = torch.randn(1, 1, 12)
    fid = torch.tensor([[1, 2, 4, 6, 9]])
    with torch.no_grad():
        x_hat = m.reconstruct(x)
        weighted = float(m.loss(x, fiducials=fid)["recon"])
        plain = float(m.loss(x)["recon"])
    w = wave_weight_mask(fid, 12)
    assert weighted == pytest.approx(float((((x - x_hat) ** 2) * w).sum()), rel=1e-5)
    assert plain == pytest.approx(float(((x - x_hat) ** 2).sum()), rel=1e-5)


@pytest.mark.parametrize("name", ["ae", "beta_vae"])
def test_pca_init_starts_at_pca_and_trains_away_from_it(name, tmp_path):
    """With ``pca_init`` the untrained autoencoder reconstructs exactly as PCA of the same
    inputs does, its code is the whitened PCA score, and gradients still reach the
    convolutional parts through the zero gates."""
    x = _smooth_batch(n=40)
    m = create_model(name, latent_dim=6, pca_init=True, backbone={"kind": "small", "width": 0.5})
    m.pca_path.fit(x)
    m.eval()
    flat = x.reshape(40, -1).double()
    centred = flat - flat.mean(0)
    _, _, vt = torch.linalg.svd(centred, full_matrices=False)
    pca = (flat.mean(0) + centred @ vt[:6].T @ vt[:6]).reshape(x.shape).float()
    with torch.no_grad():
        z = m.encode(x).mean
        assert torch.allclose(z.std(0), torch.ones(6), atol=1e-4)  # whitened
        assert torch.allclose(m.reconstruct(x), pca, atol=1e-4)
    m.train()
    m.loss(x)["total"].backward()
    assert m.gates.grad is not None and bool((m.gates.grad != 0).all())
    assert all(p.grad is None for p in m.pca_path.parameters())  # fixed: buffers only
    _assert_identical_after_safetensors(m, x[:4], tmp_path)


def test_fit_starts_the_pca_path_from_its_inputs():
    x = _smooth_batch(n=16, leads=3, length=120)
    m = create_model("ae", input_shape=(3, 120), latent_dim=4, pca_init=True,
                     backbone={"kind": "small", "width": 0.5})
    fit_arrays(m, x, epochs=1, batch_size=8)
    assert torch.allclose(m.pca_path.mean, x.reshape(16, -1).mean(0), atol=1e-6)


def test_pca_path_needs_more_inputs_than_components():
    m = create_model("ae", latent_dim=10, pca_init=True)
    with pytest.raises(ValueError, match="cannot give 10 components"):
        m.pca_path.fit(torch.zeros(5, 12, 400))
