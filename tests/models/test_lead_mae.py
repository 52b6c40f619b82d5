import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import create_model, model_from_config
from ecgcore.models.lead_mae import cross_lead_sources

# the paper's loss (0 and 0); the shipped recipe adds cross-lead redraws and a recon floor
SMALL = {"input_shape": (12, 60), "patch_size": 10, "dim": 16, "heads": 2, "depth": 1,
         "decoder_dim": 16, "curriculum_epochs": 10, "cross_lead_weight": 0.0, "recon_floor": 0.0}


def _batch(b=6, leads=12, length=60, seed=0):
    """Records sharing one waveform across leads (with a lead gain), different across records."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, length)
    centre = torch.rand(b, 1, 1, generator=g) * 0.6 + 0.2
    gain = torch.linspace(-1, 1.5, leads)[None, :, None]
    return gain * torch.exp(-((t - centre) ** 2) / 0.005)


def test_curriculum_weights_at_start_and_end():
    m = create_model("lead_mae", **SMALL)
    assert m.curriculum(0) == (0.0, 1.0)  # reconstruction only
    w_align, w_recon = m.curriculum(10)  # i = N: alignment only
    assert w_align == pytest.approx(1.0) and w_recon == pytest.approx(0.0, abs=1e-12)
    assert m.curriculum(25) == m.curriculum(10)  # clamped after N
    a, r = m.curriculum(5)
    assert a == pytest.approx(math.sin(math.pi / 4)) and r == pytest.approx(math.cos(math.pi / 4))
    x = _batch()
    torch.manual_seed(3)
    t0 = m.loss(x, epoch=0)
    assert torch.equal(t0["total"], t0["recon"])
    t1 = m.loss(x, epoch=10)
    assert torch.allclose(t1["total"], t1["align"], atol=1e-6)


@pytest.mark.parametrize("shared", [True, False])
def test_adam_steps_reduce_the_loss(shared):
    x = _batch()
    m = create_model("lead_mae", shared_encoder=shared, **SMALL)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)

    def eval_loss(epoch):
        torch.manual_seed(1)
        with torch.no_grad():
            return float(m.loss(x, epoch=epoch)["total"])

    before = eval_loss(5)
    for step in range(20):
        terms = m.loss(x, epoch=5, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert {"recon", "align", "w_align", "w_recon", "total"} <= set(terms)
    assert eval_loss(5) < before


def test_shapes_reconstruct_from_one_lead_and_correlation():
    x = _batch(b=3)
    m = create_model("lead_mae", **SMALL).eval()
    with torch.no_grad():
        enc = m.encode(x)
        assert enc.mean.shape == (3, 16) and enc.scale is None
        assert m.lead_embeddings(x).shape == (3, 12, 16)
        assert m.decode(enc.mean).shape == (3, 12, 60) and m.reconstruct(x).shape == (3, 12, 60)
        assert m.reconstruct_from_lead(x, 1).shape == (3, 12, 60)
        r = m.cross_lead_correlation(x)
    assert r.shape == (3,) and bool(((r >= -1) & (r <= 1)).all())


def test_separate_encoders_and_signals_of_any_length():
    m = create_model("lead_mae", shared_encoder=False, input_array="signals", **{**SMALL, "input_shape": (4, 73)})
    assert len(m.encoders) == 4 and len(m.decoders) == 4 and m.lead_embedding is None
    assert m.config.input_array == "signals"
    x = torch.randn(2, 4, 73)  # 73 is not a multiple of the patch: padded, then cropped
    assert torch.isfinite(m.loss(x, epoch=3)["total"])
    with torch.no_grad():
        assert m.eval().reconstruct_from_lead(x, 2).shape == (2, 4, 73)
    with pytest.raises(ValueError, match=r"\[batch, 4, 73\]"):
        m.encode(torch.randn(2, 4, 70))


def test_alignment_is_zero_without_a_negative():
    m = create_model("lead_mae", **SMALL)
    assert float(m.alignment_loss(torch.randn(1, 12, 16))) == 0.0


def test_safetensors_round_trip_is_bit_identical(tmp_path):
    x = _batch(b=3)
    m = create_model("lead_mae", **{**SMALL, "cross_lead_weight": 1.0, "recon_floor": 0.3})
    m.loss(x)  # fits the input_rms buffer, which must travel with the weights
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    r.eval()
    assert r.config == m.config and float(r.input_rms) == float(m.input_rms) > 0
    with torch.no_grad():
        assert torch.equal(m.encode(x).mean, r.encode(x).mean)
        assert torch.equal(m.reconstruct_from_lead(x, 0), r.reconstruct_from_lead(x, 0))


def test_curriculum_floor_keeps_reconstruction_weighted():
    m = create_model("lead_mae", **{**SMALL, "recon_floor": 0.4})
    assert m.curriculum(0) == (0.0, 1.0)
    assert m.curriculum(10) == (pytest.approx(1.0), 0.4)  # cos = 0 is floored
    assert m.curriculum(5)[1] == pytest.approx(math.cos(math.pi / 4))  # above the floor


def test_cross_lead_sources_are_always_another_lead():
    src = cross_lead_sources(64, 12, torch.device("cpu"))
    assert src.shape == (64, 12) and bool((src != torch.arange(12)).all())
    assert set(src.unique().tolist()) == set(range(12))
    assert torch.equal(cross_lead_sources(5, 2, torch.device("cpu")), torch.tensor([[1, 0]] * 5))


def test_cross_lead_loss_decodes_each_lead_from_the_other_leads_embedding():
    """With two leads the source is always the other lead: lead 0 is drawn from lead 1's
    embedding and vice versa, and the gradient reaches the decoder and both embeddings."""
    m = create_model("lead_mae", **{**SMALL, "input_shape": (2, 60)})
    patches = m.patchify(_batch(b=4, leads=2))
    emb = torch.randn(4, 2, 16, requires_grad=True)
    swapped = m._decode_leads(emb.flip(1), [0, 1])
    want = ((swapped - patches) ** 2).mean()
    got = m.cross_lead_loss(patches, emb)
    assert torch.allclose(got, want)
    got.backward()
    assert bool((emb.grad.abs().sum(-1) > 0).all())
    assert m.decoders[0].out.weight.grad.abs().sum() > 0


def test_cross_lead_loss_equals_own_lead_error_when_the_embeddings_agree():
    m = create_model("lead_mae", **SMALL)
    patches = m.patchify(_batch(b=3))
    emb = torch.randn(3, 1, 16).expand(3, 12, 16)  # every lead has the same embedding
    own = ((m._decode_leads(emb, list(range(12))) - patches) ** 2).mean()
    assert torch.allclose(m.cross_lead_loss(patches, emb), own)


def test_loss_adds_the_cross_term_with_its_weight():
    m = create_model("lead_mae", **{**SMALL, "cross_lead_weight": 2.0, "recon_floor": 0.5})
    terms = m.loss(_batch(), epoch=10)  # w_align 1, w_recon floored at 0.5
    want = terms["align"] + 0.5 * (terms["recon"] + 2.0 * terms["cross"])
    assert torch.allclose(terms["total"], want)
    assert "cross" not in create_model("lead_mae", **SMALL).loss(_batch())  # the paper's loss


def test_input_rms_is_fitted_once_in_training_and_decode_returns_input_units():
    x = _batch()
    m = create_model("lead_mae", **SMALL)
    m.eval().loss(x)
    assert float(m.input_rms) == 0  # validation never fits it
    m.train().loss(x)
    rms = float(x.pow(2).mean().sqrt())
    assert float(m.input_rms) == pytest.approx(rms)
    m.loss(3 * x)
    assert float(m.input_rms) == pytest.approx(rms)  # fitted once, then fixed
    m.eval()
    with torch.no_grad():
        # the encoder sees x / rms: scaling the input and the buffer together changes nothing
        z = m.encode(x).mean
        m.input_rms.mul_(10.0)
        assert torch.allclose(m.encode(10 * x).mean, z, atol=1e-5)
        # patchify divides by the scale and unpatchify multiplies back: a round trip
        assert torch.allclose(m.unpatchify(m.patchify(x)), x, atol=1e-6)
        assert torch.allclose(m.patchify(x).abs().amax(), (x / m.input_rms).abs().amax())
        # decode redraws in input units: the decoder's normalised output times the scale
        raw = m._decode_leads(z[:, None].expand(-1, 12, -1), list(range(12))).flatten(2)[..., :60]
        assert torch.allclose(m.decode(z), raw * m.input_rms, atol=1e-6)
