"""P/QRS/ST/T regions over whole 10-s signals (median-beat fiducials placed at every beat):
a hand-made two-beat case, the partition, and real demo records."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.data.store import ECGCache
from ecgcore.explain.saliency import region_attribution
from ecgcore.explain.signal_regions import beat_spans, signal_region_masks, signal_rpeaks

REGIONS = ["P", "QRS", "ST", "T", "other"]
# median window: r, qrs_on, qrs_off, p_on, p_off, t_peak, t_off
FID = np.array([[20, 15, 25, 5, 10, 40, 50]], float)


def test_two_beats_by_hand():
    # R peaks at 30 and 80 of 100 samples: offsets +10 and +60 from the median's R (20);
    # beat 0 owns [0, 55), beat 1 [55, 100) (the midpoint 55).
    masks = signal_region_masks(FID, [np.array([30, 80])], 100)
    idx = {name: np.flatnonzero(m[0]).tolist() for name, m in masks.items()}
    assert idx["P"] == [*range(15, 21), *range(65, 71)]
    assert idx["QRS"] == [*range(25, 36), *range(75, 86)]
    # ST: J+1 .. the midpoint between QRS offset and T peak (42 and 92), exclusive
    assert idx["ST"] == [*range(36, 42), *range(86, 92)]
    # T: the midpoint to T end (60 and 110), clipped to beat 0's span and to the signal
    assert idx["T"] == [*range(42, 55), *range(92, 100)]

    # an attribution equal to the sample index on one lead: sums by hand
    a = np.zeros((1, 2, 100))
    a[0, 1] = np.arange(100)
    tab = region_attribution(a, FID, ["I", "II"], rpeaks=[np.array([30, 80])]).iloc[0]
    assert tab["P"] == 6 * 17.5 + 6 * 67.5 == 510
    assert tab["QRS"] == 11 * 30 + 11 * 80 == 1210
    assert tab["ST"] == 6 * 38.5 + 6 * 88.5 == 762
    assert tab["T"] == 13 * 48 + 8 * 95.5 == 1388
    assert tab["total"] == 4950 and tab["other"] == 4950 - 510 - 1210 - 762 - 1388
    assert tab["lead_I"] == 0 and tab["lead_II"] == 4950 and tab["QRS:II"] == 1210


def test_neighbouring_beats_never_overlap_and_edges_clip():
    # RR of 30 samples: beat 0's T (42..60) would run into beat 1's P (45..50)
    masks = signal_region_masks(FID, [np.array([30, 60])], 100)
    assert beat_spans([30, 60], 100).tolist() == [[0, 45], [45, 100]]
    assert np.flatnonzero(masks["T"][0]).tolist() == [*range(42, 45), *range(72, 91)]
    assert np.flatnonzero(masks["P"][0]).tolist() == [*range(15, 21), *range(45, 51)]
    # a beat at the signal's start loses what falls before sample 0
    edge = signal_region_masks(FID, [np.array([8])], 100)
    assert np.flatnonzero(edge["QRS"][0]).tolist() == list(range(3, 14))
    assert not edge["P"][0].any()  # P at -7 .. -2
    # no R fiducial, or no beat: all "other"
    none = signal_region_masks(np.vstack([FID, FID]) * [[np.nan, 1, 1, 1, 1, 1, 1], [1] * 7],
                               [np.array([30, 80]), np.array([], dtype=int)], 100)
    assert none["other"].all()
    with pytest.raises(ValueError, match="2 R-peak lists for 1 fiducial rows"):
        signal_region_masks(FID, [np.array([30]), np.array([60])], 100)


def test_regions_and_leads_add_up_to_the_total_on_random_maps():
    rng = np.random.default_rng(0)
    fid = np.array([[20, 15, 25, 5, 10, 40, 50], [20, 16, 24, np.nan, np.nan, 38, 48]], float)
    peaks = [np.array([12, 55, 97, 140, 186]), np.array([30, 110, 190])]
    a = rng.normal(size=(2, 3, 200))
    for absolute in (False, True):
        tab = region_attribution(a, fid, ["I", "II", "V1"], absolute, rpeaks=peaks)
        assert np.allclose(tab[REGIONS].sum(axis=1), tab["total"])
        assert np.allclose(tab[["lead_I", "lead_II", "lead_V1"]].sum(axis=1), tab["total"])
        assert tab.loc[1, "P"] == 0  # no P wave in the second record's median
    median_cols = region_attribution(a[:, :, :60], fid, ["I", "II", "V1"]).columns
    assert list(tab.columns) == list(median_cols)  # the same table as median-beat models
    masks = signal_region_masks(fid, peaks, 200)
    assert (np.sum([masks[r] for r in REGIONS], axis=0) == 1).all()  # a partition


def test_demo_records_qrs_masks_cover_the_detected_r_peaks(family_cache):
    cache = ECGCache(family_cache)
    signals, fid = cache.array("signals"), np.asarray(cache.fiducials)
    peaks = signal_rpeaks(signals, cache.fs)
    masks = signal_region_masks(fid, peaks, signals.shape[-1])
    rr_ms = [np.diff(r) * 1000.0 / cache.fs for r in peaks]
    # the pipeline's own R peaks again: its RR mean and SD (records table) to float precision
    assert np.allclose([rr.mean() for rr in rr_ms], cache.records["rr_mean_ms"], atol=1e-6)
    assert np.allclose([rr.std(ddof=1) for rr in rr_ms], cache.records["rr_sd_ms"], atol=1e-6)
    for i, r in enumerate(peaks):
        assert masks["QRS"][i, r].all(), (cache.records["record_id"].iloc[i], r)
        width = fid[i, 2] - fid[i, 1] + 1  # qrs_off - qrs_on + 1 samples per beat
        assert masks["QRS"][i].sum() <= len(r) * width
        assert masks["QRS"][i].sum() >= (len(r) - 2) * width  # only edge beats may be cut
    has_p = np.isfinite(fid[:, 3])
    assert masks["P"][has_p].any(axis=1).all() and not masks["P"][~has_p].any()
