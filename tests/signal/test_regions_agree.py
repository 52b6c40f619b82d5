"""One definition of the P, QRS, ST and T regions: every view derives the same sample bounds.

On a real PTB-XL record (ecg_id 1, 500 Hz), the Data view's shading, the saliency region
sums, the per-wave reconstruction error, the whole-signal regions of signal models and the
wave-weighted loss are probed sample by sample and must give back the bounds of
:func:`ecgcore.signal.regions.region_bounds`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.evaluate.reconstruction import reconstruction_metrics
from ecgcore.explain.saliency import region_attribution
from ecgcore.explain.signal_regions import signal_region_masks
from ecgcore.io import read_wfdb
from ecgcore.models.losses import wave_weight_mask
from ecgcore.signal.pipeline import process_record
from ecgcore.signal.regions import (
    REGIONS,
    ST_LEVEL_MS,
    fiducial_array,
    region_bounds,
    st_level_index,
)
from ecgcore.viz import median_beat_figure


@pytest.fixture(scope="module")
def record(ptbxl500):
    beat = process_record(read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr"))
    fid = beat.analysis_fiducials
    assert fid.p_on is not None and fid.t_peak is not None and fid.t_off is not None
    return beat, fid_row(fid), beat.analysis_median.shape[-1]


def fid_row(fid) -> np.ndarray:
    return fiducial_array(fid)[0]


def runs(member: np.ndarray) -> tuple[int, int] | None:
    """[start, stop) of the one contiguous run of True samples (None if none)."""
    idx = np.flatnonzero(member)
    if idx.size == 0:
        return None
    assert np.all(np.diff(idx) == 1), "a region must be one contiguous run"
    return int(idx[0]), int(idx[-1]) + 1


def test_regions_of_a_real_record_are_the_expected_ones(record):
    beat, row, width = record
    b = region_bounds(row, width)
    f = beat.analysis_fiducials
    assert b["QRS"] == (f.qrs_on, f.qrs_off + 1)
    mid = (f.qrs_off + f.t_peak) // 2
    assert b["ST"] == (f.qrs_off + 1, mid) and b["T"] == (mid, f.t_off + 1)
    assert b["P"] == (f.p_on, min(f.p_off + 1, f.qrs_on))


def test_data_view_shading_has_the_region_bounds(record):
    beat, row, width = record
    f = beat.analysis_fiducials
    fig = median_beat_figure(beat.analysis_median, beat.fs, beat.leads, f)
    ms = 1000.0 / beat.fs
    expected = region_bounds(row, width)
    for wave in REGIONS:
        shape = next(s for s in fig.layout.shapes if s.name == f"{wave}:V2")
        back = (shape.x0 / ms + f.r + 0.5, shape.x1 / ms + f.r + 0.5)
        assert back == pytest.approx(expected[wave]), wave


def test_saliency_and_per_wave_error_use_the_same_samples(record):
    beat, row, width = record
    expected = region_bounds(row, width)
    probe = np.eye(width)[:, None, :]  # record t: one unit of attribution / error at sample t
    fids = np.repeat(row[None], width, axis=0)
    sums = region_attribution(probe, fids, leads=["II"])
    recon = reconstruction_metrics(np.zeros_like(probe), probe, fids, beat.fs, leads=["II"])
    for wave in REGIONS:
        assert runs(sums[wave].to_numpy() > 0) == expected[wave], wave
        assert runs(recon["per_record"][f"mae_{wave}"] > 0) == expected[wave], wave


def test_whole_signal_regions_are_the_median_regions_at_each_beat(record):
    beat, row, _ = record
    r_med = int(row[0])
    peaks = np.asarray(beat.rpeaks)
    k = peaks.size // 2
    masks = signal_region_masks(row, [peaks], beat.signal.shape[-1])
    shifted = region_bounds(row - r_med + peaks[k], beat.signal.shape[-1])
    lo, hi = (peaks[k - 1] + peaks[k] + 1) // 2, (peaks[k] + peaks[k + 1] + 1) // 2
    for wave in REGIONS:
        member = masks[wave][0].copy()
        member[:lo] = member[hi:] = False  # this beat's span only
        assert runs(member) == shifted[wave], wave


def test_wave_weighted_loss_weights_the_same_regions(record):
    _, row, width = record
    b = region_bounds(row, width)
    k = {"p_on": 3, "p_off": 4, "qrs_on": 1, "qrs_off": 2, "t_off": 6}
    five = torch.tensor([[row[k[name]] for name in ("p_on", "p_off", "qrs_on", "qrs_off",
                                                    "t_off")]]).long()
    w = wave_weight_mask(five, width, theta_p=2.0, theta_qrs=3.0, theta_t=5.0)[0].numpy()
    assert runs(w == 2.0) == b["P"]
    assert runs(w == 3.0) == b["QRS"]
    assert runs(w == 5.0) == (b["ST"][0], b["T"][1])  # the loss's ST-T region: ST ∪ T


def test_st_level_point_is_j_plus_60_ms():
    assert ST_LEVEL_MS == 60.0
    assert st_level_index(300, 500.0) == 330
    assert st_level_index(30, 100.0) == 36
