"""What each cluster is (the Clustering view): the mean beat of a cluster is the mean of its
records' median beats, computed here independently on real PTB-XL demo beats; a label
stratified by cluster is the contingency / the per-cluster statistics of that label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.runs.clustering import cluster_label_table, cluster_mean_beats


def test_cluster_mean_beat_is_the_mean_of_its_members(demo_medians):
    beats = demo_medians[:60].copy()
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 4, size=len(beats))
    ids[:4] = [0, 1, 2, 3]  # every cluster has a record
    beats[5, 2, 10:20] = np.nan  # a sample a record lacks: left out of that sample's mean
    clusters, means, counts = cluster_mean_beats(beats, ids)
    assert clusters.tolist() == [0, 1, 2, 3]
    assert means.shape == (4, *beats.shape[1:])
    for i, c in enumerate(clusters):
        members = [beats[r] for r in range(len(beats)) if ids[r] == c]
        assert counts[i] == len(members)
        expected = np.zeros(beats.shape[1:])
        n = np.zeros(beats.shape[1:])
        for m in members:  # sample by sample, NaN left out
            ok = np.isfinite(m)
            expected[ok] += m[ok]
            n[ok] += 1
        np.testing.assert_allclose(means[i], expected / n, rtol=1e-5, atol=1e-3)
    # µV: a PTB-XL R wave of hundreds of µV survives the average in lead II
    ii = 1
    assert np.nanmax(np.abs(means[:, ii])) > 100


def test_cluster_mean_beats_rejects_mismatched_ids(demo_medians):
    with pytest.raises(ValueError, match="3 cluster ids"):
        cluster_mean_beats(demo_medians[:5], np.zeros(3))


def test_categorical_label_by_cluster_is_its_contingency():
    records = pd.DataFrame({"record_id": list("abcdefgh"),
                            "lv_dysfunction": [1, 0, 1, 1, 0, np.nan, 0, 0]})
    ids = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    t = cluster_label_table(records, ids, "lv_dysfunction", "categorical")
    assert t["cluster"].tolist() == ["cluster 1", "cluster 2", "cluster 3", "all records"]
    assert t["records"].tolist() == [3, 3, 2, 8]
    assert t["yes"].tolist() == [2, 1, 0, 3]
    assert t["no"].tolist() == [1, 1, 2, 4]
    assert t["missing"].tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(t["yes %"], [200 / 3, 100 / 3, 0, 37.5])
    # the counts of a cluster add up to its size
    assert (t[["yes", "no", "missing"]].sum(axis=1) == t["records"]).all()


def test_continuous_label_by_cluster_is_its_statistics():
    lvef = np.array([60, 55, 35, 30, np.nan, 62, 58, 25], dtype=float)
    records = pd.DataFrame({"record_id": [str(i) for i in range(8)], "lvef": lvef})
    ids = np.array([1, 1, 0, 0, 0, 1, 1, 0])
    t = cluster_label_table(records, ids, "lvef", "continuous", names=["low", "high"])
    low, high, every = (t.iloc[i] for i in range(3))
    assert low["cluster"] == "low" and every["cluster"] == "all records"
    assert (low["records"], low["n"]) == (4, 3)
    assert low["mean"] == pytest.approx(30.0)
    assert low["sd"] == pytest.approx(np.std([35, 30, 25], ddof=1))
    assert high["median"] == pytest.approx(np.median([60, 55, 62, 58]))
    assert high["q1"] == pytest.approx(np.percentile([60, 55, 62, 58], 25))
    assert every["n"] == 7 and every["mean"] == pytest.approx(np.nanmean(lvef))


def test_label_by_cluster_refuses_what_is_not_a_label():
    records = pd.DataFrame({"record_id": ["a", "b"], "x": [1.0, 2.0]})
    with pytest.raises(KeyError, match="no column 'y'"):
        cluster_label_table(records, np.array([0, 1]), "y")
    with pytest.raises(ValueError, match="2 cluster ids for 3"):
        cluster_label_table(pd.concat([records, records.iloc[:1]]), np.array([0, 1]), "x")
