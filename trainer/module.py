"""The one LightningModule: it trains any registered model through ``model.loss``."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from ecgcore.data.cache import FIDUCIAL_KEYS
from ecgcore.models.capabilities import ParameterGroups, StepHook

# The model's loss takes fiducials by name; the cache stores them in FIDUCIAL_KEYS order.
_FID_INDEX = {k: i for i, k in enumerate(FIDUCIAL_KEYS)}


class NonFiniteLossError(RuntimeError):
    pass


def jitter_amplitude(x: torch.Tensor, sd: float) -> torch.Tensor:
    """Each example of ``x`` [B, ...] times its own factor 1 + N(0, sd²), clipped to 0.5–1.5.

    PCA is exactly equivariant to amplitude; a convolutional autoencoder trained on a few
    hundred patients is not, and this teaches it the amplitude range it will meet.
    """
    factor = (1.0 + sd * torch.randn(x.shape[0], *([1] * (x.ndim - 1)), device=x.device)).clamp(0.5, 1.5)
    return x * factor.to(x.dtype)


#: weight decay inside the gradient (Adam's L2) or decoupled from it (AdamW)
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
ONE_CYCLE_WARMUP, ONE_CYCLE_DIV, ONE_CYCLE_FINAL_DIV = 0.3, 25.0, 25.0 * 1e4  # fastai v1's defaults


def _cosine_between(start: float, end: float, t: float) -> float:
    """From ``start`` at t = 0 to ``end`` at t = 1 along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))


def cosine_factor(progress: float) -> float:
    """Learning-rate factor at ``progress`` (0–1) of a stage: cosine decay from 1 to 0."""
    return _cosine_between(1.0, 0.0, min(1.0, max(0.0, progress)))


def one_cycle_factor(progress: float) -> float:
    """fastai's ``fit_one_cycle`` learning-rate factor at ``progress`` (0–1): cosine from
    1/25 up to 1 over the first 30 %, then cosine down to 1/(25·10⁴) (fastai v1, as the
    PTB-XL benchmark ran it; its momentum cycle is not reproduced: Adam's β₁ stays 0.9)."""
    p = min(1.0, max(0.0, progress))
    if p < ONE_CYCLE_WARMUP:
        return _cosine_between(1.0 / ONE_CYCLE_DIV, 1.0, p / ONE_CYCLE_WARMUP)
    return _cosine_between(1.0, 1.0 / ONE_CYCLE_FINAL_DIV, (p - ONE_CYCLE_WARMUP) / (1.0 - ONE_CYCLE_WARMUP))


#: learning-rate factor over a stage's progress, per schedule (constant: no scheduler)
SCHEDULES = {"constant": None, "cosine": cosine_factor, "one_cycle": one_cycle_factor}


class LatentModule(L.LightningModule):
    """Wraps a registered model for one training stage.

    ``epoch_offset``/``step_offset`` continue the counts of earlier stages or of the run
    being resumed, so that β schedules and logs see one continuous training.
    ``amplitude_jitter`` scales each training example by a random factor (``jitter_amplitude``).
    ``schedule="cosine"`` decays the learning rate to 0 over ``stage_epochs`` epochs, of
    which ``stage_epochs_done`` already ran (a resumed stage continues its curve);
    ``"one_cycle"`` follows :func:`one_cycle_factor` over the same span.
    ``optimizer="adamw"`` decouples the weight decay from the gradient (``"adam"``: L2).
    """

    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float, uses_labels: bool,
                 epoch_offset: int = 0, step_offset: int = 0, optimizer_state: dict | None = None,
                 schedule: str = "constant", stage_epochs: int = 1, stage_epochs_done: int = 0,
                 amplitude_jitter: float = 0.0, optimizer: str = "adam"):
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {schedule!r}; expected one of {tuple(SCHEDULES)}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {tuple(OPTIMIZERS)}")
        self.optimizer_name = optimizer
        self.model = model
        self.lr, self.weight_decay, self.uses_labels = lr, weight_decay, uses_labels
        self.epoch_offset, self.step_offset = epoch_offset, step_offset
        self._optimizer_state = optimizer_state
        self.schedule, self.stage_epochs, self.stage_epochs_done = schedule, stage_epochs, stage_epochs_done
        self.amplitude_jitter = amplitude_jitter

    @property
    def epoch(self) -> int:
        return self.current_epoch + self.epoch_offset

    def _loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fid = batch["fiducials"]
        fiducials = {k: fid[:, _FID_INDEX[k]] for k in ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")}
        kwargs: dict[str, Any] = {"fiducials": fiducials, "extra": batch.get("extra"),
                                  "step": self.global_step + self.step_offset, "epoch": self.epoch}
        if "mask" in batch:
            kwargs["mask"] = batch["mask"]
        if self.uses_labels and "y" in batch:
            kwargs["target"] = batch["y"]
        return self.model.loss(batch["x"], **kwargs)

    def _log_terms(self, terms: dict[str, torch.Tensor], prefix: str, on_step: bool) -> None:
        for name, value in terms.items():
            self.log(f"{prefix}/{name}", value.detach().float(), on_step=on_step, on_epoch=True,
                     prog_bar=name == "total", sync_dist=not on_step, batch_size=None)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.amplitude_jitter > 0:
            batch = {**batch, "x": jitter_amplitude(batch["x"], self.amplitude_jitter)}
        terms = self._loss(batch)
        total = terms["total"]
        if not torch.isfinite(total):
            bad = [k for k, v in terms.items() if not math.isfinite(float(v.detach()))]
            raise NonFiniteLossError(
                f"loss became {float(total.detach())} at epoch {self.epoch}, "
                f"step {self.global_step + self.step_offset} "
                f"(non-finite terms: {bad}); lower optim.lr or check the data")
        self._log_terms(terms, "train", on_step=False)
        return total

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if isinstance(self.model, StepHook):
            self.model.on_train_batch_end(self.global_step + self.step_offset)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._log_terms(self._loss(batch), "val", on_step=False)

    def configure_optimizers(self) -> Any:
        params = self.model.parameter_groups(self.weight_decay) if isinstance(
            self.model, ParameterGroups) else [
            {"params": [p for p in self.model.parameters() if p.requires_grad], "weight_decay": self.weight_decay}]
        optimizer = OPTIMIZERS[self.optimizer_name](params, lr=self.lr)
        shape = SCHEDULES[self.schedule]
        if shape is None:
            return optimizer
        # the factor is a function of the stage's progress in epochs, so a resumed stage
        # needs no saved scheduler state
        steps_per_epoch = max(1.0, self.trainer.estimated_stepping_batches / max(1, self.trainer.max_epochs))

        def factor(step: int) -> float:
            return shape((self.stage_epochs_done + step / steps_per_epoch) / self.stage_epochs)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_start(self) -> None:
        if self._optimizer_state is not None:  # resuming: Adam's moments continue
            self.trainer.optimizers[0].load_state_dict(self._optimizer_state)
            self._optimizer_state = None
