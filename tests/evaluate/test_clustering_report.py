"""Clustering scores against a hand case and scikit-learn; the comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from ecgcore.evaluate.clustering import cluster_scores, clustering_report
from ecgcore.evaluate.report import comparison_table, to_csv, to_markdown

X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
LAB = ["a", "a", "b", "b"]


def test_cluster_scores_by_hand_and_against_sklearn():
    s = cluster_scores(X, LAB)
    # Centroids (0, .5) and (10, .5): between-cluster dispersion 100, within 4 × 0.25 = 1,
    # CHI = (100 / 1) / (1 / 2) = 200. Mean distance to centroid 0.5 in both clusters,
    # centroid distance 10: DBI = (0.5 + 0.5) / 10 = 0.1. Silhouette of every point:
    # a = 1, b = (10 + √101) / 2, s = 1 − a / b.
    assert s["chi"] == pytest.approx(200.0)
    assert s["dbi"] == pytest.approx(0.1)
    assert s["silhouette"] == pytest.approx(1 - 1 / ((10 + np.sqrt(101)) / 2))
    assert s["chi"] == pytest.approx(calinski_harabasz_score(X, LAB))
    assert s["dbi"] == pytest.approx(davies_bouldin_score(X, LAB))
    assert s["silhouette"] == pytest.approx(silhouette_score(X, LAB))
    assert (s["n"], s["n_clusters"]) == (4, 2)


def test_missing_labels_are_left_out_and_one_cluster_gives_nan():
    x = np.vstack([X, [[5.0, 5.0]]])
    s = cluster_scores(x, ["a", "a", "b", "b", None])
    assert s["n"] == 4 and s["chi"] == pytest.approx(200.0)
    assert np.isnan(cluster_scores(X, ["a"] * 4)["dbi"])


def test_report_has_label_kmeans_and_pca_reference_rows():
    rng = np.random.default_rng(0)
    beats = np.concatenate([rng.normal(0, 1, (30, 2, 10)), rng.normal(6, 1, (30, 2, 10))])
    label = np.r_[np.zeros(30), np.ones(30)]
    emb = beats.reshape(60, -1)[:, :3]
    rep = clustering_report({"model": emb}, {"class": label}, k=2, beats=beats)
    assert set(zip(rep["space"], rep["clustering"])) == {
        ("model", "label:class"), ("model", "kmeans2"),
        ("beats_pca3", "label:class"), ("beats_pca3", "kmeans2")}
    ref = rep[rep["space"] == "beats_pca3"]
    assert ref["reference"].all() and (ref["dim"] == 3).all()
    assert (rep["silhouette"] > 0.5).all()  # two well-separated groups everywhere


def test_comparison_table_and_markdown():
    results = [
        {"model": "PCA", "latent_dim": 2,
         "reconstruction": {"mse": 147.0, "correlation": 0.724, "mae": 8.1,
                            "mae_per_wave": {"P": 3.0, "QRS": 12.0, "ST": 4.0, "T": 5.0}},
         "downstream": {"auroc": 0.656, "auroc_low": 0.624, "auroc_high": 0.688,
                        "f1_macro": 0.496},
         "clustering": {"dbi": 2.1, "silhouette": 0.1, "chi": 50.0}},
        {"model": "Sex and age", "latent_dim": 2, "auroc": 0.556, "auroc_ci": (0.520, 0.592),
         "f1": 0.474},
    ]
    df = comparison_table(results)
    assert df.loc[0, "mse"] == 147.0 and df.loc[0, "mae_QRS"] == 12.0 and df.loc[0, "f1"] == 0.496
    assert np.isnan(df.loc[1, "mse"]) and df.loc[1, "auroc_high"] == 0.592
    md = to_markdown(df)
    assert "| Model |" in md and "0.656 (0.624–0.688)" in md and "0.556 (0.520–0.592)" in md
    assert "| Sex and age | 2 | – |" in md  # missing values shown as dashes
    assert "MAE QRS (µV)" in md and "DBI" in md


def test_csv_round_trip(tmp_path):
    df = comparison_table([{"model": "m", "latent_dim": 10, "auroc": 0.8, "extra_note": "x"}])
    path = to_csv(df, tmp_path / "t" / "table.csv")
    back = pd.read_csv(path)
    assert back.loc[0, "auroc"] == 0.8 and back.loc[0, "extra_note"] == "x"


def test_pca_reference_is_capped_below_the_number_of_records():
    """A wide embedding (e.g. the CNN's 256 pooled features) on a small test split still
    gets a PCA reference: as many components as the records allow."""
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 64))
    beats = rng.normal(size=(30, 2, 50))
    report = clustering_report({"latent": emb}, {"label": rng.integers(0, 2, 30)}, k=0, beats=beats)
    assert "beats_pca29" in set(report["space"])
