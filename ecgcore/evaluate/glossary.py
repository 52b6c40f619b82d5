"""What each metric abbreviation of the views and reports means: its full name, which
direction is better and how to read its values, written once for every view and report.

``METRICS[key]`` is a :class:`Metric`; :func:`glossary_markdown` gives a Markdown list of
several; :func:`silhouette_reading` puts a silhouette value into words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    short: str  # as in a column header
    name: str  # spelled out
    better: str  # "higher", "lower" or "" (neither: a count or a size)
    reading: str  # what its values mean


METRICS: dict[str, Metric] = {
    "dbi": Metric("DBI", "Davies–Bouldin index", "lower",
                  "the average ratio of a cluster's spread to its distance from the most "
                  "similar cluster; 0 = compact, well-separated clusters, above about 1.5 = "
                  "clusters overlap. It has no upper bound."),
    "silhouette": Metric("Silhouette", "silhouette score", "higher",
                         "−1…1: how much closer each record is to its own cluster than to the "
                         "next one. Near 0 (below about 0.1) = no cluster structure; 0.25–0.5 "
                         "= weak; above 0.5 = clear; negative = records sit closer to another "
                         "cluster than to their own."),
    "chi": Metric("CHI", "Calinski–Harabasz index", "higher",
                  "between-cluster over within-cluster dispersion (a variance ratio). It has "
                  "no fixed scale: compare it only between spaces scored on the same records "
                  "and clusters, e.g. a run against its PCA reference."),
    "latent_dim": Metric("L", "latent dimension", "",
                         "the number of latent units (components) of the space scored."),
    "auroc": Metric("AUROC", "area under the ROC curve", "higher",
                    "0.5 = chance, 1 = every positive record ranked above every negative one; "
                    "0.7–0.8 acceptable, above 0.9 excellent discrimination. The bracket is the "
                    "95 % bootstrap confidence interval."),
    "f1": Metric("F1", "macro-averaged F1 score", "higher",
                 "0…1: the harmonic mean of precision and recall, averaged over the classes "
                 "with equal weight, at the probe's decision threshold."),
    "mse": Metric("MSE", "mean squared error of the reconstruction", "lower",
                  "in µV², over every sample and lead of the held-out median beats."),
    "mae": Metric("MAE", "mean absolute error of the reconstruction", "lower",
                  "in µV; per wave (P, QRS, ST, T) over that wave's samples only."),
    "correlation": Metric("Correlation", "Pearson correlation of beat and reconstruction",
                          "higher", "−1…1, per lead and record, then averaged; 1 = same shape."),
    "n": Metric("n", "records scored", "", "the records the row's numbers are computed on."),
    "mae_ratio": Metric("MAE ratio", "external over training-cohort reconstruction MAE",
                        "lower", "1 = as good on the other cohort as on the training "
                        "cohort's test split; 2 = twice the error."),
    "domain_auroc": Metric("Domain AUROC", "how well the cohorts are told apart from the "
                           "latent means", "", "0.5 = the other cohort's latent means are "
                           "indistinguishable from the training cohort's; 1 = fully "
                           "separated (a shift of hospital, device or population)."),
    "top1": Metric("Top-1 / Top-5", "same-patient re-identification accuracy", "",
                   "0…1: the share of a patient's records whose nearest (top-1) or five "
                   "nearest (top-5) records include another record of the same patient."),
    "r2": Metric("R²", "coefficient of determination of a numeric label", "higher",
                 "1 = every value predicted exactly; 0 = no better than the mean; negative "
                 "= worse than the mean."),
}


def explain(key: str) -> str:
    """'**DBI** — Davies–Bouldin index (lower is better): …'."""
    m = METRICS[key]
    better = f" ({m.better} is better)" if m.better else ""
    return f"**{m.short}** — {m.name}{better}: {m.reading}"


def glossary_markdown(keys: Iterable[str]) -> str:
    """A Markdown list explaining each of ``keys`` (unknown keys are left out)."""
    return "\n".join(f"- {explain(k)}" for k in keys if k in METRICS)


def silhouette_reading(value: float) -> str:
    """A silhouette score in words, on the scale of :data:`METRICS` ``["silhouette"]``."""
    if math.isnan(value):
        return "—"
    if value < 0:
        return "none (records closer to other clusters)"
    if value < 0.1:
        return "no structure"
    if value < 0.25:
        return "very weak"
    if value < 0.5:
        return "weak"
    if value < 0.7:
        return "clear"
    return "strong"
