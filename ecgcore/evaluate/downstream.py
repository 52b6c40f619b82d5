"""Predict a label from embeddings, classical features or both, with patient-grouped CV.

Every record gets one held-out (out-of-fold) prediction from a model fitted on the other
folds, whose patients it never shares (:func:`ecgcore.data.splits.grouped_kfold`). Metrics
are computed on the pooled out-of-fold predictions:

- binary: AUROC with DeLong 95% CI, macro F1 (both classes);
- multilabel (several 0/1 columns, e.g. the five PTB-XL superclasses): one binary model
  per column; macro AUROC with a stratified-bootstrap CI and macro F1 over labels;
- continuous: R² with a bootstrap CI, and MAE.

Hard predictions (for F1) use the training fold's prevalence as the threshold (see
:mod:`ecgcore.evaluate.stats`), so nothing is tuned on held-out records.

Models (``models=``):

- ``"lgbm"``: LightGBM, 200 trees, learning rate 0.05, 15 leaves, row/column subsampling
  0.8; missing values handled natively (seed 000's classifier).
- ``"logreg_l1"`` / ``"logreg_l2"``: logistic regression on median-imputed, standardised
  inputs, C = 1.0 (a mild penalty on unit-variance inputs) or ``C="cv"``: chosen from
  10^-3..10^2 by patient-grouped inner 3-fold CV AUROC (seed 001). For continuous targets
  they become Lasso (α = 0.01) / Ridge (α = 1.0) on a standardised target.
- ``"knn"``: k-nearest neighbours (k = 15, Euclidean, standardised inputs; seed 004).
- ``"linear_probe"``: one linear layer with (almost) no penalty on standardised inputs,
  C = 100 (plain least squares for continuous targets) — the frozen-encoder probe of 004.

Baselines come in the same call: ``sex_age=True`` adds the sex-and-age input of seed 001;
a PCA of the beats at the same latent size is passed as one more embedding
(:func:`pca_embedding`). :func:`label_fraction_curve` refits with 100 %, 10 %, 1 % of the
training labels (whole patients, :func:`ecgcore.data.splits.label_fraction`; 000 Table 6).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecgcore.data.splits import grouped_kfold
from ecgcore.data.splits import label_fraction as _label_fraction
from ecgcore.signal.features import INTERVAL_KEYS

from . import stats

MODELS: tuple[str, ...] = ("lgbm", "logreg_l1", "logreg_l2", "knn", "linear_probe")
TASKS: tuple[str, ...] = ("binary", "multilabel", "continuous")
C_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
KNN_K = 15


# -- inputs ------------------------------------------------------------------------------
def classical_feature_columns(meta: pd.DataFrame) -> list[str]:
    """The classical measurement columns of a cache's records table that are present and
    not entirely missing (intervals in ms, axis in degrees, R/S/T amplitudes in µV)."""
    amp = [c for c in meta.columns
           if c.endswith("_uv") and c.split("_")[0] in ("r", "s", "t") and "_amp_" in c]
    cols = [c for c in (*INTERVAL_KEYS, *amp) if c in meta.columns]
    return [c for c in cols if pd.to_numeric(meta[c], errors="coerce").notna().any()]


#: Sex written as text (PTB-XL's M/F, PhysioNet headers' ``Sex: Male``, labels tables).
_SEX_WORDS = {"m": 1.0, "male": 1.0, "man": 1.0, "f": 0.0, "female": 0.0, "woman": 0.0}


def _sex_code(value: Any) -> float:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    token = str(value).strip().lower()
    if token in _SEX_WORDS:
        return _SEX_WORDS[token]
    try:
        return float(token)  # a numeric code written as text ("0"/"1") is kept as it is
    except ValueError:
        return np.nan


def sex_age_matrix(meta: pd.DataFrame, sex_col: str = "sex", age_col: str = "age") -> np.ndarray:
    """``[N, 2]``: sex (male = 1, female = 0, numeric codes kept) and age in years; NaN unknown.

    Text is recognised by pandas' own predicates, so object, ``string``, ``category`` and
    pandas 3's default ``str`` columns all map their words (M/F, male/female, any case).
    """
    sex = meta[sex_col]
    if pd.api.types.is_numeric_dtype(sex) or pd.api.types.is_bool_dtype(sex):
        sex_num = pd.to_numeric(sex, errors="coerce").to_numpy(dtype=float)
    else:
        sex_num = np.array([_sex_code(v) for v in sex], dtype=float)
    age = pd.to_numeric(meta[age_col], errors="coerce").to_numpy(dtype=float)
    return np.column_stack([sex_num, age])


def pca_embedding(x: Any, n_components: int, seed: int = 0) -> np.ndarray:
    """PCA scores ``[N, n_components]`` of beats ``[N, leads, W]`` (the same-size baseline).

    Fitted on all records without labels (unsupervised, like the encoders it is compared to).
    """
    from sklearn.decomposition import PCA

    arr = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return PCA(n_components=n_components, random_state=seed).fit_transform(arr)


def _matrix(value: Any, meta: pd.DataFrame) -> np.ndarray:
    if isinstance(value, pd.DataFrame):
        return value.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return meta[list(value)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=float)
    return arr[:, None] if arr.ndim == 1 else arr.reshape(len(arr), -1)


def build_inputs(
    meta: pd.DataFrame,
    embeddings: Mapping[str, Any] | None = None,
    features: Any = None,
    hybrid: bool = True,
    sex_age: bool = True,
) -> dict[str, np.ndarray]:
    """Named input matrices: each embedding, ``features``, ``<embedding>+features`` (hybrid,
    seeds 000/004) and ``sex_age``. ``features``: column names of ``meta``, a DataFrame or
    an array; ``"classical"`` takes :func:`classical_feature_columns`."""
    out: dict[str, np.ndarray] = {}
    feats = None
    if isinstance(features, str) and features == "classical":
        features = classical_feature_columns(meta)
    if features is not None:
        feats = _matrix(features, meta)
    for name, emb in (embeddings or {}).items():
        out[name] = _matrix(emb, meta)
    if feats is not None:
        out["features"] = feats
        if hybrid:
            for name in list(embeddings or {}):
                out[f"{name}+features"] = np.hstack([out[name], feats])
    if sex_age:
        out["sex_age"] = sex_age_matrix(meta)
    for name, arr in out.items():
        if arr.shape[0] != len(meta):
            raise ValueError(f"input {name!r} has {arr.shape[0]} rows, records table {len(meta)}")
    return out


# -- models ------------------------------------------------------------------------------
def _logreg(c: float, l1: bool, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    params = inspect.signature(LogisticRegression).parameters
    if params["penalty"].default == "deprecated":  # scikit-learn >= 1.8
        kw = {"l1_ratio": 1.0 if l1 else 0.0}
    else:
        kw = {"penalty": "l1" if l1 else "l2"}
    solver = "liblinear" if l1 else "lbfgs"
    return LogisticRegression(C=c, solver=solver, max_iter=2000, random_state=seed, **kw)


def make_model(name: str, task: str, seed: int = 0, n_train: int | None = None,
               C: float = 1.0) -> Any:
    """A fresh scikit-learn-compatible estimator for ``task`` (binary models per label)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    regress = task == "continuous"
    if name == "lgbm":
        import lightgbm as lgb

        kw = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "subsample": 0.8,
              "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
              "random_state": seed, "n_jobs": 1, "verbose": -1,
              "min_child_samples": max(2, min(10, (n_train or 100) // 10))}
        return lgb.LGBMRegressor(**kw) if regress else lgb.LGBMClassifier(**kw)

    def pipe(est: Any) -> Any:
        return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                             StandardScaler(), est)

    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        k = max(1, min(KNN_K, n_train or KNN_K))
        return pipe(KNeighborsRegressor(k) if regress else KNeighborsClassifier(k))
    if regress:
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.linear_model import Lasso, LinearRegression, Ridge

        est = {"logreg_l1": Lasso(alpha=0.01 / C, max_iter=5000),
               "logreg_l2": Ridge(alpha=1.0 / C),
               "linear_probe": LinearRegression()}[name]
        return TransformedTargetRegressor(pipe(est), transformer=StandardScaler())
    if name == "linear_probe":
        return pipe(_logreg(100.0, False, seed))
    return pipe(_logreg(C, name == "logreg_l1", seed))


def infer_task(meta: pd.DataFrame, label: str | Sequence[str]) -> str:
    """``multilabel`` for several columns, ``binary`` for one 0/1 column, else ``continuous``."""
    if not isinstance(label, str):
        return "multilabel" if len(label) > 1 else infer_task(meta, label[0])
    vals = pd.to_numeric(meta[label], errors="coerce").dropna().unique()
    return "binary" if set(np.asarray(vals, float).tolist()) <= {0.0, 1.0} else "continuous"


def _fit_binary(name: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int,
                C: float | str) -> Any:
    """Fit a binary classifier; ``C="cv"`` tunes C by patient-grouped inner CV AUROC."""
    if C == "cv" and name in ("logreg_l1", "logreg_l2"):
        from sklearn.model_selection import GroupKFold

        n_groups = len(np.unique(groups))
        inner = list(GroupKFold(n_splits=min(3, n_groups)).split(X, y, groups)) \
            if n_groups >= 2 else []
        best, best_c = -np.inf, 1.0
        for c in C_GRID:
            aucs = []
            for tr, va in inner:
                if len(np.unique(y[tr])) < 2 or len(np.unique(y[va])) < 2:
                    continue
                m = make_model(name, "binary", seed, len(tr), c).fit(X[tr], y[tr])
                aucs.append(stats._auc(y[va], m.predict_proba(X[va])[:, 1]))
            score = np.nanmean(aucs) if aucs else -np.inf
            if score > best:
                best, best_c = score, c
        C = best_c
    return make_model(name, "binary", seed, len(y), 1.0 if C == "cv" else float(C)).fit(X, y)


# -- cross-validation --------------------------------------------------------------------
@dataclass
class OOF:
    """Out-of-fold predictions: ``score`` (probability or value) and ``hard`` (0/1), NaN
    for records whose training fold could not be fitted."""

    score: np.ndarray
    hard: np.ndarray | None
    failed_fits: int = 0


def _training_subset(meta: pd.DataFrame, train: np.ndarray, y: np.ndarray, task: str,
                     fraction: float, group_col: str | None, seed: int, max_tries: int = 20
                     ) -> np.ndarray | None:
    """``fraction`` of the training records (whole patients), redrawn until every label
    has both classes (classification); None when no draw succeeds."""
    if fraction >= 1.0:
        return train
    for t in range(max_tries):
        sub = _label_fraction(meta, train, fraction, group_col, seed=seed + 7919 * t)
        ys = y[sub]
        if task == "continuous":
            ok = len(sub) >= 3
        else:
            cols = ys[:, None] if ys.ndim == 1 else ys
            ok = all(len(np.unique(cols[:, j])) == 2 for j in range(cols.shape[1]))
        if ok:
            return sub
    return None


def oof_predict(
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    model: str,
    task: str,
    meta: pd.DataFrame | None = None,
    group_col: str | None = "patient_id",
    seed: int = 0,
    fraction: float = 1.0,
    C: float | str = 1.0,
) -> OOF:
    """Out-of-fold predictions of ``model`` for ``y`` (``[N]`` or ``[N, K]`` multilabel).

    With ``fraction`` < 1, fold f draws its training patients with seed ``seed + 101·f``
    (reproducible; no two folds share a draw)."""
    n = X.shape[0]
    shape = y.shape
    score = np.full(shape, np.nan)
    hard = None if task == "continuous" else np.full(shape, np.nan)
    groups = np.array([f"_record_{i}" for i in range(n)], dtype=object)
    if meta is not None and group_col and group_col in meta.columns:
        g = meta[group_col]
        groups = np.where(g.isna().to_numpy(), groups, g.astype(str).to_numpy())
    failed = 0
    for f, (train, test) in enumerate(folds):
        sub = train
        if fraction < 1.0:
            if meta is None:
                raise ValueError("a label fraction needs meta (patients are drawn whole)")
            sub = _training_subset(meta, train, y, task, fraction, group_col, seed + 101 * f)
        if sub is None:
            failed += 1
            continue
        if task == "continuous":
            est = make_model(model, task, seed, len(sub), 1.0 if C == "cv" else float(C))
            score[test] = est.fit(X[sub], y[sub]).predict(X[test])
            continue
        ys = y[sub][:, None] if y.ndim == 1 else y[sub]
        for j in range(ys.shape[1]):
            if len(np.unique(ys[:, j])) < 2:  # cannot learn: leave this fold's column NaN
                failed += 1
                continue
            est = _fit_binary(model, X[sub], ys[:, j].astype(int), groups[sub], seed, C)
            p = est.predict_proba(X[test])[:, 1]
            thr = float(ys[:, j].mean())  # training-fold prevalence
            if y.ndim == 1:
                score[test], hard[test] = p, (p >= thr).astype(float)
            else:
                score[test, j], hard[test, j] = p, (p >= thr).astype(float)
    return OOF(score, hard, failed)


# -- evaluation --------------------------------------------------------------------------
@dataclass
class DownstreamResult:
    """``table``: one row per (input, model); ``predictions``: out-of-fold scores keyed by
    (input, model); ``y``: the labels of the evaluated records; ``rows``: their positions in
    the records table given; ``folds``: positional (train, test) pairs into ``rows``."""

    table: pd.DataFrame
    predictions: dict[tuple[str, str], OOF]
    y: np.ndarray
    rows: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    task: str
    label: list[str]
    extras: dict[str, Any] = field(default_factory=dict)

    def compare(self, a: tuple[str, str], b: tuple[str, str]) -> dict[str, float]:
        """Paired DeLong test between two (input, model) predictions (binary task)."""
        if self.task != "binary":
            raise ValueError("the paired DeLong test needs a binary task")
        sa, sb = self.predictions[a].score, self.predictions[b].score
        ok = np.isfinite(sa) & np.isfinite(sb)
        return stats.delong_test(self.y[ok], sa[ok], sb[ok])


def score_predictions(y: np.ndarray, oof: OOF, task: str, labels: Sequence[str],
                      n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Metrics of out-of-fold predictions (records without a prediction are left out)."""
    ok = np.isfinite(oof.score) if oof.score.ndim == 1 else np.isfinite(oof.score).all(axis=1)
    yk, sk = y[ok], oof.score[ok]
    row: dict[str, Any] = {"n": int(ok.sum())}
    if task == "continuous":
        ci = stats.r2_ci(yk, sk, n_boot=n_boot, seed=seed) if ok.sum() > 2 else None
        row.update(r2=ci.estimate if ci else np.nan, r2_low=ci.low if ci else np.nan,
                   r2_high=ci.high if ci else np.nan,
                   mae=float(np.mean(np.abs(yk - sk))) if ok.any() else np.nan)
        return row
    hk = oof.hard[ok]
    if task == "binary":
        row["n_pos"] = int((yk == 1).sum())
        if 0 < row["n_pos"] < len(yk):
            row.update({k: v for k, v in stats.delong_auc(yk, sk).as_dict().items()
                        if k.startswith("auroc")})
            # beside DeLong's: Hanley & McNeil's (1982) SE from the area and group sizes (001)
            row["auroc_se_hm"] = stats.hanley_mcneil_se(row["auroc"], row["n_pos"], len(yk) - row["n_pos"])
        else:
            row.update(auroc=np.nan, auroc_se=np.nan, auroc_low=np.nan, auroc_high=np.nan,
                       auroc_se_hm=np.nan)
        row["f1_macro"] = stats.macro_f1(yk, hk) if ok.any() else np.nan
        return row
    m = stats.macro_auroc(yk, sk, labels, n_boot=n_boot, seed=seed)
    row.update(auroc=m["macro_auroc"], auroc_low=m["low"], auroc_high=m["high"],
               f1_macro=stats.macro_f1(yk, hk))
    for name, d in m["per_label"].items():
        row[f"auroc_{name}"] = d["auroc"]
    return row


def evaluate_downstream(
    meta: pd.DataFrame,
    label: str | Sequence[str],
    embeddings: Mapping[str, Any] | None = None,
    features: Any = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    hybrid: bool = True,
    sex_age: bool = True,
    models: Sequence[str] = ("lgbm", "logreg_l2"),
    task: str = "auto",
    k: int = 5,
    group_col: str | None = "patient_id",
    seed: int = 0,
    n_boot: int = 1000,
    fraction: float = 1.0,
    C: float | str = 1.0,
    test_rows: Sequence[int] | None = None,
) -> DownstreamResult:
    """Out-of-fold prediction of ``label`` from every input × model, with CIs.

    ``meta``: the records table (labels, ``patient_id``, ``sex``, ``age``, features), row i
    matching row i of every embedding. ``embeddings``: {name: [N, d]} (the model's latent
    means, a PCA of the same size, …). ``features``: classical features (column names,
    ``"classical"``, a DataFrame or an array). ``inputs``: further named matrices used as
    given. Records whose label is missing are left out. Folds are grouped by patient and
    stratified by the label; the same folds serve every input and model. ``test_rows``
    (positions in ``meta``, e.g. a trained run's test split) replaces the k folds by one
    held-out split: every probe learns on the other labelled records and is scored on
    these only, so that runs evaluated on the same test split are compared record for
    record.
    """
    labels = [label] if isinstance(label, str) else list(label)
    task = infer_task(meta, labels) if task == "auto" else task
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or 'auto', got {task!r}")
    named = build_inputs(meta, embeddings, features, hybrid=hybrid, sex_age=sex_age)
    for name, value in (inputs or {}).items():
        named[name] = _matrix(value, meta)
    if not named:
        raise ValueError("nothing to predict from: give embeddings, features or inputs")

    ymat = meta[labels].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    rows = np.flatnonzero(np.isfinite(ymat).all(axis=1))
    sub = meta.iloc[rows].reset_index(drop=True)
    y = ymat[rows, 0] if task != "multilabel" else ymat[rows]
    strat = labels[0] if task != "multilabel" else labels
    if test_rows is None:
        folds = grouped_kfold(sub, k=k, group_col=group_col, stratify=strat, seed=seed)
    else:
        held = np.isin(rows, np.asarray(test_rows, dtype=int))
        if held.all() or not held.any():
            raise ValueError("test_rows must leave labelled records on both sides of the split")
        folds = [(np.flatnonzero(~held), np.flatnonzero(held))]

    table_rows, preds = [], {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)  # tiny-fold sklearn notes
        for in_name, X_all in named.items():
            X = X_all[rows]
            keep = np.isfinite(X).any(axis=0)  # drop all-missing columns (label-free)
            X = X[:, keep]
            for model in models:
                oof = oof_predict(X, y, folds, model, task, sub, group_col, seed, fraction, C)
                preds[(in_name, model)] = oof
                row = {"input": in_name, "model": model, "task": task,
                       "label": "+".join(labels), "n_features": X.shape[1],
                       "fraction": fraction, "failed_fits": oof.failed_fits}
                row.update(score_predictions(y, oof, task, labels, n_boot, seed))
                table_rows.append(row)
    return DownstreamResult(pd.DataFrame(table_rows), preds, y, rows, folds, task, labels)


def label_fraction_curve(
    meta: pd.DataFrame,
    label: str | Sequence[str],
    embeddings: Mapping[str, Any] | None = None,
    features: Any = None,
    fractions: Sequence[float] = (1.0, 0.1, 0.01),
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`evaluate_downstream` at each fraction of training labels (whole patients;
    the held-out folds are always complete). One table, with a ``fraction`` column."""
    tables = [evaluate_downstream(meta, label, embeddings, features, fraction=f, **kwargs).table
              for f in fractions]
    return pd.concat(tables, ignore_index=True)
