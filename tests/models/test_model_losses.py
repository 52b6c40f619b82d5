import math

import numpy as np
import pytest
import torch

from ecgcore.models import kl_divergence, task_bce, vae_loss, wave_weight_mask, weighted_error
from ecgcore.signal.fiducials import Fiducials

#                 0   1   2   3   4   5   6   7   8   9  10  11
HAND = torch.tensor([1, 20, 20, 1, 10, 10, 10, 15, 15, 15, 1, 1], dtype=torch.float32)
NO_P = torch.tensor([1, 1, 1, 1, 10, 10, 10, 15, 15, 15, 1, 1], dtype=torch.float32)


def test_wave_mask_hand_computed_from_index_tensors():
    # beat 0: P 1..2, QRS 4..6, T (6, 9]; beat 1: no P wave (-1)
    p_on, p_off = torch.tensor([1, -1]), torch.tensor([2, -1])
    qrs_on, qrs_off, t_off = torch.tensor([4, 4]), torch.tensor([6, 6]), torch.tensor([9, 9])
    w = wave_weight_mask((p_on, p_off, qrs_on, qrs_off, t_off), 12)
    assert w.shape == (2, 12)
    torch.testing.assert_close(w[0], HAND)
    torch.testing.assert_close(w[1], NO_P)


def test_wave_mask_accepts_fiducial_records_arrays_and_mappings():
    beats = [
        Fiducials(fs=500.0, r=5, qrs_on=4, qrs_off=6, p_on=1, p_off=2, t_off=9),
        Fiducials(fs=500.0, r=5, qrs_on=4, qrs_off=6, t_off=9),  # p_on/p_off None
        None,  # no fiducials at all: weight 1 everywhere
    ]
    w = wave_weight_mask(beats, 12)
    torch.testing.assert_close(w[0], HAND)
    torch.testing.assert_close(w[1], NO_P)
    torch.testing.assert_close(w[2], torch.ones(12))
    arr = np.array([[1, 2, 4, 6, 9], [np.nan, np.nan, 4, 6, 9]])
    torch.testing.assert_close(wave_weight_mask(arr, 12), torch.stack([HAND, NO_P]))
    mapping = {"p_on": [1], "p_off": [2], "qrs_on": [4], "qrs_off": [6], "t_off": [9]}
    mapping = {k: torch.tensor(v) for k, v in mapping.items()}
    torch.testing.assert_close(wave_weight_mask(mapping, 12)[0], HAND)


def test_wave_mask_custom_thetas_missing_t_and_clipping():
    f = torch.tensor([[0, 3, 5, 8, -1]])  # no T offset: T region stays 1
    w = wave_weight_mask(f, 10, theta_p=2.0, theta_qrs=3.0, theta_t=4.0)
    torch.testing.assert_close(
        w[0], torch.tensor([2, 2, 2, 2, 1, 3, 3, 3, 3, 1], dtype=torch.float32)
    )
    w = wave_weight_mask(torch.tensor([[-1, -1, 2, 4, 50]]), 8)  # T offset past the window
    torch.testing.assert_close(
        w[0], torch.tensor([1, 1, 10, 10, 10, 15, 15, 15], dtype=torch.float32)
    )


def test_weighted_error():
    x = torch.randn(2, 3, 12)
    x_hat = torch.randn(2, 3, 12)
    assert weighted_error(x, x_hat) == pytest.approx(float(((x - x_hat) ** 2).mean()))
    ones = torch.ones(2, 12)
    assert weighted_error(x, x_hat, ones) == pytest.approx(float(weighted_error(x, x_hat)))
    w = torch.stack([HAND, NO_P])
    expected = float((((x - x_hat) ** 2) * w[:, None, :]).mean())
    assert weighted_error(x, x_hat, w) == pytest.approx(expected)
    expected_sum = float((((x - x_hat) ** 2) * w[:, None, :]).sum() / 2)
    assert weighted_error(x, x_hat, w, reduction="sum") == pytest.approx(expected_sum)
    with pytest.raises(ValueError):
        weighted_error(x, x_hat[..., :5])
    l1 = float((((x - x_hat).abs()) * w[:, None, :]).sum() / 2)
    assert weighted_error(x, x_hat, w, reduction="sum", kind="l1") == pytest.approx(l1)
    with pytest.raises(ValueError, match="error kind"):
        weighted_error(x, x_hat, kind="l2")


def test_vae_loss_l1_is_the_laplace_likelihood():
    x, x_hat = torch.randn(4, 2, 10), torch.randn(4, 2, 10)
    mean, logvar = torch.randn(4, 3), torch.randn(4, 3)
    t = vae_loss(x, x_hat, mean, logvar, beta=2.0, sigma=0.5, recon_loss="l1")
    abs_err = float((x - x_hat).abs().flatten(1).sum(1).mean())
    assert float(t["recon"]) == pytest.approx(abs_err / 0.5)  # |e| / b, not / b²
    assert float(t["total"]) == pytest.approx(float(t["recon"] + 2.0 * t["kl"]))


def test_kl_divergence_closed_form():
    mean = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]])
    kl = kl_divergence(mean, logvar)
    # 0.5 * (mu^2 + s^2 - 1 - log s^2) per unit
    expected_row1 = 0.5 * (1 + 4 - 1 - math.log(4.0)) + 0.5 * 4
    torch.testing.assert_close(kl, torch.tensor([0.0, expected_row1]))


def test_task_bce_ignores_unlabelled():
    logits = torch.tensor([[0.0], [2.0], [-1.0]])
    target = torch.tensor([1.0, float("nan"), 0.0])
    expected = (math.log(2) + math.log(1 + math.e**-1)) / 2
    assert float(task_bce(logits, target)) == pytest.approx(expected)
    assert float(task_bce(logits, torch.full((3,), float("nan")))) == 0.0


def test_vae_loss_terms():
    x, x_hat = torch.randn(4, 2, 12), torch.randn(4, 2, 12)
    mean, logvar = torch.randn(4, 3), torch.randn(4, 3)
    logits, target = torch.randn(4, 1), torch.tensor([0.0, 1.0, 1.0, 0.0])
    terms = vae_loss(x, x_hat, mean, logvar, beta=2.5, logits=logits, target=target, gamma=500.0)
    assert set(terms) == {"recon", "kl", "beta", "task", "total"}
    assert float(terms["beta"]) == 2.5
    assert float(terms["recon"]) == pytest.approx(float(((x - x_hat) ** 2).sum() / 4))
    assert float(terms["kl"]) == pytest.approx(float(kl_divergence(mean, logvar).mean()))
    total = terms["recon"] + 2.5 * terms["kl"] + 500.0 * terms["task"]
    assert float(terms["total"]) == pytest.approx(float(total))
    det = vae_loss(x, x_hat, mean, None, beta=2.5)  # deterministic: no KL, no task
    assert float(det["kl"]) == 0.0 and float(det["task"]) == 0.0
    assert float(det["total"]) == pytest.approx(float(det["recon"]))
    with pytest.raises(ValueError, match="logits"):
        vae_loss(x, x_hat, target=target)


def test_vae_loss_sigma_divides_the_squared_error_only():
    x, x_hat = torch.randn(4, 2, 12), torch.randn(4, 2, 12)
    mean, logvar = torch.randn(4, 3), torch.randn(4, 3)
    plain = vae_loss(x, x_hat, mean, logvar, beta=4.0)
    sharp = vae_loss(x, x_hat, mean, logvar, beta=4.0, sigma=0.1)
    assert float(sharp["recon"]) == pytest.approx(100.0 * float(plain["recon"]), rel=1e-5)
    assert float(sharp["kl"]) == pytest.approx(float(plain["kl"]))
    assert float(sharp["total"]) == pytest.approx(float(sharp["recon"] + 4.0 * sharp["kl"]), rel=1e-5)

