"""Regions and reconstruction metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.evaluate.reconstruction import reconstruction_metrics
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.regions import region_bounds, region_masks

NAN = np.nan
# r, qrs_on, qrs_off, p_on, p_off, t_peak, t_off  (cache order)
FID = np.array([
    [5, 4, 6, 1, 2, 10, 11],        # P {1,2}, QRS {4,5,6}, ST {7}, T {8..11}
    [5, 4, 6, NAN, NAN, 10, NAN],   # no P, no T end: QRS and ST only
])


def test_regions_follow_the_documented_definition():
    b = region_bounds(FID[0], 12)
    # ST ends at the midpoint m = (qrs_off + t_peak) // 2 = 8, where T starts.
    assert b == {"P": (1, 3), "QRS": (4, 7), "ST": (7, 8), "T": (8, 12)}
    b1 = region_bounds(FID[1], 12)
    assert b1["P"] is None and b1["T"] is None and b1["ST"] == (7, 8)
    masks = region_masks(FID, 12)
    stacked = np.stack([masks[k] for k in ("P", "QRS", "ST", "T", "other")]).sum(axis=0)
    assert (stacked == 1).all()  # a partition: every sample in exactly one region
    assert masks["other"][0].nonzero()[0].tolist() == [0, 3]
    # Fiducials objects give the same masks as the array.
    objs = [Fiducials(fs=1000, r=5, qrs_on=4, qrs_off=6, p_on=1, p_off=2, t_peak=10, t_off=11)]
    assert (region_masks(objs, 12)["T"] == masks["T"][:1]).all()


def test_p_wave_is_cut_at_qrs_onset():
    fid = np.array([5, 4, 6, 1, 5, 10, 11], float)  # P offset overlapping QRS
    assert region_bounds(fid, 12)["P"] == (1, 4)


def test_mse_mae_per_lead_and_wave_by_hand():
    x = np.zeros((2, 2, 12))
    err0 = np.zeros(12)
    err0[[1, 2]] = 1      # P
    err0[[4, 5, 6]] = 2   # QRS
    err0[7] = 3           # ST
    err0[8:12] = 4        # T
    x_hat = x.copy()
    x_hat[0, 0], x_hat[0, 1] = err0, -err0
    x_hat[1, 0, 0] = 5    # record 1: one error of 5 µV in the baseline of lead I
    m = reconstruction_metrics(x, x_hat, FID, fs=1000, leads=["I", "II"])

    sq0 = 2 * (2 * 1 + 3 * 4 + 9 + 4 * 16)  # 174 µV² over 24 samples
    ab0 = 2 * (2 * 1 + 3 * 2 + 3 + 4 * 4)   # 54 µV
    assert m["per_record"]["mse"] == pytest.approx([sq0 / 24, 25 / 24])
    assert m["per_record"]["mae"] == pytest.approx([ab0 / 24, 5 / 24])
    assert m["mse"] == pytest.approx((sq0 / 24 + 25 / 24) / 2)
    assert m["mae"] == pytest.approx((ab0 / 24 + 5 / 24) / 2)
    assert m["mse_per_lead"] == pytest.approx({"I": (87 + 25) / 24, "II": 87 / 24})
    assert m["mae_per_lead"] == pytest.approx({"I": (27 + 5) / 24, "II": 27 / 24})
    # Waves: record 1 has no P and no T, so they come from record 0 alone.
    assert m["mse_per_wave"] == pytest.approx({"P": 1, "QRS": (4 + 0) / 2, "ST": (9 + 0) / 2,
                                               "T": 16})
    assert m["mae_per_wave"] == pytest.approx({"P": 1, "QRS": 1, "ST": 1.5, "T": 4})
    assert m["n_per_wave"] == {"P": 1, "QRS": 2, "ST": 2, "T": 1}
    assert np.isnan(m["per_record"]["mae_P"][1]) and np.isnan(m["per_record"]["mae_T"][1])
    # Chunked evaluation (memory-flat for whole datasets) gives the same numbers.
    one = reconstruction_metrics(x, x_hat, FID, fs=1000, leads=["I", "II"], chunk=1)
    for key in ("mse", "mae", "mse_per_lead", "mae_per_wave", "n_per_wave"):
        assert one[key] == pytest.approx(m[key], nan_ok=True), key


def test_correlation_per_lead_then_averaged():
    x = np.tile(np.array([1.0, 2, 3, 4]), (2, 2, 1))
    x_hat = np.array([
        [[2, 4, 6, 8], [4, 3, 2, 1]],   # r = 1 and r = -1: record mean 0
        [[1, 3, 2, 4], [2, 2, 2, 2]],   # r = 0.8; a flat lead has no r (left out)
    ], float)
    fid = np.full((2, 7), np.nan)
    m = reconstruction_metrics(x, x_hat, fid, fs=500, leads=["I", "II"])
    assert m["per_record"]["correlation"] == pytest.approx([0.0, 0.8])
    assert m["correlation"] == pytest.approx(0.4)
    assert m["correlation_per_lead"] == pytest.approx({"I": 0.9, "II": -1.0})


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="N, leads, samples"):
        reconstruction_metrics(np.zeros((2, 3)), np.zeros((2, 3)), FID, 500, ["I"])
    with pytest.raises(ValueError, match="fiducial rows"):
        reconstruction_metrics(np.zeros((3, 2, 12)), np.zeros((3, 2, 12)), FID, 500, ["I", "II"])
