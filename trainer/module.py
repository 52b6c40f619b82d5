"""The one LightningModule: it trains any registered model through ``model.loss``."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from ecgcore.data.cache import FIDUCIAL_KEYS

# The model's loss takes fiducials by name; the cache stores them in FIDUCIAL_KEYS order.
_FID_INDEX = {k: i for i, k in enumerate(FIDUCIAL_KEYS)}


class NonFiniteLossError(RuntimeError):
    pass


class LatentModule(L.LightningModule):
    """Wraps a registered model for one training stage.

    ``epoch_offset``/``step_offset`` continue the counts of earlier stages or of the run
    being resumed, so that β schedules and logs see one continuous training.
    """

    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float, uses_labels: bool,
                 epoch_offset: int = 0, step_offset: int = 0, optimizer_state: dict | None = None):
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.uses_labels = lr, weight_decay, uses_labels
        self.epoch_offset, self.step_offset = epoch_offset, step_offset
        self._optimizer_state = optimizer_state

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
        terms = self._loss(batch)
        total = terms["total"]
        if not torch.isfinite(total):
            bad = [k for k, v in terms.items() if not math.isfinite(float(v.detach()))]
            raise NonFiniteLossError(
                f"loss became {float(total)} at epoch {self.epoch}, step {self.global_step + self.step_offset} "
                f"(non-finite terms: {bad}); lower optim.lr or check the data")
        self._log_terms(terms, "train", on_step=False)
        return total

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        hook = getattr(self.model, "on_train_batch_end", None)
        if callable(hook):
            hook(self.global_step + self.step_offset)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._log_terms(self._loss(batch), "val", on_step=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups_fn = getattr(self.model, "parameter_groups", None)
        params = groups_fn(self.weight_decay) if callable(groups_fn) else [
            {"params": [p for p in self.model.parameters() if p.requires_grad], "weight_decay": self.weight_decay}]
        return torch.optim.Adam(params, lr=self.lr)

    def on_train_start(self) -> None:
        if self._optimizer_state is not None:  # resuming: Adam's moments continue
            self.trainer.optimizers[0].load_state_dict(self._optimizer_state)
            self._optimizer_state = None
