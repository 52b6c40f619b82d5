"""What a run writes at the end of every epoch: metrics row, resumable checkpoint, best
weights, and the early-stopping decision."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import lightning as L

from ecgcore.checkpoint import save_checkpoint, write_checkpoint_files
from ecgcore.files import METRICS_CSV  # declared once
from ecgcore.models.capabilities import EpochMetrics


def _scalar(v: Any) -> float:
    return float(v.detach().cpu()) if hasattr(v, "detach") else float(v)


class RunRecorder(L.Callback):
    """Per epoch (rank 0 writes, every rank agrees on stopping):

    1. append one row to ``metrics.csv`` (flushed, so a crash loses nothing written);
    2. save ``checkpoints/last`` atomically with optimizer and progress state;
    3. when validation loss improves (``keep="best"``), or every epoch (``keep="last"``),
       write the weights to the run folder itself.

    On resume the rows after the last checkpoint are dropped and those epochs re-run, so
    the CSV ends with exactly one row per epoch.
    """

    def __init__(self, run_dir: Path, stage: str, stage_index: int, patience: int,
                 config: dict, preprocessing: dict, state: dict, keep: str = "best"):
        if keep not in ("best", "last"):
            raise ValueError(f"keep must be 'best' or 'last', got {keep!r}")
        self.keep = keep
        self.run_dir, self.stage, self.stage_index = run_dir, stage, stage_index
        self.patience, self.config, self.preprocessing = patience, config, preprocessing
        self.best = state.get("best_val", math.inf)
        self.wait = state.get("wait", 0)
        self.epochs_done = state.get("stage_epochs_done", 0)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: _scalar(v) for k, v in trainer.callback_metrics.items()}
        if isinstance(module.model, EpochMetrics):  # e.g. codebook usage
            metrics.update({f"model/{k}": float(v) for k, v in module.model.epoch_metrics().items()})
        val = metrics.get("val/total", metrics.get("train/total", math.nan))
        improved = val < self.best
        if improved:
            self.best, self.wait = val, 0
        else:
            self.wait += 1
        self.epochs_done += 1
        row = {"epoch": module.epoch, "stage": self.stage, "step": trainer.global_step + module.step_offset,
               **{k: round(v, 6) for k, v in sorted(metrics.items()) if not k.endswith("_step")}}
        if trainer.is_global_zero:
            append_metrics_row(self.run_dir / METRICS_CSV, row)
            state = {"stage_index": self.stage_index, "stage": self.stage,
                     "stage_epochs_done": self.epochs_done, "epoch": module.epoch + 1,
                     "global_step": trainer.global_step + module.step_offset,
                     "best_val": self.best, "wait": self.wait}
            model = module.model
            save_checkpoint(self.run_dir / "checkpoints" / "last", model.state_dict(),
                            self.config, self.preprocessing,
                            optimizer_state=trainer.optimizers[0].state_dict(), train_state=state)
            if improved or self.keep == "last":
                write_checkpoint_files(self.run_dir, model.state_dict(), self.config, self.preprocessing)
        stop = self.wait >= self.patience
        trainer.should_stop = trainer.should_stop or trainer.strategy.reduce_boolean_decision(stop, all=False)


def append_metrics_row(path: Path, row: dict) -> None:
    """Append a row; a new column (a later stage logs more terms) rewrites the header."""
    rows = read_metrics(path)
    fields = list(rows[0].keys()) if rows else []
    new = [k for k in row if k not in fields]
    if new or not path.exists():
        rows.append({k: row.get(k, "") for k in fields + new})
        _write_rows(path, fields + new, rows)
        return
    with path.open("a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=fields).writerow({k: row.get(k, "") for k in fields})
        fh.flush()


def read_metrics(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write_rows(path: Path, fields: list[str], rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows({k: r.get(k, "") for k in fields} for r in rows)
    tmp.replace(path)


def truncate_metrics(path: Path, epochs_done: int) -> None:
    """Keep only the rows of epochs that the last checkpoint includes."""
    rows = read_metrics(path)
    if rows:
        keep = [r for r in rows if int(r["epoch"]) < epochs_done]
        _write_rows(path, list(rows[0].keys()), keep)
