import pytest
import torch
from safetensors.torch import load_file, save_file

from ecgcore.models import create_model, model_from_config
from ecgcore.models.quantize import VectorQuantize, kmeans

SMALL = {"input_shape": (3, 64), "backbone": {"kind": "small", "width": 0.25}, "codebook_size": 16,
         "code_dim": 4, "n_tokens": 2}


def _beats(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, 64)
    amp = torch.randn(n, 3, 1, generator=g)
    return amp * torch.exp(-((t - 0.5) ** 2) / 0.01)


def test_quantizer_is_a_drop_in_layer_with_straight_through_gradients():
    vq = VectorQuantize(4, 8, kmeans_init=False).train()
    x = torch.randn(2, 5, 4, requires_grad=True)
    q, idx, loss = vq(x)
    assert q.shape == x.shape and idx.shape == (2, 5) and idx.dtype == torch.long and loss.ndim == 0
    (q.sum() + loss).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    vq.eval()
    with torch.no_grad():
        q, idx, _ = vq(x)
    assert torch.allclose(q, vq.codebook[idx])


def test_kmeans_init_on_the_first_training_batch():
    vq = VectorQuantize(2, 3, kmeans_init=True, dead_code_steps=0)
    assert not bool(vq.initted)
    centres = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    data = (centres[:, None] + 0.1 * torch.randn(3, 40, 2)).reshape(-1, 2)
    vq.eval()(data)
    assert not bool(vq.initted)  # evaluation never initialises
    vq.train()(data)
    assert bool(vq.initted)
    found = vq.codebook[torch.cdist(centres, vq.codebook).argmin(1)]
    assert torch.allclose(found, centres, atol=0.2)
    assert kmeans(torch.randn(3, 2), 5).shape == (5, 2)  # fewer points than codes


def test_dead_code_restart_revives_unused_codes():
    torch.manual_seed(0)
    vq = VectorQuantize(2, 8, kmeans_init=False, dead_code_steps=3, decay=0.9).train()
    with torch.no_grad():
        vq.embed[:4] = torch.randn(4, 2) * 0.1
        vq.embed[4:] = 100.0  # far from every input: never chosen
        vq.embed_avg.copy_(vq.embed)
    data = torch.randn(256, 2)
    for _ in range(2):
        _, idx, _ = vq(data)
        assert set(idx.unique().tolist()) <= {0, 1, 2, 3}
    assert bool((vq.steps_unused[4:] == 2).all())
    vq.usage_metrics(reset=True)
    _, idx, _ = vq(data)  # third unused batch: codes 4-7 are dead and restarted
    assert bool((vq.codebook[4:].abs() < 10).all())  # now at encoder outputs
    _, idx, _ = vq(data)
    assert {4, 5, 6, 7} <= set(idx.unique().tolist())  # and used
    assert vq.usage_metrics()["codes_used"] == 1.0
    # on demand, too
    with torch.no_grad():
        vq.embed[0] = 1e3
    assert vq.restart_dead_codes(data, dead=torch.arange(8) == 0) == 1
    assert vq.codebook[0].abs().max() < 10


def test_vq_vae_trains_and_reports_codebook_usage():
    x = _beats()
    m = create_model("vq_vae", **SMALL)
    assert m.config.input_array == "median" and m.latent_dim == 8
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)

    def recon():
        m.eval()
        with torch.no_grad():
            return float(m.loss(x)["recon"])

    m.train()
    m.loss(x)  # k-means initialisation on the first training batch
    m.epoch_metrics()
    before = recon()
    m.train()
    for step in range(25):
        terms = m.loss(x, step=step)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert {"recon", "vq", "batch_perplexity", "total"} <= set(terms)
    assert recon() < before
    metrics = m.epoch_metrics()
    assert set(metrics) == {"codebook_perplexity", "codebook_codes_used"}
    assert 1.0 <= metrics["codebook_perplexity"] <= 16 and 0 < metrics["codebook_codes_used"] <= 1
    assert m.epoch_metrics() == {}  # reset after reading


def test_encode_decode_and_indices():
    x = _beats(4)
    m = create_model("vq_vae", **SMALL)
    m.train()
    m.loss(x)
    m.eval()
    with torch.no_grad():
        x_hat, q, idx, _ = m(x)
        z = m.encode(x).mean
        assert z.shape == (4, 8) and torch.equal(z, q)
        assert torch.equal(m.decode(z), x_hat) and m.reconstruct(x).shape == x.shape
        assert torch.equal(m.encode_indices(x), idx) and idx.shape == (4, 2)
        assert torch.allclose(m.decode_indices(idx), x_hat, atol=1e-6)
    with pytest.raises(ValueError, match=r"z \[batch, 8\]"):
        m.decode(torch.zeros(2, 3))


def test_safetensors_round_trip_is_bit_identical(tmp_path):
    x = _beats(4)
    m = create_model("vq_vae", **SMALL)
    m.train()
    m.loss(x)
    m.eval()
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    r = model_from_config(m.config.model_dump(mode="json"))
    r.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    r.eval()
    assert bool(r.quantizer.initted)
    with torch.no_grad():
        assert torch.equal(m.encode(x).mean, r.encode(x).mean)
        assert torch.equal(m.reconstruct(x), r.reconstruct(x))
