"""One home for a family's defaults: the recipe registered with the model.

``shipped_configs.json`` holds, for every ``trainer/configs/*.yaml``, the resolved
``TrainConfig`` and the model's full config as they were before the recipes moved out of
the YAML files (written by the code of that time). Run folders trained from those files
ship in the repository, so a shipped recipe must not change by accident; to change one on
purpose, regenerate the snapshot and say so in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ecgcore.models import create_model, list_models, model_from_config
from ecgcore.models.registry import merge_fields, recipe
from trainer.config import load_config, resolve_model_overrides, with_recipe

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "trainer" / "configs").glob("*.yaml"))
SNAPSHOT = json.loads((Path(__file__).parent / "shipped_configs.json").read_text())


def _model_from_yaml(path: Path):
    return create_model(**resolve_model_overrides(load_config(path)))


def test_every_family_ships_a_config_and_every_config_a_family():
    assert sorted(p.stem for p in CONFIGS) == list_models()
    assert sorted(SNAPSHOT) == [p.name for p in CONFIGS]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_resolved_config_is_unchanged(path):
    cfg = load_config(path)
    assert cfg.model_dump(mode="json") == SNAPSHOT[path.name]["train"]
    assert _model_from_yaml(path).config.model_dump(mode="json") == SNAPSHOT[path.name]["model"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_create_model_is_what_the_shipped_config_trains(path):
    assert create_model(path.stem).config == _model_from_yaml(path).config


def _leaves(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out += _leaves(value, path + ".") if isinstance(value, dict) and value else [path]
    return out


def _without(tree: dict, dotted: str) -> dict:
    out = json.loads(json.dumps(tree))
    *parents, leaf = dotted.split(".")
    node = out
    for p in parents:
        node = node[p]
    del node[leaf]
    return out


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_a_shipped_yaml_only_overrides(path, tmp_path):
    """Every value a YAML sets (but its names) changes the resolved config: none restates
    the recipe or a default."""
    raw = yaml.safe_load(path.read_text())
    assert raw["model"]["name"] == path.stem
    full = load_config(path).model_dump(mode="json")
    for leaf in _leaves(raw):
        if leaf in ("name", "model.name"):
            continue
        other = tmp_path / f"{path.stem}-{leaf}.yaml"
        other.write_text(yaml.safe_dump(_without(raw, leaf)))
        assert load_config(other).model_dump(mode="json") != full, f"{path.name}: {leaf} restates the recipe"


@pytest.mark.parametrize("name", list_models())
def test_stored_configs_rebuild_without_the_recipe(name):
    """A stored config is complete: model_from_config gives back exactly its fields, and
    a field it lacks keeps the class default (not the recipe, written later)."""
    stored = create_model(name).config.model_dump(mode="json")
    assert model_from_config(stored).config.model_dump(mode="json") == stored
    snapshot = SNAPSHOT[f"{name}.yaml"]["model"]
    assert model_from_config(snapshot).config.model_dump(mode="json") == snapshot


def test_model_from_config_skips_the_recipe_create_model_applies_it():
    assert create_model("beta_vae").config.recon_loss == "l1"  # the recipe
    assert model_from_config({"name": "beta_vae"}).config.recon_loss == "mse"  # class default
    assert dict(recipe("beta_vae").model)["recon_sigma"] == 0.005


def test_overrides_merge_into_the_recipe_by_kind():
    base = {"backbone": {"kind": "small", "norm": "none"}, "beta": 3.0}
    assert merge_fields(base, {"backbone": {"width": 0.5}}) == {
        "backbone": {"kind": "small", "norm": "none", "width": 0.5}, "beta": 3.0}
    assert merge_fields(base, {"backbone": "kors000"})["backbone"] == "kors000"
    assert merge_fields(base, {"backbone": {"kind": "kors000"}})["backbone"] == {"kind": "kors000"}
    assert base == {"backbone": {"kind": "small", "norm": "none"}, "beta": 3.0}  # not modified
    wrapped = {"encoder": {"name": "st_mem", "n_outputs": 1}}
    assert merge_fields(wrapped, {"encoder": {"name": "ecg_jepa"}}) == {"encoder": {"name": "ecg_jepa"}}
    assert merge_fields(wrapped, {"encoder": {"dim": 32}})["encoder"] == {
        "name": "st_mem", "n_outputs": 1, "dim": 32}
    m = create_model("beta_vae", backbone={"width": 0.5}).config.backbone
    assert (m.width, m.norm, m.linear_skip) == (0.5, "none", True)


def test_yaml_and_set_go_on_top_of_the_recipe(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nmodel: {name: beta_vae, beta: 4.0}\ndata: {batch_size: 8}\n")
    cfg = load_config(path, ["model.backbone.width=0.5", "optim.lr=0.01"])
    assert cfg.model["beta"] == 4.0 and cfg.model["recon_loss"] == "l1"
    assert cfg.model["backbone"] == {"kind": "small", "norm": "none", "linear_skip": True,
                                     "linear_encoder": True, "width": 0.5}
    assert (cfg.data.batch_size, cfg.data.window, cfg.data.train_on) == (8, "r400", "beats")
    assert (cfg.optim.lr, cfg.optim.schedule, cfg.optim.max_epochs) == (0.01, "cosine", 28)
    # --set model.name picks that family's recipe
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: plain\nmodel: {name: beta_vae}\n")
    pca = load_config(plain, ["model.name=pca"])
    assert pca.model == {"name": "pca", "latent_dim": 10} and pca.data.batch_size == 64


def test_with_recipe_leaves_an_unknown_family_to_validation():
    raw = {"name": "x", "model": {"name": "no_such_model"}}
    assert with_recipe(raw) == raw
