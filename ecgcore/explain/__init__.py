"""Explanation: 2-D projections, factor traversals and their annotation, saliency,
counterfactuals and ECG identification.

Pure, headless functions over the model protocol (``encode`` / ``decode``). Names are
importable from the package; each module loads on first use, and captum / umap only inside
the functions that need them.

- ``projection``:     PCA / UMAP / t-SNE 2-D maps, cached on disk
- ``traversal``:      −3σ..+3σ factor traversals (seed 001 §2.5)
- ``annotation``:     classical measurements along traversals, sentences per unit
- ``saliency``:       captum attributions summed per P / QRS / ST / T / other and lead
- ``counterfactual``: cross the task head's threshold along its weights, report changes
- ``identification``: same-patient retrieval, top-1 / top-5 (ECG-ID)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "_model_io": ("decode_latents", "encode_means"),
    "projection": ("project", "projection_key", "unit_spread", "units_by_spread"),
    "traversal": ("factor_traversal", "traversal_latents"),
    "annotation": ("FactorAnnotation", "annotate_factors", "default_measurements",
                   "describe_measurement", "measure_beats"),
    "saliency": ("attribute", "class_means", "region_attribution", "saliency_summary",
                 "scalar_function"),
    "counterfactual": ("Counterfactual", "latent_counterfactual"),
    "identification": ("identification_accuracy", "identification_report"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "Counterfactual", "FactorAnnotation", "annotate_factors", "attribute", "class_means",
    "decode_latents", "default_measurements", "describe_measurement", "encode_means",
    "factor_traversal", "identification_accuracy", "identification_report",
    "latent_counterfactual", "measure_beats", "project", "projection_key",
    "region_attribution", "saliency_summary", "scalar_function", "traversal_latents",
    "unit_spread", "units_by_spread",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
