import numpy as np
import pytest
import torch

from ecgcore.models import (
    Encoding,
    LatentModel,
    ModelOutput,
    PCAModel,
    count_parameters,
    create_model,
    list_models,
)

SHAPES = [(12, 400), (3, 375)]


def _ready(name, shape, **overrides):
    m = create_model(name, input_shape=shape, **overrides)
    if name == "pca":
        m.fit(torch.randn(16, *shape))
    return m.eval()


def _median_autoencoders() -> list[str]:
    """Registered models that eat one median beat and decode it (the AE protocol in full);
    the sequence and whole-signal families are covered by their own test files."""
    names = []
    for name in list_models():
        m = create_model(name)
        if getattr(m.config, "input_array", "median") == "median" and name != "triplet_finetune":
            names.append(name)
    return names


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", _median_autoencoders())
def test_every_model_round_trips(name, shape):
    m = _ready(name, shape)
    assert isinstance(m, LatentModel)
    assert m.input_shape == shape
    x = torch.randn(3, *shape)
    with torch.no_grad():
        enc = m.encode(x)
        x_hat = m.decode(enc.mean)
    assert isinstance(enc, Encoding)
    assert enc.mean.shape == (3, m.latent_dim)
    assert enc.scale is None or (
        enc.scale.shape == (3, m.latent_dim) and bool((enc.scale > 0).all())
    )
    assert x_hat.shape == (3, *shape) and x_hat.dtype == torch.float32
    assert m.reconstruct(x).shape == (3, *shape)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "backbone",
    [
        {"kind": "small", "width": 0.5},
        {"kind": "kors000", "width": 0.0625},
        {"kind": "factorecg", "width": 0.125, "depth": 3, "output_dense": False},
        {"kind": "factorecg", "width": 0.0625, "depth": 2},
    ],
    ids=["small", "kors000", "factorecg", "factorecg-dense"],
)
def test_backbones_any_shape(backbone, shape):
    m = create_model("vae", backbone=backbone, input_shape=shape, latent_dim=7)
    x = torch.randn(2, *shape)
    m.train()
    out = m(x)
    assert isinstance(out, ModelOutput)
    assert out.x_hat.shape == x.shape and out.z.shape == (2, 7) and out.logvar.shape == (2, 7)
    m.eval()
    with torch.no_grad():
        assert m.decode(m.encode(x).mean).shape == x.shape


@pytest.mark.parametrize("length", [101, 250, 399, 512])
def test_odd_lengths_and_lead_counts(length):
    for kind in ("small", "kors000"):
        m = create_model(
            "ae", backbone={"kind": kind, "width": 0.0625}, input_shape=(8, length)
        ).eval()
        with torch.no_grad():
            assert m.reconstruct(torch.randn(2, 8, length)).shape == (2, 8, length)


def test_wrong_input_shape_is_a_clear_error():
    m = create_model("vae").eval()
    with pytest.raises(ValueError, match=r"\[batch, 12, 400\]"):
        m.encode(torch.randn(2, 12, 375))
    with pytest.raises(ValueError, match=r"z \[batch, 10\]"):
        m.decode(torch.randn(2, 3))


def test_parameter_counts():
    plain = {"kind": "small", "linear_skip": False, "linear_encoder": False}
    small = count_parameters(create_model("vae", backbone=plain))  # 12 × 400, latent 10, width 1
    assert 200_000 <= small <= 350_000
    # the recipe adds the linear paths x -> (mean, log-variance), weights only, and
    # z -> output with a bias (a dict backbone keeps the recipe's other fields: norm none)
    assert count_parameters(create_model("vae")) - small == 2 * 4800 * 10 + 11 * 4800
    kors = count_parameters(
        create_model("vae", backbone="kors000", input_shape=(3, 375), latent_dim=30)
    )
    assert 14_000_000 <= kors <= 15_200_000
    factor = count_parameters(create_model("vae", backbone="factorecg"))  # built, never run
    assert factor >= 10_000_000
    half = count_parameters(create_model("vae", backbone={**plain, "width": 0.5}))
    assert half < small


def test_pca_numpy_in_numpy_out_and_exact_at_full_rank():
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((4, 3 * 50)).astype(np.float32)
    x = (rng.standard_normal((30, 4)).astype(np.float32) @ basis + 0.5).reshape(30, 3, 50)
    m = create_model("pca", input_shape=(3, 50), latent_dim=4)
    assert isinstance(m, PCAModel) and not m.is_fitted
    with pytest.raises(RuntimeError, match="fit"):
        m.encode(x)
    assert m.fit(x) is m
    enc = m.encode(x)
    assert isinstance(enc.mean, np.ndarray) and enc.mean.shape == (30, 4) and enc.scale is None
    x_hat = m.decode(enc.mean)
    assert isinstance(x_hat, np.ndarray) and x_hat.shape == x.shape
    np.testing.assert_allclose(x_hat, x, atol=1e-4)  # rank-4 data, 4 components
    torch_enc = m.encode(torch.from_numpy(x)).mean
    assert isinstance(torch_enc, torch.Tensor)
    np.testing.assert_allclose(torch_enc.numpy(), enc.mean, atol=1e-5)
    assert m.explained_variance_ratio_.sum() == pytest.approx(1.0, abs=1e-4)


def test_pca_whiten_matches_sklearn():
    from sklearn.decomposition import PCA

    x = np.random.default_rng(1).standard_normal((40, 2, 30)).astype(np.float32)
    m = create_model("pca", input_shape=(2, 30), latent_dim=5, whiten=True).fit(x)
    ref = PCA(5, whiten=True, random_state=0).fit(x.reshape(40, -1).astype(np.float64))
    np.testing.assert_allclose(m.encode(x).mean, ref.transform(x.reshape(40, -1)), atol=1e-4)
    np.testing.assert_allclose(
        m.decode(m.encode(x).mean).reshape(40, -1),
        ref.inverse_transform(ref.transform(x.reshape(40, -1))),
        atol=1e-4,
    )


def test_small_decoder_linear_skip_adds_a_linear_map_from_z():
    plain = {"kind": "small", "width": 0.25, "linear_skip": False, "linear_encoder": False}
    base = create_model(name="ae", latent_dim=4, input_shape=(12, 80), backbone=plain)
    skip = create_model(name="ae", latent_dim=4, input_shape=(12, 80),
                        backbone={**plain, "linear_skip": True})
    extra = sum(p.numel() for p in skip.parameters()) - sum(p.numel() for p in base.parameters())
    assert extra == 4 * 12 * 80 + 12 * 80
    skip.eval()
    z = torch.randn(3, 4)
    with torch.no_grad():
        conv_only = skip.decoder.net(skip.decoder.fc(z).reshape(3, *skip.decoder.feature_shape))
        expected = conv_only[..., :80] + skip.decoder.skip(z).reshape(3, 12, 80)
        np.testing.assert_allclose(skip.decode(z).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_small_encoder_linear_path_sees_the_input_itself():
    kw = {"name": "ae", "latent_dim": 4, "input_shape": (12, 80)}
    plain = {"kind": "small", "width": 0.25, "linear_skip": False, "linear_encoder": False}
    base = create_model(**kw, backbone=plain)
    lin = create_model(**kw, backbone={**plain, "linear_encoder": True})
    extra = sum(p.numel() for p in lin.parameters()) - sum(p.numel() for p in base.parameters())
    assert extra == 12 * 80 * 4  # to_mean's weights on the flattened input
    lin.eval()
    x = torch.randn(3, 12, 80)
    with torch.no_grad():
        conv = lin.encoder.net(x).flatten(1)
        n = conv.shape[1]
        expected = conv @ lin.to_mean.weight[:, :n].T + x.flatten(1) @ lin.to_mean.weight[:, n:].T
        np.testing.assert_allclose(lin.encode(x).mean.numpy(), (expected + lin.to_mean.bias).numpy(),
                                   rtol=1e-5, atol=1e-5)
