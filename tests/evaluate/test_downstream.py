"""Downstream prediction: real demo data (MI vs rest) and small synthetic cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import f1_score, roc_auc_score

from ecgcore.evaluate import downstream as ds


def synthetic_meta(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Records of n/2 patients (two each) with a 4-d embedding that carries the labels."""
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(n // 2), 2)
    z = rng.normal(size=(n, 4))
    meta = pd.DataFrame({
        "patient_id": pid,
        "sex": rng.choice(["M", "F"], n),
        "age": rng.uniform(20, 80, n),
        "a": (z[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int),
        "b": (z[:, 1] + 0.5 * rng.normal(size=n) > 0.5).astype(int),
        "value": 2.0 * z[:, 2] + 0.3 * rng.normal(size=n),
    })
    return meta, z


def test_mi_vs_rest_from_classical_features_on_the_demo_cache(demo_cache):
    meta = demo_cache.records
    res = ds.evaluate_downstream(meta, "superclass_MI", features="classical",
                                 models=("lgbm", "logreg_l2"), n_boot=200)
    t = res.table.set_index(["input", "model"])
    assert set(t.index) == {("features", "lgbm"), ("features", "logreg_l2"),
                            ("sex_age", "lgbm"), ("sex_age", "logreg_l2")}
    best = t.loc[("features", "lgbm")]
    # Every record has exactly one held-out prediction.
    assert best["n"] == len(meta) and np.isfinite(res.predictions[("features", "lgbm")].score).all()
    # The table's figures are those of its own held-out predictions, recomputed here with
    # scikit-learn; the floor says the classical features carry MI (published ~0.8+).
    pred = res.predictions[("features", "lgbm")]
    assert best["auroc"] == pytest.approx(roc_auc_score(res.y, pred.score), rel=1e-12)
    assert best["f1_macro"] == pytest.approx(f1_score(res.y, pred.hard, average="macro"), rel=1e-12)
    se = best["auroc_se"]
    assert (best["auroc_low"], best["auroc_high"]) == pytest.approx(
        (best["auroc"] - norm.ppf(0.975) * se, best["auroc"] + norm.ppf(0.975) * se), abs=1e-9)
    assert best["auroc"] > 0.7
    # Folds never split a patient.
    pid = meta["patient_id"].to_numpy()[res.rows]
    for train, test in res.folds:
        assert not set(pid[train]) & set(pid[test])
    cmp = res.compare(("features", "lgbm"), ("sex_age", "logreg_l2"))
    # the paired DeLong test by its definition: placement values of both scores
    y, sa, sb = res.y, pred.score, res.predictions[("sex_age", "logreg_l2")].score
    pos, neg = y == 1, y == 0
    v10, v01 = [], []
    for s in (sa, sb):
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    cov = np.cov(v10) / pos.sum() + np.cov(v01) / neg.sum()
    z = (np.mean(v10[0]) - np.mean(v10[1])) / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert cmp["z"] == pytest.approx(z, rel=1e-9)
    assert cmp["p_value"] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)


def test_models_tasks_and_hybrid_inputs_on_synthetic_data():
    meta, z = synthetic_meta()
    res = ds.evaluate_downstream(meta, "a", embeddings={"vae": z[:, :2], "pca": z[:, 2:]},
                                 features=["age"], models=ds.MODELS, n_boot=100)
    inputs = set(res.table["input"])
    assert inputs == {"vae", "pca", "features", "vae+features", "pca+features", "sex_age"}
    t = res.table.set_index(["input", "model"])
    for model in ds.MODELS:  # the label lives in the vae embedding, not in PCA or sex/age
        assert t.loc[("vae", model), "auroc"] > 0.8, model
        assert t.loc[("pca", model), "auroc"] < 0.7, model
    assert t.loc[("vae+features", "logreg_l2"), "n_features"] == 3

    multi = ds.evaluate_downstream(meta, ["a", "b"], embeddings={"vae": z}, sex_age=False,
                                   models=("logreg_l2",), n_boot=100)
    row = multi.table.iloc[0]
    assert row["task"] == "multilabel" and row["auroc"] > 0.8
    assert row["auroc_low"] <= row["auroc"] <= row["auroc_high"]
    assert {"auroc_a", "auroc_b"} <= set(multi.table.columns)

    cont = ds.evaluate_downstream(meta, "value", embeddings={"vae": z}, sex_age=False,
                                  models=("linear_probe", "logreg_l1"), n_boot=100)
    for _, r in cont.table.iterrows():
        assert r["task"] == "continuous" and r["r2"] > 0.9
        assert r["r2_low"] <= r["r2"] <= r["r2_high"]


def test_tuned_c_runs_with_grouped_inner_folds():
    meta, z = synthetic_meta(160)
    res = ds.evaluate_downstream(meta, "a", embeddings={"vae": z}, sex_age=False,
                                 models=("logreg_l1",), C="cv", n_boot=50)
    assert res.table.loc[0, "auroc"] > 0.8


def test_label_fraction_curve_uses_whole_patients():
    meta, z = synthetic_meta()
    y = meta["a"].to_numpy()
    train = np.arange(0, 200)
    sub = ds._training_subset(meta, train, y, "binary", 0.1, "patient_id", seed=0)
    assert sub is not None and 0 < len(sub) <= 30 and len(np.unique(y[sub])) == 2
    counts = meta.iloc[sub]["patient_id"].value_counts()
    assert (counts == 2).all()  # both records of every chosen patient

    curve = ds.label_fraction_curve(meta, "a", {"vae": z}, fractions=(1.0, 0.1),
                                    sex_age=False, models=("logreg_l2",), n_boot=50)
    assert curve["fraction"].tolist() == [1.0, 0.1]
    assert (curve["n"] == len(meta)).all()
    assert curve.loc[0, "auroc"] > 0.8 and curve.loc[1, "auroc"] > 0.6


def test_inputs_helpers():
    meta, _ = synthetic_meta(10)
    sa = ds.sex_age_matrix(meta)
    assert set(np.unique(sa[:, 0])) <= {0.0, 1.0} and sa[:, 1].min() >= 20
    assert ds.infer_task(meta, "a") == "binary"
    assert ds.infer_task(meta, "value") == "continuous"
    assert ds.infer_task(meta, ["a", "b"]) == "multilabel"
    x = np.random.default_rng(0).normal(size=(10, 2, 5))
    assert ds.pca_embedding(x, 3).shape == (10, 3)
    with pytest.raises(ValueError, match="unknown model"):
        ds.make_model("svm", "binary")


# Forms sex takes in real data, each with the codes the baseline must read (male 1, female 0).
SEX_FORMS = {
    "ptbxl_letters": (["M", "F", "F", None], [1.0, 0.0, 0.0, np.nan]),
    "words": (["male", "female", "Female ", "unknown"], [1.0, 0.0, 0.0, np.nan]),
    "physionet_header": (["Male", "Female", "Male", "Male"], [1.0, 0.0, 1.0, 1.0]),
    "codes_as_text": (["0", "1", "1", ""], [0.0, 1.0, 1.0, np.nan]),
    "codes_as_numbers": ([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]),
}
TEXT_DTYPES = ["object", "string", "category", "str"]


@pytest.mark.parametrize("dtype", TEXT_DTYPES)
@pytest.mark.parametrize("form", sorted(SEX_FORMS))
def test_sex_age_matrix_reads_text_sex_under_every_text_dtype(form, dtype):
    """pandas 3 reads text as the `str` dtype, which the old `dtype == object` test missed:
    every sex became NaN and the sex + age baseline silently became age only."""
    values, expected = SEX_FORMS[form]
    sex = pd.Series(values)
    if form != "codes_as_numbers":
        sex = sex.astype(dtype)
    meta = pd.DataFrame({"sex": sex, "age": [30, 40.5, None, 70]})
    got = ds.sex_age_matrix(meta)
    np.testing.assert_array_equal(got[:, 0], np.array(expected))
    np.testing.assert_array_equal(got[:, 1], [30, 40.5, np.nan, 70])


def test_sex_age_baseline_uses_sex_when_records_come_back_from_parquet(tmp_path):
    """The cache's records table goes through Parquet, which pandas 3 reads back as `str`."""
    rng = np.random.default_rng(1)
    n = 200
    sex = rng.choice(["M", "F"], n)
    table = pd.DataFrame({"record_id": [str(i) for i in range(n)], "sex": sex,
                          "age": rng.uniform(30, 80, n)})
    table.to_parquet(tmp_path / "records.parquet")
    back = pd.read_parquet(tmp_path / "records.parquet")
    got = ds.sex_age_matrix(back)[:, 0]
    np.testing.assert_array_equal(got, (sex == "M").astype(float))
