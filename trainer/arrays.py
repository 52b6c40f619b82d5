"""Training on in-memory arrays through the one training loop (notebooks, tests, tiny data).

``fit_arrays(model, x, ...)`` runs the same :class:`~trainer.module.LatentModule` and the
same stage switching (:func:`trainer.run.enter_stage`) as ``ecgwb train``, on arrays
instead of a cached dataset: no split, validation, early stopping, logging or run folder
(that is ``ecgwb train``). A model without trainable parameters (PCA) is fitted in closed
form, and a ``pca_init`` autoencoder's PCA path is fitted on ``x`` first, as the trainer
does on the training split. ``ecgcore`` has no training loop of its own.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ecgcore.data.cache import FIDUCIAL_KEYS as CACHE_KEYS
from ecgcore.models.capabilities import ClosedForm, Staged, pca_init_path
from ecgcore.models.losses import FIDUCIAL_KEYS as LOSS_KEYS
from trainer.config import StageConfig
from trainer.module import LatentModule


def _tensor(x: Any, dtype: torch.dtype) -> torch.Tensor | None:
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x).to(dtype)


class _Arrays(Dataset):
    """Batches in the trainer's layout: ``x``, ``fiducials`` [n, 7] (the cache's order),
    and ``mask``, ``y``, ``extra`` when given."""

    def __init__(self, **arrays: torch.Tensor | None) -> None:
        self.arrays = {k: v for k, v in arrays.items() if v is not None}

    def __len__(self) -> int:
        return len(self.arrays["x"])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.arrays.items()}


def _fiducials(fiducials: Any, n: int) -> torch.Tensor:
    """The cache's layout [n, len(CACHE_KEYS)] (NaN = absent) from the loss's five
    (``ecgcore.models.losses.FIDUCIAL_KEYS``): a [n, 5] array in that order or a dict of
    [n] arrays by those names; none: all absent (the loss is then unweighted)."""
    out = torch.full((n, len(CACHE_KEYS)), float("nan"))
    if fiducials is None:
        return out
    if isinstance(fiducials, dict):
        missing = [k for k in LOSS_KEYS if k not in fiducials]
        if missing:
            raise ValueError(f"fiducials lack {missing} (expected keys {list(LOSS_KEYS)})")
        fiducials = torch.stack([torch.as_tensor(fiducials[k]) for k in LOSS_KEYS], 1)
    cols = _tensor(fiducials, torch.float32)
    if cols.shape != (n, len(LOSS_KEYS)):
        raise ValueError(f"fiducials must be [{n}, {len(LOSS_KEYS)}] ({', '.join(LOSS_KEYS)}), "
                         f"got {list(cols.shape)}")
    for i, key in enumerate(LOSS_KEYS):
        out[:, CACHE_KEYS.index(key)] = cols[:, i]
    return out


class _EpochLoss(L.Callback):
    def __init__(self) -> None:
        self.history: list[float] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.history.append(float(trainer.callback_metrics["train/total"]))


def default_stage_names(model: torch.nn.Module, labelled: bool) -> list[str]:
    """The model's own stages (``train`` for a single-stage model), those that need labels
    only when ``labelled``."""
    stages = model.default_stages() if isinstance(model, Staged) else [{"name": "train"}]
    return [s["name"] for s in stages if labelled or not s.get("uses_labels", False)]


def fit_arrays(
    model: torch.nn.Module,
    x: Any,
    *,
    mask: Any = None,
    target: Any = None,
    extra: Any = None,
    fiducials: Any = None,
    stages: list[str] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    grad_clip: float = 0.0,
    schedule: str = "constant",
    amplitude_jitter: float = 0.0,
    seed: int = 0,
    accelerator: str = "cpu",
) -> dict[str, list[float]]:
    """Train ``model`` in place on ``x`` [N, ...] stage by stage; returns the mean training
    loss per epoch of each stage ({} for a closed-form fit). ``stages``: stage names
    (default: :func:`default_stage_names`, labelled stages only when ``target`` is given);
    ``fiducials`` [N, 5] (p_on, p_off, qrs_on, qrs_off, t_off) or a dict of those; ``target`` [N, n_outputs]; ``extra``
    [N, n_extra]; ``mask`` [N, beats]. Ends in eval mode."""
    from trainer.run import enter_stage  # run imports the data pipeline: only when training

    xs = _tensor(x, torch.float32)
    if isinstance(model, ClosedForm):  # PCA: closed form, no epochs
        model.fit(xs)
        return {}
    if pca_init_path(model) is not None:
        model.pca_path.fit(xs)
    ys = _tensor(target, torch.float32)
    data = _Arrays(x=xs, fiducials=_fiducials(fiducials, len(xs)), mask=_tensor(mask, torch.bool),
                   y=ys, extra=_tensor(extra, torch.float32))
    known = {s["name"]: s for s in model.default_stages()} if isinstance(model, Staged) else {}
    history: dict[str, list[float]] = {}
    epoch = step = 0
    L.seed_everything(seed, verbose=False)
    for name in stages or default_stage_names(model, ys is not None):
        stage = StageConfig(**{"name": name, **known.get(name, {})})
        enter_stage(model, stage)
        loader = DataLoader(data, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        module = LatentModule(model, lr, weight_decay, stage.uses_labels, epoch_offset=epoch,
                              step_offset=step, schedule=schedule, stage_epochs=epochs,
                              amplitude_jitter=amplitude_jitter)
        losses = _EpochLoss()
        trainer = L.Trainer(max_epochs=epochs, callbacks=[losses], logger=False,
                            enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, num_sanity_val_steps=0,
                            gradient_clip_val=grad_clip or None, accelerator=accelerator, devices=1)
        trainer.fit(module, loader)
        history[name] = losses.history
        epoch, step = epoch + trainer.current_epoch, step + trainer.global_step
    model.eval()
    return history
