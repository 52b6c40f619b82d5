"""Cached datasets: preprocessing into arrays plus a manifest, splits, torch Datasets.

``ecgcore.data.datasets`` imports torch; the rest of this package does not.
"""

from ecgcore.data.splits import grouped_kfold, grouped_split, label_fraction, stratify_key
from ecgcore.data.store import ECGCache

__all__ = ["ECGCache", "grouped_kfold", "grouped_split", "label_fraction", "stratify_key"]
