"""Checkpoint folders that never unpickle.

A checkpoint is a folder::

    weights.safetensors   model tensors
    config.json           {"model": registered name, "config": hyper-parameters, ...}
    preprocessing.json    fs, window, leads, scaling constants: what the input must look like
    metrics.json          final metrics (optional)

plus, for resuming, ``optimizer.safetensors`` + ``state.json``. Folders are written to a
temporary sibling and swapped in with renames, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ecgcore.files import CONFIG, METRICS, OPTIMIZER, PREPROCESSING, STATE, WEIGHTS

__all__ = ["CONFIG", "METRICS", "OPTIMIZER", "PREPROCESSING", "STATE", "WEIGHTS", "CheckpointError",
           "latest_checkpoint", "load_model", "load_state_strict", "read_checkpoint",
           "read_resume_state", "save_checkpoint", "write_checkpoint_files", "write_json_atomic"]


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, corrupt or does not match the model."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; clone what needs it
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def write_checkpoint_files(
    path: str | Path,
    state_dict: dict[str, torch.Tensor],
    config: dict,
    preprocessing: dict,
    metrics: dict | None = None,
    optimizer_state: dict | None = None,
    train_state: dict | None = None,
) -> Path:
    """Write the checkpoint files into ``path``, each one atomically (tmp + rename)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / (WEIGHTS + ".tmp")
    save_file(_contiguous(state_dict), str(tmp))
    os.replace(tmp, path / WEIGHTS)
    write_json_atomic(path / CONFIG, config)
    write_json_atomic(path / PREPROCESSING, preprocessing)
    if metrics is not None:
        write_json_atomic(path / METRICS, metrics)
    if optimizer_state is not None:
        tensors, meta = flatten_optimizer_state(optimizer_state)
        tmp = path / (OPTIMIZER + ".tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, path / OPTIMIZER)
        train_state = {"optimizer": meta, **(train_state or {})}
    if train_state is not None:
        write_json_atomic(path / STATE, train_state)
    return path


def save_checkpoint(path: str | Path, *args: Any, **kwargs: Any) -> Path:
    """Write a whole checkpoint folder atomically: into a sibling, then swapped in.

    A process killed at any point leaves either the previous folder or the new one.
    Arguments as :func:`write_checkpoint_files`.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write_checkpoint_files(tmp, *args, **kwargs)
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def latest_checkpoint(path: str | Path) -> Path:
    """``path`` itself, or its ``.old`` sibling when a crash hit between the two renames."""
    path = Path(path)
    old = path.with_name(path.name + ".old")
    return path if path.exists() or not old.exists() else old


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(path.parent, f"missing {path.name}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(path.parent, f"{path.name} is not valid JSON ({exc})") from None


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """``(state_dict, config, preprocessing)`` of a checkpoint folder, with clear errors."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(path, "no such checkpoint folder")
    config = _read_json(path / CONFIG)
    preprocessing = _read_json(path / PREPROCESSING)
    weights = path / WEIGHTS
    if not weights.exists():
        raise CheckpointError(path, f"missing {WEIGHTS}")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(path, f"{WEIGHTS} is corrupt ({exc})") from None
    return state, config, preprocessing


def load_state_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load weights, failing clearly on any missing, unexpected or mis-shaped tensor."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensors (e.g. {unexpected[:3]})")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:3]))
        raise CheckpointError(path, "weights do not match the model: " + ", ".join(parts))
    module.load_state_dict(state, strict=True)


def flatten_optimizer_state(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split a torch optimizer state dict into tensors and JSON-able metadata."""
    tensors: dict[str, torch.Tensor] = {}
    meta_state: dict[str, dict] = {}
    for pid, pstate in state["state"].items():
        meta_state[str(pid)] = {}
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous().clone()
                meta_state[str(pid)][key] = "__tensor__"
            else:
                meta_state[str(pid)][key] = value
    return tensors, {"state": meta_state, "param_groups": state["param_groups"]}


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state = {}
    for pid, pstate in meta["state"].items():
        state[int(pid)] = {k: tensors[f"{pid}.{k}"] if v == "__tensor__" else v for k, v in pstate.items()}
    return {"state": state, "param_groups": meta["param_groups"]}


def read_resume_state(path: str | Path) -> tuple[dict | None, dict]:
    """``(optimizer state dict or None, train state)`` saved beside the weights."""
    path = Path(path)
    state = _read_json(path / STATE)
    opt = None
    if (path / OPTIMIZER).exists():
        try:
            opt = unflatten_optimizer_state(load_file(str(path / OPTIMIZER)), state.pop("optimizer"))
        except (SafetensorError, OSError, KeyError) as exc:
            raise CheckpointError(path, f"{OPTIMIZER} is corrupt ({exc})") from None
    return opt, state


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """Rebuild a model from a checkpoint folder (or a run folder): ``(model in eval mode, preprocessing)``."""
    from ecgcore.models import model_from_config

    state, config, preprocessing = read_checkpoint(path)
    if "model" not in config:
        raise CheckpointError(path, f"{CONFIG} has no 'model' section")
    try:
        model = model_from_config(config["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(path, f"{CONFIG} does not describe a known model ({exc})") from None
    load_state_strict(model, state, path)
    return model.eval(), preprocessing
