"""Saliency region sums (hand case and every method) and latent counterfactuals."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ecgcore.explain.counterfactual import latent_counterfactual
from ecgcore.explain.saliency import (
    METHODS,
    attribute,
    class_means,
    region_attribution,
    saliency_summary,
)
from ecgcore.signal.regions import region_masks

LEADS = ["I", "II", "V1"]
# r, qrs_on, qrs_off, p_on, p_off, t_peak, t_off in a 60-sample window
FID = np.array([[20, 15, 25, 5, 10, 40, 50], [20, 16, 24, np.nan, np.nan, 38, 48]], float)


def beats(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3, 60)).astype(np.float32)


def test_linear_predictor_attributions_by_hand():
    x = beats()
    qrs = torch.as_tensor(region_masks(FID, 60)["QRS"], dtype=torch.float32)  # [2, 60]
    w = torch.zeros(2, 3, 60)
    w[:, 1, :] = qrs  # the prediction reads lead II during QRS only

    def f(xx: torch.Tensor) -> torch.Tensor:  # captum stacks IG steps step-major
        return (xx * w.repeat(len(xx) // len(w), 1, 1)).sum(dim=(1, 2))

    ig = region_attribution(attribute(f, x, "integrated_gradients"), FID, LEADS)
    # Linear model, zero baseline: IG = w · x exactly.
    expected = (x[:, 1, :] * qrs.numpy()).sum(axis=1)
    assert ig["QRS"].to_numpy() == pytest.approx(expected, rel=1e-5)
    assert ig["QRS:II"].to_numpy() == pytest.approx(expected, rel=1e-5)
    for col in ("P", "ST", "T", "other", "lead_I", "lead_V1"):
        assert np.allclose(ig[col], 0.0, atol=1e-6), col
    assert ig["total"].to_numpy() == pytest.approx(f(torch.as_tensor(x)).numpy(), rel=1e-5)
    sal = region_attribution(attribute(f, x, "saliency"), FID, LEADS)
    assert sal["QRS"].tolist() == [11.0, 9.0]  # |gradient| = 1 on 11 and 9 QRS samples


@pytest.mark.parametrize("method", METHODS)
def test_regions_plus_other_add_up_to_the_total(method):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(180, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 2))
    x = beats(3, seed=1)
    fid = np.vstack([FID, FID[:1]])
    attr = attribute(net, x, method, target=1, occlusion_window=10)
    assert attr.shape == x.shape
    tab = region_attribution(attr, fid, LEADS)
    parts = tab[["P", "QRS", "ST", "T", "other"]].sum(axis=1)
    assert np.allclose(parts, tab["total"], rtol=1e-9, atol=1e-12)
    leads = tab[[f"lead_{lead}" for lead in LEADS]].sum(axis=1)
    assert np.allclose(leads, tab["total"], rtol=1e-9, atol=1e-12)
    assert np.allclose(attr.sum(axis=(1, 2)), tab["total"])
    absolute = region_attribution(attr, fid, LEADS, absolute=True)
    assert (absolute["total"] >= tab["total"].abs() - 1e-12).all()
    if method == "integrated_gradients":  # completeness: total = f(x) − f(baseline)
        with torch.no_grad():
            out = net(torch.as_tensor(x))[:, 1] - net(torch.zeros_like(torch.as_tensor(x)))[:, 1]
        assert tab["total"].to_numpy() == pytest.approx(out.numpy(), rel=0.02, abs=1e-4)


def test_task_head_and_latent_unit_predictors_and_class_means():
    from ecgcore.models import create_model

    model = create_model("task_vae", input_shape=(3, 60), latent_dim=4, n_extra=0,
                         backbone={"kind": "small"}).eval()
    x = beats(4, seed=2)
    fid = np.vstack([FID, FID])
    out = saliency_summary(lambda xx: model.predict_proba(xx)[:, 0], x, fid,
                           methods=("integrated_gradients", "gradient_shap"),
                           labels=["MI", "NORM", "MI", "NORM"], leads=LEADS, n_steps=16)
    by_class = out["integrated_gradients"]["by_class"]
    assert list(by_class.index) == ["MI", "NORM"]
    regions = out["integrated_gradients"]["regions"]
    assert by_class.loc["MI", "QRS"] == pytest.approx(regions["QRS"].iloc[[0, 2]].mean())
    # The module itself (its ModelOutput logits) and a latent unit are predictors too.
    a = attribute(model, x, "saliency", target=0)
    b = attribute(lambda xx: model.encode(xx).mean[:, 2], x, "saliency")
    assert a.shape == b.shape == x.shape and np.abs(b).sum() > 0
    assert class_means(regions, np.array([0, 0, 1, 1])).shape[0] == 2


class PCATask(torch.nn.Module):
    """A linear 'task model' over PCA codes: the head reads the first k principal scores."""

    def __init__(self, pca, weights: list[float], bias: float) -> None:
        super().__init__()
        self.pca = pca
        k = len(weights)
        self.head = torch.nn.Linear(k, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([weights]))
            self.head.bias.fill_(bias)
        self.config = SimpleNamespace(task_latents=k, n_extra=0)

    def encode(self, x):
        return self.pca.encode(x)

    def decode(self, z):
        return self.pca.decode(z)

    def task_logits(self, mean, extra):
        return self.head(mean[:, : self.config.task_latents])


def test_counterfactual_crosses_the_threshold_along_the_head(demo_pca, demo_medians, demo_cache):
    from ecgcore.explain._model_io import encode_means

    z = encode_means(demo_pca, demo_medians)
    sd0 = z[:, 0].std()
    model = PCATask(demo_pca, [1.0 / sd0, 0.0], bias=-1.0)  # logit = z0/σ0 − 1
    i = int(np.argmin(np.abs(z[:, 0])))  # a record near the cohort mean: p ≈ 0.27
    cf = latent_counterfactual(model, demo_medians[i], fs=demo_cache.fs, r_index=200, z_cohort=z)
    assert cf.prob_original < 0.5 < cf.prob_counterfactual
    step = cf.z_counterfactual - cf.z_original
    assert np.allclose(step[1:], 0.0) and step[0] > 0  # along the head's weights only
    # exact: the crossing is at logit 0, plus the 0.1 margin
    assert cf.distance == pytest.approx((1.0 + 0.1 - z[i, 0] / sd0) * sd0, rel=1e-4)
    assert cf.distance_sd == pytest.approx(cf.distance / sd0, rel=1e-4)
    assert np.all(np.diff(cf.path["probability"]) > 0)
    assert cf.beat_original.shape == cf.beat_counterfactual.shape == (12, 400)
    t = cf.measurements
    assert {"before", "after", "change", "changed"} <= set(t.columns)
    assert t["changed"].any() and cf.changes
    assert t.loc["r_amp_II_uv", "change"] > 0  # PC0 raises R in II (see the annotation test)


def test_counterfactual_on_a_split_task_vae_moves_only_task_latents():
    from ecgcore.models import create_model

    model = create_model("split_task_vae", input_shape=(3, 60), backbone={"kind": "small"},
                         latent_dim=6, n_task_latents=2).eval()
    x = beats(1, seed=3)[0]
    cf = latent_counterfactual(model, x, fs=500.0, r_index=30, extra=[800.0, 40.0],
                        leads=["X", "Y", "Z"], threshold=0.3)
    assert (cf.prob_original - 0.3) * (cf.prob_counterfactual - 0.3) < 0  # crossed
    assert np.allclose((cf.z_counterfactual - cf.z_original)[2:], 0.0)
    assert len(cf.path) == 11
    with pytest.raises(ValueError, match="extra"):
        latent_counterfactual(model, x, fs=500.0, r_index=30, leads=["X", "Y", "Z"])


class SequenceClassifier(torch.nn.Module):
    """Like ecg_sl: forward gives an embedding tuple, predict_logits the task logits."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(180, 2)

    def forward(self, x):
        pooled = x.mean(dim=1).flatten(1)  # [B, beats, 3, 60] -> [B, 180]
        return pooled, torch.ones(x.shape[:2])

    def predict_logits(self, x, extra=None, mask=None):
        return self.lin(self(x)[0])


def test_predict_logits_modules_and_beat_sequences():
    torch.manual_seed(0)
    model = SequenceClassifier()
    x = np.random.default_rng(4).normal(size=(2, 4, 3, 60)).astype(np.float32)
    attr = attribute(model, x, "integrated_gradients", target=1, n_steps=8)
    assert attr.shape == x.shape
    with torch.no_grad():
        out = model.predict_logits(torch.as_tensor(x))[:, 1] - model.predict_logits(
            torch.zeros_like(torch.as_tensor(x)))[:, 1]
    tab = region_attribution(attr, FID, LEADS)  # beats share the median's regions
    assert tab["total"].to_numpy() == pytest.approx(out.numpy(), rel=1e-4, abs=1e-6)
    parts = tab[["P", "QRS", "ST", "T", "other"]].sum(axis=1)
    assert np.allclose(parts, tab["total"])
    occ = attribute(model, x, "occlusion", target=0, occlusion_window=10)
    assert occ.shape == x.shape


def test_package_level_names():
    import ecgcore.evaluate as ev
    import ecgcore.explain as ex

    assert ev.delong_auc is not None and ev.comparison_table is not None
    assert ex.latent_counterfactual is not None and ex.project is not None
    with pytest.raises(AttributeError):
        ev.no_such_name  # noqa: B018
