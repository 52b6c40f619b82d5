"""Metric explanations (ecgcore.evaluate.glossary)."""

from __future__ import annotations

import math

from ecgcore.evaluate.glossary import METRICS, explain, glossary_markdown, silhouette_reading


def test_every_metric_says_its_name_and_direction():
    assert explain("dbi").startswith("**DBI** — Davies–Bouldin index (lower is better): ")
    assert explain("chi").startswith("**CHI** — Calinski–Harabasz index (higher is better): ")
    assert explain("latent_dim").startswith("**L** — latent dimension: ")
    assert all(m.better in ("higher", "lower", "") for m in METRICS.values())


def test_glossary_lists_the_known_keys_in_order():
    text = glossary_markdown(["silhouette", "nope", "dbi"])
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("- **Silhouette**") and lines[1].startswith("- **DBI**")
    assert "Near 0" in lines[0]


def test_silhouette_in_words():
    cases = {-0.2: "none (records closer to other clusters)", 0.01: "no structure",
             0.1: "very weak", 0.3: "weak", 0.6: "clear", 0.8: "strong", math.nan: "—"}
    assert {v: silhouette_reading(v) for v in cases} == cases
