"""Warm starts (``init_from`` in the config, ``ecgwb train --init-from RUN``): a new run's
model begins with some or all of another run's weights, optionally frozen — seed 004's
linear probe, kNN and triplet fine-tuning of a pre-trained ST-MEM.

Loading is strict: every copied tensor must exist in the new model with the same shape,
and every named module must exist in the source; anything else is a ConfigError naming
the run and the tensors. The new model's other tensors (a new head) keep their fresh
initialisation and are listed in ``<run>/init_from.json``. The copied encoder is fed
inputs in the units it learned: the new run takes the source run's input scale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ecgcore.checkpoint import CheckpointError, read_checkpoint, write_json_atomic
from ecgcore.files import PREPROCESSING
from ecgcore.preprocessing import Preprocessing, PreprocessingError
from trainer.config import ConfigError, InitFromConfig

INIT_FROM = "init_from.json"  # what a warm start copied, left fresh and froze
#: Preprocessing fields that must agree: the copied weights read inputs of this form.
_INPUT_FIELDS = ("array", "fs", "window", "leads")


def _under(key: str, prefixes: list[str]) -> bool:
    return not prefixes or any(key == m or key.startswith(m.rstrip(".") + ".") for m in prefixes)


def warm_start(model: torch.nn.Module, init: InitFromConfig, preprocessing: Preprocessing) -> dict[str, Any]:
    """Copy ``init``'s tensors into ``model`` (strict, see the module docstring) and return
    the summary written to ``init_from.json``: source, copied / fresh tensor names, the
    source's ``scale_uv`` (the caller must use it for this run's inputs)."""
    path = Path(init.run).expanduser().resolve()
    try:
        state, config, source_prep = read_checkpoint(path)
    except CheckpointError as exc:
        raise ConfigError(f"init_from: {exc}") from None
    try:
        source = Preprocessing.from_dict(source_prep, path / PREPROCESSING)
    except PreprocessingError as exc:
        raise ConfigError(f"init_from: {exc}") from None
    mismatch = [f"{k}: {getattr(source, k)!r} there, {getattr(preprocessing, k)!r} here"
                for k in _INPUT_FIELDS if getattr(source, k) != getattr(preprocessing, k)]
    if mismatch:
        raise ConfigError(f"init_from {path}: its inputs differ from this run's ("
                          + "; ".join(mismatch) + ")")
    chosen = {k: v for k, v in state.items() if _under(k, init.modules)}
    tops = sorted({k.split(".")[0] for k in state})
    empty = [m for m in init.modules if not any(_under(k, [m]) for k in state)]
    if empty:
        raise ConfigError(f"init_from {path}: no tensor under {empty}; its modules: {tops}")
    own = model.state_dict()
    target = {init.into + k: v for k, v in chosen.items()}
    absent = sorted(k for k in target if k not in own)
    shapes = [f"{k}: {tuple(v.shape)} there, {tuple(own[k].shape)} here"
              for k, v in target.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if absent or shapes:
        parts = []
        if absent:
            parts.append(f"{len(absent)} tensor(s) this model lacks (e.g. {absent[:3]})")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:3]))
        raise ConfigError(f"init_from {path} ({config.get('model', {}).get('name')}): "
                          + ", ".join(parts) + ". Choose modules that match, e.g. modules: "
                          f"[{', '.join(tops)}]")
    model.load_state_dict({**own, **target}, strict=True)
    params = {n for n, _ in model.named_parameters()}
    return {"run": str(path), "model": (config.get("model") or {}).get("name"),
            "modules": list(init.modules), "into": init.into, "freeze": init.freeze,
            "copied": sorted(target), "fresh": sorted(set(own) - set(target)),
            "frozen": sorted(k for k in target if k in params) if init.freeze else [],
            "scale_uv": float(source.scale_uv)}


def apply_freeze(model: torch.nn.Module, frozen: list[str]) -> None:
    """Fix the warm start's frozen parameters (after a stage set its own freezing)."""
    names = set(frozen)
    for name, p in model.named_parameters():
        if name in names:
            p.requires_grad_(False)


class FrozenNormsInEval(L.Callback):
    """Batch norms whose parameters are all frozen keep their running statistics: they stay
    in eval mode while the rest of the model trains (Lightning sets train mode each epoch)."""

    def __init__(self, model: torch.nn.Module, frozen: list[str]) -> None:
        names = set(frozen)
        self.modules = [m for name, m in model.named_modules()
                        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and names
                        and all(f"{name}.{p}" in names for p, _ in m.named_parameters())]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        for m in self.modules:
            m.eval()


def read_summary(run_dir: Path) -> dict | None:
    """A resumed run's ``init_from.json`` (None when it was not warm-started)."""
    path = run_dir / INIT_FROM
    return json.loads(path.read_text()) if path.exists() else None


def write_summary(run_dir: Path, summary: dict) -> None:
    write_json_atomic(run_dir / INIT_FROM, summary)
