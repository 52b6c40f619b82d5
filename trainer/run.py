"""`ecgwb train`: one config → one run folder, stage by stage, resumable.

Run folder::

    config.yaml          the resolved config (overrides applied, data path absolute)
    split.json           record ids of train / val / test (and the labelled subset)
    config.json, preprocessing.json, weights.safetensors   the best model so far
    metrics.csv          one row per epoch (every loss term, train and val)
    metrics.json         final summary (status, epochs, best and test losses, speed)
    checkpoints/last/    weights + optimizer + progress, for --resume
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml

from ecgcore.checkpoint import (
    latest_checkpoint,
    load_state_strict,
    read_checkpoint,
    read_resume_state,
    write_checkpoint_files,
    write_json_atomic,
)
from ecgcore.data.locking import FolderBusy, folder_lock
from ecgcore.files import CONFIG, PREPROCESSING, RUN_CONFIG, SPLIT, STATUS, WEIGHTS
from ecgcore.models import create_model
from ecgcore.models.capabilities import (
    ClosedForm,
    ExtraInputs,
    Freezable,
    StageAware,
    Trainable,
    pca_init_path,
)
from trainer.callbacks import METRICS_CSV, RunRecorder, append_metrics_row, truncate_metrics
from trainer.config import (
    ConfigError,
    StageConfig,
    TrainConfig,
    input_array,
    resolve_model_overrides,
    stages_for,
    validate_config,
)
from trainer.data import PreparedData, prepare_data, write_split
from trainer.module import LatentModule
from trainer.warm_start import (
    FrozenNormsInEval,
    apply_freeze,
    read_summary,
    warm_start,
    write_summary,
)

RUN_DIR_ENV = "ECGWB_RUN_DIR"  # shares the run folder with DDP worker processes


def _is_worker_process() -> bool:
    """True in the processes Lightning's DDP launcher starts for ranks > 0."""
    return os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"


def enter_stage(model: torch.nn.Module, stage: StageConfig) -> None:
    """Tell the model which stage runs and freeze or thaw its backbone as the stage says."""
    if isinstance(model, StageAware):
        model.set_stage(stage.name)
    if isinstance(model, Freezable):
        (model.freeze_backbone if stage.freeze_backbone else model.unfreeze_backbone)()


def _hardware(cfg: TrainConfig) -> dict[str, Any]:
    hw = cfg.hardware
    precision = hw.precision
    if precision == "auto":
        cuda = torch.cuda.is_available() and hw.accelerator in ("auto", "gpu", "cuda")
        precision = ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed") if cuda else "32-true"
    # DDP on CPU uses the gloo backend, which Lightning picks by itself
    return {"accelerator": hw.accelerator, "devices": hw.devices, "strategy": hw.strategy,
            "precision": precision}


def new_run_dir(runs: Path, name: str) -> Path:
    """Create and return a new, empty run folder ``runs/NAME-STAMP[-n]``. Creating it is
    the claim (``mkdir`` fails when it exists), so two processes started in the same second
    never share a folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    runs.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        run = runs / (f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
        try:
            run.mkdir()
            return run
        except FileExistsError:
            n += 1


def build_model(cfg: TrainConfig, prepared: PreparedData | None = None) -> torch.nn.Module:
    model = create_model(**resolve_model_overrides(cfg))
    if prepared is not None and prepared.extra_stats and isinstance(model, ExtraInputs):
        loc = [prepared.extra_stats[c][0] for c in prepared.data.extra]
        scale = [prepared.extra_stats[c][1] for c in prepared.data.extra]
        model.set_extra_normalization(loc, scale)
    return model


def _model_config(model: torch.nn.Module) -> dict:
    return {"model": model.config.model_dump(mode="json"), "format": "ecgwb-checkpoint-1"}


def train(cfg: TrainConfig, runs: Path, progress: bool = True, run_dir: Path | None = None) -> Path:
    """Train ``cfg`` into a new run folder under ``runs`` (or continue ``run_dir``).

    The training process holds the run folder's lock until it returns, so a second process
    (a resume clicked twice, `ecgwb train --resume` beside the Train view) fails clearly
    instead of writing the same folder."""
    with ExitStack() as claim:
        return _train(cfg, runs, progress, run_dir, claim)


def _claim_run(run_dir: Path, claim: ExitStack) -> None:
    if _is_worker_process():  # DDP workers write beside their main process, which holds it
        return
    try:
        claim.enter_context(folder_lock(run_dir, wait=False))
    except FolderBusy:
        raise ConfigError(f"{run_dir}: another process is training this run folder") from None


def _train(cfg: TrainConfig, runs: Path, progress: bool, run_dir: Path | None,
           claim: ExitStack) -> Path:
    resuming = run_dir is not None
    if os.environ.get(RUN_DIR_ENV) and _is_worker_process():
        run_dir, resuming = Path(os.environ[RUN_DIR_ENV]), True
    if resuming:
        _claim_run(run_dir, claim)  # before the data work: a second resume stops at once
    runs.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.optim.seed, workers=True, verbose=False)
    model = build_model(cfg)
    array = input_array(model)
    prepared = prepare_data(cfg.data, array, runs / ".cache", cfg.optim.seed, progress and not _is_worker_process())
    model = build_model(cfg, prepared)
    warm = None
    if cfg.init_from is not None:  # a warm start; a resumed run reloads its weights below
        warm = read_summary(run_dir) if resuming else None
        if warm is None:
            warm = warm_start(model, cfg.init_from, prepared.preprocessing())
        prepared.scale_uv = warm["scale_uv"]  # the copied weights read inputs in these units
    copied_pca = warm is not None and any(k.startswith("pca_path.") for k in warm["copied"])
    if pca_init_path(model) is not None and not copied_pca:  # pca_init; a resumed run reloads it
        model.pca_path.fit(prepared.inputs("train"))
    stages = stages_for(model, cfg)
    preprocessing = prepared.preprocessing().to_dict()  # the JSON form every checkpoint carries
    model_cfg = _model_config(model)

    state: dict[str, Any] = {}
    optimizer_state = None
    if resuming:
        last = latest_checkpoint(run_dir / "checkpoints" / "last")
        if last.exists():
            weights, _, _ = read_checkpoint(last)
            load_state_strict(model, weights, last)
            optimizer_state, state = read_resume_state(last)
            if not _is_worker_process():
                truncate_metrics(run_dir / METRICS_CSV, state["epoch"])
    else:
        run_dir = new_run_dir(runs, cfg.name)
        _claim_run(run_dir, claim)
        (run_dir / RUN_CONFIG).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    if not _is_worker_process():
        # a new run, or a folder prepared by trainer.jobs (config.yaml only) or interrupted
        # before its first epoch: the split and preprocessing are written once
        if not (run_dir / SPLIT).exists():
            write_split(run_dir / SPLIT, prepared)
        if not (run_dir / PREPROCESSING).exists():
            write_json_atomic(run_dir / PREPROCESSING, preprocessing)
        if warm is not None and read_summary(run_dir) is None:
            write_summary(run_dir, warm)
    os.environ[RUN_DIR_ENV] = str(run_dir)
    if not _is_worker_process():
        write_json_atomic(run_dir / STATUS, {"status": "running", "pid": os.getpid()})

    t0 = time.perf_counter()
    samples, epoch, step = 0, state.get("epoch", 0), state.get("global_step", 0)
    if isinstance(model, ClosedForm):  # PCA: closed form, no epochs
        fit_closed_form(model, prepared, run_dir, model_cfg, preprocessing)
        epoch = 1
    else:
        samples, epoch = _fit_stages(cfg, model, prepared, stages, state, epoch, step, optimizer_state,
                                     run_dir, model_cfg, preprocessing, progress,
                                     warm["frozen"] if warm else [])
    if not _is_worker_process():
        _finish(cfg, model, prepared, run_dir, model_cfg, epoch, time.perf_counter() - t0, samples)
    return run_dir


def _fit_stages(cfg: TrainConfig, model: torch.nn.Module, prepared: PreparedData,
                stages: list[StageConfig], state: dict, epoch: int, step: int,
                optimizer_state: dict | None, run_dir: Path, model_cfg: dict, preprocessing: dict,
                progress: bool, frozen: list[str] | None = None) -> tuple[int, int]:
    """Run the stages in order, from where ``state`` (a resumed run's progress) left off."""
    samples = 0
    start = state.get("stage_index", 0)
    for index in range(start, len(stages)):
        stage = stages[index]
        mid = bool(state) and index == start  # continuing this stage from checkpoints/last
        done = state.get("stage_epochs_done", 0) if mid else 0
        limit = stage.max_epochs or cfg.optim.max_epochs
        patience = stage.patience or cfg.optim.patience
        if mid and (done >= limit or state.get("wait", 0) >= patience):
            continue  # the crash came after this stage had ended
        if stage.uses_labels and not cfg.data.task:
            print(f"skipping stage {stage.name!r}: it needs labels and data.task is empty")
            continue
        if index > 0 and not mid:
            _restore_best(model, run_dir)  # each stage starts from the previous stage's best
        n, epoch, step = _fit_stage(cfg, model, prepared, stage, index, limit - done, epoch, step,
                                    optimizer_state if mid else None, state if mid else {},
                                    run_dir, model_cfg, preprocessing, progress, frozen or [])
        samples += n
    return samples, epoch


def _restore_best(model: torch.nn.Module, run_dir: Path) -> None:
    if (run_dir / WEIGHTS).exists():
        weights, _, _ = read_checkpoint(run_dir)
        load_state_strict(model, weights, run_dir)


def _trainer(cfg: TrainConfig, max_epochs: int, callbacks: list, progress: bool) -> L.Trainer:
    return L.Trainer(max_epochs=max_epochs, callbacks=callbacks, logger=False, enable_checkpointing=False,
                     enable_progress_bar=progress, enable_model_summary=False,
                     gradient_clip_val=cfg.optim.grad_clip or None, num_sanity_val_steps=0,
                     **_hardware(cfg))


def _fit_stage(cfg: TrainConfig, model: torch.nn.Module, prepared: PreparedData, stage: StageConfig,
               index: int, max_epochs: int, epoch: int, step: int, optimizer_state: dict | None,
               stage_state: dict, run_dir: Path, model_cfg: dict, preprocessing: dict,
               progress: bool, frozen: list[str] | None = None) -> tuple[int, int, int]:
    enter_stage(model, stage)
    apply_freeze(model, frozen or [])  # a frozen warm start stays frozen in every stage
    balanced = stage.uses_labels if stage.balanced_sampling is None else stage.balanced_sampling
    train_loader = prepared.loader("train", labels=stage.uses_labels, balanced=balanced, seed=cfg.optim.seed)
    val_loader = prepared.loader("val", labels=stage.uses_labels)
    limit = stage.max_epochs or cfg.optim.max_epochs
    module = LatentModule(model, stage.lr or cfg.optim.lr, cfg.optim.weight_decay, stage.uses_labels,
                          epoch_offset=epoch, step_offset=step, optimizer_state=optimizer_state,
                          schedule=cfg.optim.schedule, stage_epochs=limit,
                          stage_epochs_done=limit - max_epochs, amplitude_jitter=cfg.data.amplitude_jitter,
                          optimizer=cfg.optim.optimizer)
    recorder = RunRecorder(run_dir, stage.name, index, stage.patience or cfg.optim.patience,
                           model_cfg, preprocessing, stage_state, keep=cfg.optim.keep)
    trainer = _trainer(cfg, max_epochs, [recorder, FrozenNormsInEval(model, frozen or [])], progress)
    trainer.fit(module, train_loader, val_loader)
    epochs_run = trainer.current_epoch
    samples = epochs_run * len(train_loader.dataset)
    return samples, epoch + epochs_run, step + trainer.global_step


def _finish(cfg: TrainConfig, model: torch.nn.Module, prepared: PreparedData, run_dir: Path,
            model_cfg: dict, epochs: int, seconds: float, samples: int) -> None:
    _restore_best(model, run_dir)
    test = {}
    if len(prepared.splits.get("test", [])):
        test = evaluate_loss(model, prepared, "test", uses_labels=bool(cfg.data.task))
    from trainer.callbacks import read_metrics

    rows = read_metrics(run_dir / METRICS_CSV)
    vals = [float(r["val/total"]) for r in rows if r.get("val/total") not in (None, "")]
    summary = {"status": "finished", "model": model_cfg["model"]["name"], "epochs": epochs,
               "best_val_total": min(vals) if vals else None, "test": test,
               "seconds": round(seconds, 2), "samples_per_s": round(samples / seconds, 1) if seconds else None,
               "n_train": len(prepared.splits["train"]), "n_val": len(prepared.splits["val"]),
               "n_test": len(prepared.splits.get("test", [])),
               "device": "cuda" if torch.cuda.is_available() else "cpu"}
    write_json_atomic(run_dir / "metrics.json", summary)
    write_json_atomic(run_dir / STATUS, {"status": "finished"})


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, prepared: PreparedData, split: str, uses_labels: bool) -> dict:
    """Mean of every loss term over a split (scaled units), in eval mode."""
    if not isinstance(model, Trainable):
        return {}
    model.eval()
    module = LatentModule(model, 1e-3, 0.0, uses_labels)
    totals: dict[str, float] = {}
    n = 0
    for batch in prepared.loader(split, labels=uses_labels):
        terms = module._loss(batch)
        b = len(batch["x"])
        for k, v in terms.items():
            totals[k] = totals.get(k, 0.0) + float(v) * b
        n += b
    return {k: v / n for k, v in totals.items()} if n else {}


def fit_closed_form(model: torch.nn.Module, prepared: PreparedData, run_dir: Path,
                    model_cfg: dict, preprocessing: dict) -> None:
    """Models without trainable parameters (PCA) fit once on the training split."""
    import numpy as np

    model.fit(prepared.inputs("train"))
    val = prepared.inputs("val")
    mse = float(np.mean((model.reconstruct(val) - val) ** 2))
    append_metrics_row(run_dir / METRICS_CSV, {"epoch": 0, "stage": "fit", "step": 0, "val/recon_mse": mse})
    write_checkpoint_files(run_dir, model.state_dict(), model_cfg, preprocessing)


def resume(run_dir: Path, progress: bool = True) -> Path:
    run_dir = Path(run_dir)
    config_file = run_dir / RUN_CONFIG
    if not config_file.exists():
        raise ConfigError(f"{run_dir}: not a run folder (no config.yaml)")
    status = run_dir / "metrics.json"
    if status.exists() and json.loads(status.read_text()).get("status") == "finished":
        print(f"{run_dir}: already finished")
        return run_dir
    cfg = validate_config(yaml.safe_load(config_file.read_text()), str(config_file))
    # the model as it was built (a full config): a run started before a recipe changed
    # resumes the same model even when config.yaml holds only some of its fields
    for stored in (latest_checkpoint(run_dir / "checkpoints" / "last") / CONFIG, run_dir / CONFIG):
        if stored.exists():
            cfg.model = json.loads(stored.read_text())["model"]
            break
    return train(cfg, run_dir.parent, progress, run_dir=run_dir)
