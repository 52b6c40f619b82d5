"""One registry for every model family, timm-style.

    @register_model("beta_vae", description="...")
    def beta_vae(**overrides) -> VAE: ...

    list_models("*vae*")           # names matching an fnmatch pattern, sorted
    describe_models()              # {name: one-line description}
    create_model("beta_vae")       # the shipped recipe (what trainer/configs/beta_vae.yaml trains)
    create_model("beta_vae", beta=4.0, backbone="kors000")   # the recipe, two fields changed
    model_from_config(model.config.model_dump(mode="json"))   # rebuild from config.json

One place for a family's defaults: its :class:`Recipe`, registered with the factory
(``register_model(name, recipe=...)``). ``create_model(name, **overrides)`` builds
config-class defaults ← the factory's own (what makes the family: β = 3 of ``beta_vae``) ←
``recipe.model`` ← ``overrides``. ``recipe.data`` / ``recipe.optim`` are the training
sections (plain dicts: the trainer validates them); ``trainer.config.load_config`` puts a
YAML file on top of the whole recipe, so a shipped YAML holds only what differs.
``model_from_config`` skips the recipe: a stored config is a complete description, and
a field it lacks (one added after it was written) keeps the class default it had then.

An unknown name raises ``KeyError`` listing close matches; an unknown override raises
``TypeError`` naming it. The built-in models live in ``ecgcore.models.zoo`` and are
registered on first use.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

Factory = Callable[..., Any]


#: the five PTB-XL diagnostic superclasses: the task of the supervised recipes
SUPERCLASSES = ("superclass_NORM", "superclass_MI", "superclass_STTC", "superclass_CD",
                "superclass_HYP")


@dataclass(frozen=True)
class Recipe:
    """A family's shipped training recipe, sections as in a trainer YAML.

    ``model``: config fields on top of the factory's defaults (a field given here replaces
    the factory's value whole, nested configs included; overrides then change it with
    :func:`merge_fields`); ``data`` / ``optim``: keys of the
    trainer's ``DataConfig`` / ``OptimConfig`` (validated there: ``ecgcore`` stays below
    the trainer); ``source``: where the recipe comes from (a paper section, a benchmark).
    """

    model: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    optim: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def sections(self) -> dict[str, dict[str, Any]]:
        """``{"model": {...}, "data": {...}, "optim": {...}}`` as a YAML file would hold them
        (fresh lists and dicts: safe to edit)."""
        return json.loads(json.dumps({"model": dict(self.model), "data": dict(self.data),
                                      "optim": dict(self.optim)}))


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Factory
    description: str
    recipe: Recipe


class UnknownModelError(KeyError):
    """KeyError whose message prints as written (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, ModelEntry] = {}
_BUILTINS = "ecgcore.models.zoo"


def register_model(
    name: str, *, description: str | None = None, recipe: Recipe | None = None
) -> Callable[[Factory], Factory]:
    """Register ``factory(**overrides) -> model`` under ``name`` with its shipped ``recipe``
    (none: the factory's defaults are the recipe, the trainer's defaults train it).

    ``description`` defaults to the first line of the factory's docstring.
    """

    def deco(factory: Factory) -> Factory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(
            name, factory, description or (doc[0] if doc else ""), recipe or Recipe()
        )
        return factory

    return deco


def _ensure_builtins() -> None:
    importlib.import_module(_BUILTINS)


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching ``pattern`` (fnmatch), sorted."""
    _ensure_builtins()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def describe_models(pattern: str = "*") -> dict[str, str]:
    """{name: one-line description} for the names matching ``pattern``."""
    return {n: _REGISTRY[n].description for n in list_models(pattern)}


def _entry(name: str) -> ModelEntry:
    _ensure_builtins()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{hint} (registered: {', '.join(sorted(_REGISTRY))})"
        )
    return _REGISTRY[name]


def merge_fields(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` on top, field by field. A nested config given as a dict is
    merged into the base's dict of the same ``kind`` and ``name`` (``backbone={"width": 0.5}``
    keeps the recipe's other backbone fields); any other value, or a dict of another kind
    or model (``backbone="kors000"``, ``encoder={"name": "ecg_jepa"}``), replaces the
    base's value whole."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        old = out.get(key)
        same_kind = isinstance(old, Mapping) and isinstance(value, Mapping) and all(
            value.get(k, old.get(k)) == old.get(k) for k in ("kind", "name"))
        out[key] = merge_fields(old, value) if same_kind else copy.deepcopy(value)
    return out


def recipe(name: str) -> Recipe:
    """The shipped recipe of the registered model ``name``."""
    return _entry(name).recipe


def create_model(name: str, **overrides: Any) -> Any:
    """Build the registered model ``name`` as its recipe trains it; ``overrides`` change
    its config fields (:func:`merge_fields`: a nested dict of the same kind is merged).

    Nested configs take dicts (``backbone={"kind": "kors000", "width": 0.5}``); the
    backbone also takes its name (``backbone="kors000"``).
    """
    return _build(name, overrides, with_recipe=True)


def _build(name: str, overrides: dict[str, Any], with_recipe: bool) -> Any:
    entry = _entry(name)
    if "name" in overrides and overrides["name"] != name:
        raise TypeError(f"'name' is not an override: it is the registered name ({name!r})")
    overrides.pop("name", None)
    if with_recipe:
        overrides = merge_fields(entry.recipe.model, overrides)
    try:
        return entry.factory(**overrides)
    except ValidationError as err:
        unknown = [
            ".".join(str(p) for p in e["loc"])
            for e in err.errors()
            if e["type"] == "extra_forbidden"
        ]
        if unknown:
            raise TypeError(
                f"unknown override(s) for model {name!r}: {', '.join(unknown)}"
            ) from err
        raise


def model_from_config(config: BaseModel | Mapping[str, Any]) -> Any:
    """Rebuild a model (untrained) from its config or ``config.model_dump()``: the stored
    fields on the factory's defaults, without the recipe (see the module docstring)."""
    data = dict(config.model_dump() if isinstance(config, BaseModel) else config)
    try:
        name = data.pop("name")
    except KeyError:
        raise KeyError("config has no 'name' (the registered model name)") from None
    return _build(name, data, with_recipe=False)
