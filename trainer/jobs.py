"""Background training jobs: launch ``ecgwb train`` as a detached process, list the jobs of a
runs folder, read their progress, cancel them. Headless (the Train page and ``ecgwb demo``
call it; no Streamlit here).

Everything a job is lives in its run folder, so a page reload (or another process) finds it
again::

    <run>/config.yaml   the validated config (written here, before the process starts)
    <run>/job.json      pid, command, log file, start time, total epochs
    <run>/status.json   starting → running (the trainer) → finished / cancelled / failed
    <run>/train.log     the process's stdout and stderr
    <run>/metrics.csv   one row per epoch (the trainer's RunRecorder)

The process runs ``ecgwb train --resume <run>`` in its own session (process group), so it
outlives the page's script run and a cancel reaches every process it started. A process
that died without finishing is reported ``failed`` with the end of its log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecgcore.checkpoint import write_json_atomic
from ecgcore.files import RUN_CONFIG, STATUS
from trainer.config import ConfigError, TrainConfig, validate_config

JOB_FILE, LOG_FILE = "job.json", "train.log"
STATUS_FILE = STATUS
ACTIVE = ("starting", "running")
DONE = ("finished", "cancelled", "failed")
ROOT = Path(__file__).resolve().parents[1]
_CHILDREN: dict[int, subprocess.Popen] = {}  # launched by this process: reaped on poll


@dataclass(frozen=True)
class Job:
    """A launched training process and its run folder."""

    run: Path
    pid: int
    model: str
    total_epochs: int
    started: float
    log: Path


@dataclass
class Progress:
    """Where a job stands: ``status`` (starting / running / finished / cancelled / failed),
    epochs written to metrics.csv out of ``total_epochs`` (early stopping may end sooner),
    the metrics rows themselves, and the error of a failed job."""

    status: str
    epochs_done: int
    total_epochs: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def fraction(self) -> float:
        if self.status == "finished":
            return 1.0
        return min(1.0, self.epochs_done / self.total_epochs) if self.total_epochs else 0.0


def check_config(raw: dict[str, Any], source: str = "form") -> TrainConfig:
    """The config a job would train, validated with the same schema as ``ecgwb train``, and
    its data folder checked; ConfigError (naming the key or the folder) otherwise."""
    cfg = validate_config(raw, source)
    if not cfg.data.path:
        raise ConfigError(f"{source}: data.path is not set: choose a dataset folder")
    path = Path(cfg.data.path).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{source}: data.path {path}: no such folder")
    cfg.data.path = str(path.resolve())
    return cfg


def planned_epochs(cfg: TrainConfig) -> int:
    """Epochs the run will train at most: the sum over its stages (stages that need labels
    are skipped without a task); 1 for closed-form models (PCA)."""
    from trainer.run import build_model, stages_for

    model = build_model(cfg)
    if not any(p.requires_grad for p in model.parameters()):
        return 1
    stages = [s for s in stages_for(model, cfg) if cfg.data.task or not s.uses_labels]
    return sum(s.max_epochs or cfg.optim.max_epochs for s in stages) or 1


def prepare_run(cfg: TrainConfig, runs_dir: Path) -> Path:
    """A new run folder under ``runs_dir`` holding the config and status ``starting``."""
    from trainer.run import new_run_dir

    runs_dir.mkdir(parents=True, exist_ok=True)
    run = new_run_dir(runs_dir, cfg.name)
    (run / RUN_CONFIG).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    write_json_atomic(run / STATUS_FILE, {"status": "starting"})
    return run


def launch(cfg: TrainConfig | dict[str, Any], runs_dir: str | Path, *,
           threads: int | None = None) -> Job:
    """Start training ``cfg`` in a detached process; returns at once.

    ``cfg``: a TrainConfig or a raw config dict (validated by :func:`check_config`).
    ``threads``: torch/BLAS threads of the process (default: the library's choice).
    """
    if not isinstance(cfg, TrainConfig):
        cfg = check_config(cfg)
    run = prepare_run(cfg, Path(runs_dir).resolve())
    return start(run, planned_epochs(cfg), threads=threads)


def start(run: Path, total_epochs: int, *, threads: int | None = None) -> Job:
    """Start (or restart) the training process of a prepared or interrupted run folder."""
    run = Path(run).resolve()
    cfg = yaml.safe_load((run / RUN_CONFIG).read_text())
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "ecgwb.cli", "train", "--resume", str(run), "--quiet"]
    log = run / LOG_FILE
    write_json_atomic(run / STATUS_FILE, {"status": "starting"})  # a restart clears 'cancelled'
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    job = Job(run, proc.pid, str(cfg["model"]["name"]), int(total_epochs), time.time(), log)
    write_json_atomic(run / JOB_FILE, {
        "pid": job.pid, "model": job.model, "total_epochs": job.total_epochs,
        "started": job.started, "log": str(log), "command": cmd})
    return job


def read_job(run: str | Path) -> Job | None:
    """The job of a run folder, or None when it was not launched by this module."""
    run = Path(run)
    try:
        data = json.loads((run / JOB_FILE).read_text())
        return Job(run.resolve(), int(data["pid"]), str(data["model"]), int(data["total_epochs"]),
                   float(data["started"]), Path(data["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_jobs(runs_dir: str | Path) -> list[Job]:
    """Every job launched into ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    jobs = [j for j in (read_job(p) for p in root.iterdir() if (p / JOB_FILE).exists()) if j]
    return sorted(jobs, key=lambda j: j.started, reverse=True)


def alive(job: Job) -> bool:
    """True while the job's process runs (a zombie, or another process that reuses the pid,
    does not count)."""
    child = _CHILDREN.get(job.pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(job.pid, None)
        return False
    proc = Path(f"/proc/{job.pid}")
    if Path("/proc/self").exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            return False
        return state != "Z" and str(job.run) in cmdline
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recorded_status(run: Path) -> dict:
    """The status the files say: a finished metrics.json wins over status.json."""
    if _read_json(run / "metrics.json").get("status") == "finished":
        return {"status": "finished"}
    return _read_json(run / STATUS_FILE)


def log_tail(job: Job, n_lines: int = 12) -> str:
    try:
        lines = job.log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n_lines:])


def job_status(job: Job) -> tuple[str, str]:
    """(status, error) of a job; a process found dead before finishing is recorded failed."""
    recorded = recorded_status(job.run)
    if recorded.get("status") in DONE:
        alive(job)  # reaps the process if this one launched it
        return recorded["status"], str(recorded.get("error", ""))
    if alive(job):
        return str(recorded.get("status") or "starting"), ""
    recorded = recorded_status(job.run)  # it may have finished between the two reads
    if recorded.get("status") in DONE:
        return recorded["status"], str(recorded.get("error", ""))
    error = log_tail(job) or "the training process ended without a message"
    write_json_atomic(job.run / STATUS_FILE, {"status": "failed", "error": error})
    return "failed", error


def read_progress(job: Job) -> Progress:
    from trainer.callbacks import METRICS_CSV, read_metrics

    status, error = job_status(job)
    try:
        rows = read_metrics(job.run / METRICS_CSV)
    except (OSError, ValueError):
        rows = []  # being rewritten this instant: the next poll reads it
    return Progress(status, len(rows), job.total_epochs, rows, error)


def cancel(job: Job, timeout: float = 15.0) -> str:
    """Stop the job's process group (SIGTERM, then SIGKILL after ``timeout`` s) and record
    it ``cancelled``; a job that already ended keeps its status. Returns the status."""
    status, _ = job_status(job)
    if status in DONE:
        return status
    try:
        os.killpg(job.pid, signal.SIGTERM)  # start_new_session: the group id is the pid
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while alive(job) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(job):
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while alive(job) and time.monotonic() < deadline + 5:
            time.sleep(0.1)
    if recorded_status(job.run).get("status") == "finished":
        return "finished"  # it ended on its own just before the signal
    write_json_atomic(job.run / STATUS_FILE, {"status": "cancelled"})
    return "cancelled"


def wait(job: Job, timeout: float, poll: float = 0.5) -> Progress:
    """Poll until the job has ended or ``timeout`` s have passed; the last progress."""
    deadline = time.monotonic() + timeout
    progress = read_progress(job)
    while progress.status in ACTIVE and time.monotonic() < deadline:
        time.sleep(poll)
        progress = read_progress(job)
    return progress


def find_run(folders: Sequence[str | Path], name: str, finished: bool = False) -> Path | None:
    """The newest run folder in any of ``folders`` whose config is called ``name`` (only
    finished ones with ``finished``); None when there is none."""
    found = []
    for folder in folders:
        for cfg in Path(folder).glob("*/config.yaml"):
            try:
                ok = (yaml.safe_load(cfg.read_text()) or {}).get("name") == name
            except (OSError, yaml.YAMLError):
                continue
            if ok and (not finished or recorded_status(cfg.parent).get("status") == "finished"):
                found.append(cfg.parent)
    return max(found, key=lambda p: p.name, default=None)
