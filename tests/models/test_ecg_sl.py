import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import LatentModel, create_model, model_from_config
from trainer.arrays import fit_arrays

SMALL = {"input_shape": (3, 64), "beat_backbone": {"kind": "small", "width": 0.25}, "dim": 16,
         "heads": 2, "depth": 1, "head_hidden": 8, "n_outputs": 2, "dropout": 0.0}


def _batch(b=4, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, 64)
    amp = torch.randn(b, n, 3, 1, generator=g)
    x = amp * torch.exp(-((t - 0.5) ** 2) / 0.01) + 0.05 * torch.randn(b, n, 3, 64, generator=g)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[0, 3:] = False
    mask[1, 1:] = False  # a single-beat record
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, float("nan")], [0.0, 0.0]])[:b]
    return x, mask, y


def test_registered_with_sequences_and_stages():
    m = create_model("ecg_sl", **SMALL)
    assert m.config.input_array == "sequences" and m.latent_dim == 16
    assert [s["name"] for s in m.default_stages()] == ["beat_ae", "masked", "finetune"]
    assert [s["uses_labels"] for s in m.default_stages()] == [False, False, True]
    with pytest.raises(ValueError, match="known: beat_ae"):
        m.set_stage("pretrain")
    with pytest.raises(NotImplementedError):
        m.decode(torch.zeros(1, 16))


@pytest.mark.parametrize("stage", ["beat_ae", "masked", "finetune"])
def test_each_stage_loss_finite_and_decreasing(stage):
    x, mask, y = _batch()
    m = create_model("ecg_sl", **SMALL)
    m.set_stage(stage)
    fid = {"p_on": torch.zeros(4)}  # the trainer passes fiducials to every model
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=3e-3)

    def eval_loss():
        torch.manual_seed(1)  # same masked beats each time
        m.eval()
        with torch.no_grad():
            return float(m.loss(x, mask=mask, target=y, fiducials=fid, extra=None)["total"])

    before = eval_loss()
    assert torch.isfinite(torch.tensor(before))
    m.train()
    for step in range(15):
        terms = m.loss(x, mask=mask, target=y, step=step, epoch=0)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert eval_loss() < before


def test_finetune_needs_target():
    x, mask, _ = _batch()
    m = create_model("ecg_sl", **SMALL)
    m.set_stage("finetune")
    with pytest.raises(ValueError, match="target"):
        m.loss(x, mask=mask)


def test_attention_sums_to_one_over_real_beats_and_padding_is_ignored():
    x, mask, _ = _batch()
    m = create_model("ecg_sl", **SMALL).eval()
    with torch.no_grad():
        logits, w = m.predict_logits(x, mask=mask, return_attention=True)
        z = m.encode(x, mask).mean
        x2 = x.clone()
        x2[~mask] = 1e3 * torch.randn_like(x2[~mask])  # garbage in the padded beats
        logits2, w2 = m.predict_logits(x2, mask=mask, return_attention=True)
        z2 = m.encode(x2, mask).mean
        assert torch.equal(m.attention(x, mask), w)
        m.set_stage("beat_ae")
        assert torch.equal(m.loss(x, mask=mask)["total"], m.loss(x2, mask=mask)["total"])
    assert logits.shape == (4, 2) and w.shape == (4, 5) and z.shape == (4, 16)
    assert torch.allclose(w.sum(1), torch.ones(4))
    assert bool((w[~mask] == 0).all()) and bool((w[mask] > 0).all())
    assert torch.equal(w, w2) and torch.equal(z, z2) and torch.equal(logits, logits2)


def test_masked_stage_hides_real_beats_only():
    _, mask, _ = _batch()
    m = create_model("ecg_sl", **SMALL)
    hidden = m.choose_masked(mask)
    assert not bool((hidden & ~mask).any())
    assert hidden[1].sum() == 0  # one beat alone: no context to predict it from
    assert bool((hidden.sum(1)[[0, 2, 3]] >= 1).all())


def test_frozen_backbone_gets_no_grads():
    x, mask, y = _batch()
    m = create_model("ecg_sl", **SMALL)
    m.set_stage("finetune")
    m.freeze_backbone()
    m.train()
    assert not m.transformer.training and not m.beat_encoder.training and m.head.training
    m.loss(x, mask=mask, target=y)["total"].backward()
    assert all(p.grad is None for p in m.backbone_parameters())
    assert all(p.grad is not None for p in m.head.parameters())
    m.unfreeze_backbone()
    assert all(p.requires_grad for p in m.parameters())


def test_no_real_beat_is_a_clear_error():
    x, mask, _ = _batch()
    mask[2] = False
    with pytest.raises(ValueError, match="no real beat"):
        create_model("ecg_sl", **SMALL).encode(x, mask)


def test_safetensors_round_trip_is_bit_identical(tmp_path):
    x, mask, _ = _batch()
    m = create_model("ecg_sl", **SMALL)
    m.set_stage("masked")
    m.loss(x, mask=mask)["total"].backward()  # touch batch-norm statistics
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    r.eval()
    with torch.no_grad():
        assert torch.equal(m.encode(x, mask).mean, r.encode(x, mask).mean)
        assert torch.equal(m.predict_logits(x, mask=mask), r.predict_logits(x, mask=mask))
        beats = m.encode_beats(x, mask)
        assert m.decode_beats(beats).shape == x.shape


def test_fit_runs_every_stage_and_speaks_the_protocol():
    x, mask, y = _batch()
    m = create_model("ecg_sl", **SMALL)
    assert isinstance(m, LatentModel)
    history = fit_arrays(m, x, mask=mask, target=y, epochs=1, batch_size=2)
    assert list(history) == ["beat_ae", "masked", "finetune"] and not m.training
    assert m.stage == "finetune"
    unlabelled = create_model("ecg_sl", **SMALL)
    assert list(fit_arrays(unlabelled, x, mask=mask, epochs=1)) == ["beat_ae", "masked"]
