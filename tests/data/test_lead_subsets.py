"""Lead subsets: any named leads of a cache, checked against the cache's leads before work."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb
from scipy import signal as sps

from ecgcore.data.cache import preprocess
from ecgcore.data.datasets import CachedDataset
from ecgcore.data.store import ECGCache
from ecgcore.leads import n_selected_leads, selected_leads


def test_selected_leads_rules():
    twelve = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    assert selected_leads("all", ("ECG",)) == ("ECG",)
    assert selected_leads(["ii", "v5"], twelve) == ("II", "V5")
    assert selected_leads("II, V5", twelve) == ("II", "V5") == selected_leads(("II", "V5"), twelve)
    assert selected_leads("xyz", twelve) == ("X", "Y", "Z")
    assert selected_leads(["ECG1"], ("ECG1", "ECG2")) == ("ECG1",)
    with pytest.raises(ValueError, match=r"Kors X, Y, Z need lead\(s\) I, II, V1, V2, V3, V4, V6, "
                                         r"absent from the leads V5"):
        selected_leads("xyz", ("V5",))
    with pytest.raises(ValueError, match=r"needs lead\(s\) V7, absent"):
        selected_leads(["V7"], twelve)
    assert [n_selected_leads(s) for s in ("all", "independent", "xyz", ["I"], "II,V5")] == [12, 8, 3, 1, 2]


def test_dataset_of_a_lead_subset(family_cache):
    cache = ECGCache(family_cache)
    full = CachedDataset(cache)[3]["x"].numpy()
    sub = CachedDataset(cache, leads=["II", "V5"])[3]["x"].numpy()
    np.testing.assert_array_equal(sub, full[[1, 10]])
    one = CachedDataset(cache, array="signals", leads="I")[0]["x"].numpy()
    np.testing.assert_array_equal(one, CachedDataset(cache, array="signals")[0]["x"].numpy()[:1])
    with pytest.raises(ValueError, match=r"demo60.*needs lead\(s\) ECG, absent"):
        CachedDataset(cache, leads=["ECG"])


def test_single_lead_cache(ptbxl500, tmp_path):
    """Three single-lead 'ECG' records at 300 Hz made from real PTB-XL lead I."""
    folder = tmp_path / "wearable"
    folder.mkdir()
    for i in (1, 2, 3):
        rec = wfdb.rdrecord(str(ptbxl500 / "records500" / "00000" / f"{i:05d}_hr"), channel_names=["I"])
        lead = sps.resample_poly(rec.p_signal[:, 0], 3, 5)
        wfdb.wrsamp(f"w{i}", fs=300, units=["mV"], sig_name=["ECG"], p_signal=lead[:, None],
                    fmt=["16"], adc_gain=[1000.0], baseline=[0], write_dir=str(folder))
    summary = preprocess(folder, tmp_path / "cache", workers=1, progress=False)
    assert summary.n_ok == 3, str(summary)
    cache = ECGCache(tmp_path / "cache")
    assert cache.leads == ("ECG",) and cache.median.shape == (3, 1, 400)
    assert CachedDataset(cache)[0]["x"].shape == (1, 400)
    assert CachedDataset(cache, leads=["ECG"])[0]["x"].shape == (1, 400)
    with pytest.raises(ValueError, match=r"'independent' needs lead\(s\) I, II, V1"):
        CachedDataset(cache, leads="independent")
