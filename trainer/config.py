"""The typed training configuration, validated before any work starts.

A YAML file holds one ``TrainConfig`` on top of its model family's shipped recipe
(``ecgcore.models.registry.Recipe``, registered with the family: :func:`with_recipe`), so
a shipped YAML names the family and only what differs; ``--set key=value`` overrides any field by its
dotted path (``--set optim.lr=3e-4 --set model.latent_dim=30``). Unknown keys and bad
values are errors that name the key. The model section is the registered model name
plus its overrides, validated by the model registry itself, so the Train page and the
command line accept exactly the same thing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# the data section and its error live in the library (opening a run rebuilds its dataset)
from ecgcore.data.spec import ConfigError, DataConfig

__all__ = ["ConfigError", "DataConfig", "HardwareConfig", "InitFromConfig", "OptimConfig", "StageConfig", "TrainConfig",
           "apply_overrides", "load_config", "validate_config", "with_recipe"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptimConfig(_Strict):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0, description="weight decay (L2 or decoupled: see optimizer)")
    grad_clip: float = Field(1.0, ge=0, description="gradient norm clipping (0: off)")
    optimizer: Literal["adam", "adamw"] = Field(
        "adam", description="adam: weight decay as an L2 term added to the gradient; adamw: "
        "decoupled weight decay (Loshchilov & Hutter; fastai's default, the PTB-XL benchmark's)")
    schedule: Literal["constant", "cosine", "one_cycle"] = Field(
        "constant", description="learning rate over each stage: constant; cosine decay to 0 "
        "across the stage's max_epochs; or one cycle (fastai's fit_one_cycle: cosine warm-up "
        "from lr/25 over the first 30 %, then cosine decay to lr/(25·10⁴))")
    keep: Literal["best", "last"] = Field(
        "best", description="the weights a run keeps: the epoch of lowest validation loss, or "
        "the last epoch (the PTB-XL benchmark's, trained to the end of its schedule)")
    max_epochs: int = Field(50, ge=1)
    patience: int = Field(25, ge=1, description="early stopping on validation loss (001: 25)")
    seed: int = 0


class StageConfig(_Strict):
    """One step of a multi-step schedule (e.g. pretrain → head only → end to end)."""

    name: str
    uses_labels: bool = False
    freeze_backbone: bool = False
    max_epochs: int | None = Field(None, ge=1, description="default: optim.max_epochs")
    patience: int | None = Field(None, ge=1)
    lr: float | None = Field(None, gt=0)
    balanced_sampling: bool | None = Field(None, description="default: on when the stage uses labels")


class HardwareConfig(_Strict):
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | Literal["auto"] = "auto"
    strategy: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = "auto"
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = Field(
        "auto", description="auto: mixed precision on GPU, 32-bit on CPU")


class InitFromConfig(_Strict):
    """A warm start: this run's model begins with (some of) another run's weights."""

    run: str = Field(..., description="a run folder (or checkpoint folder) whose weights start this run")
    modules: list[str] = Field(default_factory=list, description="the state-dict prefixes copied "
                               "(e.g. [encoder, norm]); empty: every tensor of that run")
    into: str = Field("", description="prefix of the copied tensors in this model (e.g. 'encoder.' "
                      "when a wrapper such as triplet_finetune holds the pre-trained model)")
    freeze: bool = Field(False, description="keep the copied weights fixed for the whole training")


class TrainConfig(_Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="run name prefix")
    model: dict[str, Any] = Field(..., description="registered model name plus overrides")
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    stages: list[StageConfig] | None = Field(None, description="default: the model's own stages")
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    init_from: InitFromConfig | None = Field(None, description="start from another run's weights")

    @field_validator("model")
    @classmethod
    def _model_known(cls, v: dict[str, Any]) -> dict[str, Any]:
        from ecgcore.models import list_models

        if "name" not in v:
            raise ValueError("model needs a 'name' (see `ecgwb models`)")
        if v["name"] not in list_models():
            raise ValueError(f"unknown model {v['name']!r}; registered: {', '.join(list_models())}")
        return v


def _parse_value(text: str) -> Any:
    return yaml.safe_load(text) if text != "" else ""


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """``["optim.lr=3e-4", "model.latent_dim=30"]`` applied to a config dict (copied)."""
    out = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {p!r} is not a section")
        node[parts[-1]] = _parse_value(value)
    return out


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def validate_config(raw: dict, source: str = "config") -> TrainConfig:
    """A validated TrainConfig, or ConfigError listing every bad key (model included)."""
    try:
        cfg = TrainConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{source}: invalid config\n{_format_errors(err)}") from None
    from ecgcore.models import create_model

    try:  # the registry validates the model's own fields
        model = create_model(**resolve_model_overrides(cfg))
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"{source}: invalid model section: {err}") from None
    if cfg.data.val_in_train:
        _check_val_in_train(cfg, model, source)
    return cfg


def stages_for(model: Any, cfg: TrainConfig) -> list[StageConfig]:
    """The stages a run of ``model`` trains: the config's, else the model's own, else one."""
    from ecgcore.models.capabilities import Staged

    if cfg.stages:
        return cfg.stages
    if isinstance(model, Staged):
        return [StageConfig(**s) for s in model.default_stages()]
    return [StageConfig(name="train")]


def _check_val_in_train(cfg: TrainConfig, model: Any, source: str) -> None:
    """Training on the validation split is honest only when nothing is chosen on it: the
    last weights are kept and no stage can stop early."""
    if cfg.optim.keep != "last":
        raise ConfigError(f"{source}: data.val_in_train needs optim.keep=last (the lowest "
                          "validation loss would be chosen on training records)")
    for stage in stages_for(model, cfg):
        epochs = stage.max_epochs or cfg.optim.max_epochs
        patience = stage.patience or cfg.optim.patience
        if patience < epochs:
            raise ConfigError(f"{source}: data.val_in_train needs no early stopping: stage "
                              f"{stage.name!r} has patience {patience} < {epochs} epochs")


#: the sections a family's recipe fills in (key by key: a key the file gives wins)
RECIPE_SECTIONS = ("model", "data", "optim")


def with_recipe(raw: dict[str, Any], family: str | None = None) -> dict[str, Any]:
    """``raw`` (a YAML file's sections) on top of the recipe of ``family`` (default: its
    ``model.name``), field by field in the model, data and optim sections as
    ``create_model`` does (``ecgcore.models.registry.merge_fields``). Without a known family,
    ``raw`` is returned as is (validation then names the problem). Stored run configs are
    complete and are not passed through here."""
    from ecgcore.models import list_models
    from ecgcore.models.registry import merge_fields, recipe

    model = raw.get("model")
    name = family or (model.get("name") if isinstance(model, dict) else None)
    if not isinstance(name, str) or name not in list_models():
        return copy.deepcopy(raw)
    out = recipe(name).sections()
    for key, value in raw.items():
        if key in RECIPE_SECTIONS and isinstance(value, dict):
            out[key] = merge_fields(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """The YAML file at ``path`` on its family's recipe (:func:`with_recipe`), then the
    ``--set`` overrides (the recipe is that of the model named after them)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a mapping of sections")
    model = apply_overrides(raw, overrides or []).get("model")  # --set model.name=… picks the recipe
    family = model.get("name") if isinstance(model, dict) else None
    return validate_config(apply_overrides(with_recipe(raw, family), overrides or []), str(path))


def window_samples(cfg: DataConfig) -> int:
    from ecgcore.signal.beats import WINDOWS

    return WINDOWS[cfg.window].n_samples(cfg.fs)


def n_input_leads(cfg: DataConfig) -> int:
    from ecgcore.leads import n_selected_leads

    return n_selected_leads(cfg.leads)


def resolve_model_overrides(cfg: TrainConfig) -> dict[str, Any]:
    """The model section with what the data section decides filled in: the input shape
    (leads × window, or leads × 10 s for whole-signal models), the number of task outputs
    and of extra scalar inputs."""
    from ecgcore.models import create_model

    m = dict(cfg.model)
    # built at the default input size (cheap), with the user's choices (e.g. input_array)
    defaults = create_model(**{k: v for k, v in m.items() if k != "input_shape"}).config
    fields = type(defaults).model_fields
    array = getattr(defaults, "input_array", "median")
    if "input_shape" not in m:
        length = int(round(10 * cfg.data.fs)) if array == "signals" else window_samples(cfg.data)
        m["input_shape"] = (n_input_leads(cfg.data), length)
    schedule = getattr(defaults, "schedule", None)
    if schedule is not None and "schedule" not in m and hasattr(schedule, "length"):
        # β schedules span the whole training unless the config says otherwise
        m["schedule"] = {**schedule.model_dump(mode="json"), "length": total_epochs(cfg)}
    if "fs" in fields:
        m.setdefault("fs", cfg.data.fs)  # patch length in samples follows the rate
    if "encoder" in fields:  # a wrapper (triplet fine-tuning): its encoder reads these data too
        inner = dict(m.get("encoder") or fields["encoder"].get_default(call_default_factory=True))
        if "fs" in type(create_model(**inner).config).model_fields:
            inner.setdefault("fs", cfg.data.fs)
        m["encoder"] = inner
    if "n_extra" in fields:  # also 0: without data.extra the head must not wait for extras
        m.setdefault("n_extra", len(cfg.data.extra))
    if cfg.data.task and "n_outputs" in fields:
        m.setdefault("n_outputs", len(cfg.data.task))
    return m


def total_epochs(cfg: TrainConfig) -> int:
    if not cfg.stages:
        return cfg.optim.max_epochs
    return sum(s.max_epochs or cfg.optim.max_epochs for s in cfg.stages)


def input_array(model: Any) -> str:
    """The cache array a model eats: median beats unless its config says otherwise."""
    return getattr(model.config, "input_array", "median")
