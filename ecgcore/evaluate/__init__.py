"""Evaluation: reconstruction fidelity, downstream prediction, clustering, statistics, tables.

Pure functions over numpy arrays and pandas tables; nothing here draws or imports Streamlit.
Names are importable from the package (``from ecgcore.evaluate import delong_auc``); each
module loads on first use, and LightGBM only when a LightGBM model is fitted. The P / QRS /
ST / T regions from fiducials are a signal concept: :mod:`ecgcore.signal.regions`.

- ``reconstruction``: MSE, MAE, Pearson r overall, per lead, per wave, per record
- ``stats``:          DeLong AUROC and paired test, stratified bootstrap, macro AUROC / F1, R²
- ``downstream``:     out-of-fold prediction from embeddings / features / both, baselines,
                      label-fraction curves
- ``clustering``:     DBI, silhouette, CHI for labels and k-means, with a PCA reference
- ``shift``:          how far an external cohort's embeddings sit from the training cohort's
- ``report``:         the side-by-side comparison table (CSV / Markdown)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "reconstruction": ("reconstruction_metrics", "pearson_per_lead"),
    "stats": ("AUCResult", "BootstrapCI", "bootstrap_ci", "bootstrap_mean_ci", "delong_auc",
              "delong_test", "fast_delong", "hanley_mcneil_se", "hanley_mcneil_test",
              "macro_auroc", "macro_f1", "prevalence_threshold",
              "r2_ci", "r2_score", "stratified_bootstrap_indices", "youden_threshold"),
    "downstream": ("DownstreamResult", "build_inputs", "classical_feature_columns",
                   "evaluate_downstream", "label_fraction_curve", "make_model", "oof_predict",
                   "pca_embedding", "sex_age_matrix"),
    "clustering": ("cluster_scores", "clustering_report", "kmeans_labels"),
    "shift": ("domain_auroc", "embedding_shift", "frechet_distance"),
    "report": ("comparison_table", "format_table", "to_csv", "to_markdown"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "AUCResult",
    "BootstrapCI",
    "DownstreamResult",
    "bootstrap_ci",
    "bootstrap_mean_ci",
    "build_inputs",
    "classical_feature_columns",
    "cluster_scores",
    "clustering_report",
    "comparison_table",
    "delong_auc",
    "delong_test",
    "domain_auroc",
    "embedding_shift",
    "evaluate_downstream",
    "fast_delong",
    "format_table",
    "frechet_distance",
    "hanley_mcneil_se",
    "hanley_mcneil_test",
    "kmeans_labels",
    "label_fraction_curve",
    "macro_auroc",
    "macro_f1",
    "make_model",
    "oof_predict",
    "pca_embedding",
    "pearson_per_lead",
    "prevalence_threshold",
    "r2_ci",
    "r2_score",
    "reconstruction_metrics",
    "sex_age_matrix",
    "stratified_bootstrap_indices",
    "to_csv",
    "to_markdown",
    "youden_threshold",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
