"""A lead map in the dataset spec (``data.lead_map``, the app's "Lead names"): the cache is
built reading the folder's names through it, apart from the cache without it, and a model
whose leads the dataset lacks is refused by name (no lead derived or invented)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ecgcore.data.resolve import resolve_cache
from ecgcore.data.spec import DataConfig
from ecgcore.leads import STANDARD_LEADS
from ecgcore.preprocessing import Preprocessing, PreprocessingError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from single_lead_data import make_single_lead_folder


@pytest.fixture(scope="module")
def folder(ptbxl500, tmp_path_factory) -> Path:
    """Three one-lead 'ECG' records at 300 Hz (lead I of PTB-XL records 1-3)."""
    data, _ = make_single_lead_folder(ptbxl500, tmp_path_factory.mktemp("sl3"), n=3)
    return data


def _prep(lead_set, cache_leads) -> Preprocessing:
    return Preprocessing.fitted(fs=500.0, window="r400", array="median", lead_set=lead_set,
                                cache_leads=cache_leads, scale_uv=1000.0)


def test_lead_map_builds_its_own_cache(folder, tmp_path):
    plain = resolve_cache(DataConfig(path=str(folder)), "median", tmp_path, progress=False)
    mapped = resolve_cache(DataConfig(path=str(folder), lead_map={"ECG": "I"}), "median",
                           tmp_path, progress=False)
    assert plain.path != mapped.path and len(plain) == len(mapped) == 3
    assert plain.leads == ("ECG",)
    assert mapped.leads == STANDARD_LEADS  # lead I in the 12-lead layout, the rest missing
    assert Preprocessing.present_leads(mapped) == ("I",)
    assert mapped.info["options"]["lead_map"] == {"ECG": "I"}
    # the same beats either way: only the name differs
    assert (plain.median[:, 0] == mapped.median[:, 0]).all()

    _prep(["I"], STANDARD_LEADS).check(mapped)  # a lead-I model reads the mapped cache
    _prep("all", ("ECG",)).check(plain)
    with pytest.raises(PreprocessingError, match=r"the model reads leads I, II, III, aVR.*this "
                                                  r"dataset has I \(II, III, .*V6 absent\)"):
        _prep("all", STANDARD_LEADS).check(mapped)
    with pytest.raises(PreprocessingError, match=r"model reads leads I, II, V1, V2, V3, V4, V5, "
                                                  r"V6; this dataset has ECG"):
        _prep("xyz", STANDARD_LEADS).check(plain)
    with pytest.raises(PreprocessingError, match=r"reads leads ECG; this dataset has I"):
        _prep("all", ("ECG",)).check(mapped)
