"""One registry for every model family, timm-style.

    @register_model("beta_vae", description="...")
    def beta_vae(**overrides) -> VAE: ...

    list_models("*vae*")           # names matching an fnmatch pattern, sorted
    describe_models()              # {name: one-line description}
    create_model("beta_vae", beta=4.0, backbone="kors000")
    model_from_config(model.config.model_dump(mode="json"))   # rebuild from config.json

An unknown name raises ``KeyError`` listing close matches; an unknown override raises
``TypeError`` naming it. The built-in models live in ``ecgcore.models.zoo`` and are
registered on first use.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

Factory = Callable[..., Any]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Factory
    description: str


class UnknownModelError(KeyError):
    """KeyError whose message prints as written (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, ModelEntry] = {}
_BUILTINS = "ecgcore.models.zoo"


def register_model(name: str, *, description: str | None = None) -> Callable[[Factory], Factory]:
    """Register ``factory(**overrides) -> model`` under ``name``.

    ``description`` defaults to the first line of the factory's docstring.
    """

    def deco(factory: Factory) -> Factory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, factory, description or (doc[0] if doc else ""))
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


def create_model(name: str, **overrides: Any) -> Any:
    """Build the registered model ``name``; ``overrides`` set its config fields.

    Nested configs take dicts (``backbone={"kind": "kors000", "width": 0.5}``); the
    backbone also takes its name (``backbone="kors000"``).
    """
    entry = _entry(name)
    if "name" in overrides and overrides["name"] != name:
        raise TypeError(f"'name' is not an override: it is the registered name ({name!r})")
    overrides.pop("name", None)
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
    """Rebuild a model (untrained) from its config or ``config.model_dump()``."""
    data = dict(config.model_dump() if isinstance(config, BaseModel) else config)
    try:
        name = data.pop("name")
    except KeyError:
        raise KeyError("config has no 'name' (the registered model name)") from None
    return create_model(name, **data)
