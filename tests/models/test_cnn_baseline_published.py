"""cnn_baseline at full strength: the PTB-XL benchmark's xresnet1d101 (parameter count from
the layer formula), the small variant's shapes, configs stored before the variants
rebuilding the model they were, and the crops / test-time aggregation against their
definitions."""

import hashlib
import itertools

import pytest
import torch

from ecgcore.models import count_parameters, create_model, model_from_config
from ecgcore.models.cnn_baseline import aggregate_logits, random_crops, sliding_crops, window_starts


def _conv_bn(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k + 2 * c_out  # bias-free convolution + batch norm (γ, β)


def _xresnet1d101_params(leads: int, n_out: int) -> int:
    """Strodthoff et al.'s xresnet1d101 (code/models/xresnet1d.py: expansion 4, layers
    [3, 4, 23, 3], block_szs 64 everywhere, stem 32-32-64, kernel 5; head lin_ftrs [128])."""
    k, e, width = 5, 4, 64
    n = _conv_bn(leads, 32, k) + _conv_bn(32, 32, k) + _conv_bn(32, 64, k)
    c_in = 64
    for blocks in (3, 4, 23, 3):
        for _ in range(blocks):
            n += _conv_bn(c_in, width, 1) + _conv_bn(width, width, k) + _conv_bn(width, width * e, 1)
            if c_in != width * e:  # a 1×1 projection on the shortcut
                n += _conv_bn(c_in, width * e, 1)
            c_in = width * e
    pooled = 2 * c_in  # concat pooling: max ‖ mean
    n += 2 * pooled + pooled * 128 + 128 + 2 * 128 + 128 * n_out + n_out  # BN, lin, BN, lin
    return n


def test_recipe_is_the_published_xresnet1d101():
    m = create_model("cnn_baseline")
    c = m.config
    assert (c.variant, c.block, c.layers, c.kernel_size, c.width) == ("xresnet1d101", "bottleneck", (3, 4, 23, 3), 5, 64)
    assert c.n_outputs == 5 and c.crop_fraction == 0.25 and m.crop_length == 250  # 2.5 s at 100 Hz
    assert count_parameters(m) == _xresnet1d101_params(12, 5) == 1_872_261
    assert len(m.blocks) == 33 and m.latent_dim == 512
    # the stem 32-32-64 and one bottleneck: 1×1 → k → 1×1 (stride on the k one), ×4 out
    assert [s[0].out_channels for s in list(m.stem)[:3]] == [32, 32, 64]
    b = m.blocks[3]  # the first block of stage 2
    assert [(s[0].kernel_size[0], s[0].stride[0], s[0].out_channels) for s in b.body] == [(1, 1, 64), (5, 2, 64), (1, 1, 256)]


def test_variants_and_explicit_fields():
    r50 = create_model("cnn_baseline", variant="xresnet1d50")
    assert r50.config.layers == (3, 4, 6, 3) and r50.config.block == "bottleneck"
    assert count_parameters(r50) < count_parameters(create_model("cnn_baseline"))
    r18 = create_model("cnn_baseline", variant="xresnet1d18")
    assert r18.config.block == "basic" and len(r18.blocks) == 8 and r18.latent_dim == 128
    wide = create_model("cnn_baseline", stage_widths=(64, 128, 256, 512))  # fastai's widening
    assert wide.latent_dim == 2 * 512 * 4 and count_parameters(wide) > 10 * count_parameters(r50)
    small = create_model("cnn_baseline", variant="small", width=4)
    assert (small.config.block, small.config.layers, small.config.head_hidden) == ("basic", (1, 1, 1, 1), 0)
    with pytest.raises(ValueError, match="latent_dim"):
        create_model("cnn_baseline", latent_dim=7)


@pytest.mark.parametrize("variant", ["small", "xresnet1d18", "xresnet1d50"])
def test_shapes_at_small_width(variant):
    m = create_model("cnn_baseline", variant=variant, width=8, stage_widths=(4, 4, 8, 8),
                     input_shape=(12, 400), n_outputs=3).eval()
    x = torch.randn(3, 12, 400)
    feats = 2 * 8 * (4 if variant == "xresnet1d50" else 1)
    with torch.no_grad():
        assert m.predict_logits(x).shape == (3, 3)
        assert m.encode(x).mean.shape == (3, feats) == (3, m.latent_dim)
        assert m.encode(torch.randn(2, 12, 61)).mean.shape == (2, feats)  # shorter than a crop
    m.train()
    m.loss(x, target=torch.tensor([[1.0, 0, 1]] * 3))["total"].backward()


# what main stored for `create_model("cnn_baseline", width=4, input_shape=(12, 1000))` before
# the variants existed (config.json of the tiny test runs), its parameter count and the
# sha256 of its state-dict layout ("key:shape;…")
OLD_CONFIG = {"name": "cnn_baseline", "input_shape": [12, 1000], "latent_dim": 64, "width": 4,
              "layers": [1, 1, 1, 1], "kernel_size": 5, "dropout": 0.25, "n_outputs": 1}
OLD_PARAMS, OLD_LAYOUT = 11653, "3da93e3fbe1a2329"


def test_old_stored_config_rebuilds_the_same_model():
    m = model_from_config(dict(OLD_CONFIG))
    layout = ";".join(f"{k}:{tuple(v.shape)}" for k, v in m.state_dict().items())
    assert hashlib.sha256(layout.encode()).hexdigest()[:16] == OLD_LAYOUT
    assert count_parameters(m) == OLD_PARAMS
    c = m.config
    assert (c.variant, c.block, c.stage_widths, c.head_hidden, c.crop_fraction) == ("small", "basic", None, 0, None)
    assert m.crop_length is None  # read whole, as it was trained
    # and its own dump rebuilds it again (the new fields now stored)
    again = model_from_config(c.model_dump(mode="json"))
    assert again.config == c


def test_window_starts_by_definition():
    assert window_starts(1000, 250) == [0, 125, 250, 375, 500, 625, 750]  # stride half a crop
    assert window_starts(1010, 250) == [0, 125, 250, 375, 500, 625, 750, 760]  # last one ends at n
    assert window_starts(250, 250) == [0] and window_starts(100, 250) == [0]
    for n, L in [(1000, 250), (997, 100), (301, 300), (5000, 1250)]:
        s = window_starts(n, L)
        assert s[0] == 0 and s[-1] + L == n and all(0 < b - a <= L // 2 for a, b in itertools.pairwise(s))


def test_crops_by_definition():
    x = torch.arange(2 * 3 * 20, dtype=torch.float32).reshape(2, 3, 20)
    c = random_crops(x, 5, generator=torch.Generator().manual_seed(0))
    assert c.shape == (2, 3, 5)
    for b in range(2):  # a contiguous piece of its own record, the same in every lead
        start = int(c[b, 0, 0] - x[b, 0, 0])
        assert torch.equal(c[b], x[b, :, start:start + 5])
    starts = {int(random_crops(x, 5)[0, 0, 0]) for _ in range(200)}
    assert starts == set(range(16))  # every start 0..T-L
    w = sliding_crops(x, 8)
    s = window_starts(20, 8)
    assert w.shape == (2 * len(s), 3, 8)
    assert torch.equal(w[len(s) + 1], x[1, :, s[1]:s[1] + 8])
    assert torch.equal(random_crops(x[..., :4], 5), x[..., :4])  # shorter: whole


def test_aggregate_by_definition():
    logits = torch.tensor([[[0.0, -2.0], [3.0, 1.0], [-1.0, 0.5]]])  # 1 record, 3 crops, 2 labels
    p = torch.sigmoid(logits)
    assert torch.allclose(torch.sigmoid(aggregate_logits(logits, "max")), p.amax(1))
    assert torch.allclose(torch.sigmoid(aggregate_logits(logits, "mean")), p.mean(1))
    with pytest.raises(ValueError, match="aggregate"):
        aggregate_logits(logits, "median")


@pytest.mark.parametrize("how", ["max", "mean"])
def test_eval_aggregates_the_sliding_crops_and_training_reads_one(how):
    torch.manual_seed(0)
    m = create_model("cnn_baseline", variant="small", width=4, input_shape=(12, 400), n_outputs=2,
                     crop_fraction=0.25, aggregate=how).eval()
    x = torch.randn(2, 12, 400)
    with torch.no_grad():
        per = torch.stack([m.head(m.features(x[..., s:s + 100])) for s in window_starts(400, 100)], 1)
        want = per.amax(1) if how == "max" else torch.logit(torch.sigmoid(per).mean(1))
        assert torch.allclose(m.predict_logits(x), want, atol=1e-5)
        feats = torch.stack([m.features(x[..., s:s + 100]) for s in window_starts(400, 100)], 1).mean(1)
        assert torch.allclose(m.encode(x).mean, feats, atol=1e-5)
    # training mode: one random 100-sample crop per record (dropout off, batch-norm
    # statistics of the batch: compare with the same module in train mode on the crop)
    m = create_model("cnn_baseline", variant="small", width=4, input_shape=(12, 400), n_outputs=2,
                     crop_fraction=0.25, dropout=0.0).train()
    x = torch.randn(1, 12, 400)
    torch.manual_seed(3)
    got = m.predict_logits(torch.cat([x, x]))
    torch.manual_seed(3)
    start = torch.randint(0, 301, (2,))
    crops = torch.stack([x[0, :, s:s + 100] for s in start.tolist()])
    assert torch.allclose(got, m.head(m.features(crops)), atol=1e-5)
