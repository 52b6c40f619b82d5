"""A run's factor annotation on disk: four files, written atomically, read back whole."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ecgcore.explain.annotation import FactorAnnotation
from ecgcore.runs.atomic import write_atomic


def annotation_paths(base: Path) -> dict[str, Path]:
    """``table`` .parquet, ``steps`` -steps.parquet, ``corr`` -cohort.parquet and
    ``sentences`` .json beside ``base`` (``annotation-n<n>-s<span>``)."""
    return {k: base.with_name(base.name + suffix) for k, suffix in (
        ("table", ".parquet"), ("steps", "-steps.parquet"), ("corr", "-cohort.parquet"),
        ("sentences", ".json"))}


def write_annotation_files(paths: dict[str, Path], ann: FactorAnnotation) -> None:
    steps = pd.concat([m.rename_axis("value").reset_index().assign(unit=u)
                       for u, m in ann.traversals.items()], ignore_index=True)
    corr = ann.cohort_correlation.astype(float)
    corr.columns = [str(c) for c in corr.columns]
    write_atomic(paths["table"], lambda p: ann.table.to_parquet(p, index=False))
    write_atomic(paths["steps"], lambda p: steps.to_parquet(p, index=False))
    write_atomic(paths["corr"], lambda p: corr.to_parquet(p))
    write_atomic(paths["sentences"], lambda p: p.write_text(json.dumps(ann.sentences, indent=1)))


def read_annotation_files(paths: dict[str, Path], latent_dim: int) -> FactorAnnotation | None:
    """A FactorAnnotation from its four cache files; None when they disagree."""
    units = set(range(latent_dim))
    table = pd.read_parquet(paths["table"])
    steps = pd.read_parquet(paths["steps"])
    corr = pd.read_parquet(paths["corr"])
    sentences = {int(k): v for k, v in json.loads(paths["sentences"].read_text()).items()}
    if not set(sentences) == set(table["unit"]) == set(steps["unit"]) == units:
        return None
    traversals = {}
    for u, g in steps.groupby("unit"):
        traversals[int(u)] = g.drop(columns="unit").set_index("value").rename_axis(f"z{u}")
    return FactorAnnotation(table, sentences, corr, traversals)
