"""``ecgwb demo``: the demo models on the bundled demo data, ready for the app.

Prepares the beat cache of ``assets/demo/ptbxl100``, then trains PCA, β-VAE, annealed
β-VAE and the split-task β-VAE (small backbone; MI vs the rest from the PTB-XL labels) one
after the other as background jobs (:mod:`trainer.jobs`) under one terminal progress bar,
and writes each run's ``evaluation.json``. A run already finished is skipped, an
interrupted one resumed from its last epoch, one still running (launched by another
``ecgwb demo`` or the Train page) waited for. The four train in minutes on a laptop CPU
(docs/BENCHMARKS.md has the time measured here).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ecgcore.files import EVALUATION, WEIGHTS
from trainer import jobs
from trainer.config import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "assets" / "demo" / "ptbxl100"
DEMO_RUNS = ROOT / "runs" / "demo"
#: Shipped config → overrides. Every model trains with its shipped recipe (single beats,
#: ~3,000 optimiser steps a stage: a model too briefly trained decodes noise, and the views
#: would show that to a clinician); the split-task VAE's task is superclass_MI (MI vs rest).
DEMO_MODELS: dict[str, list[str]] = {
    "pca": [],
    "beta_vae": [],
    "annealed_beta_vae": [],
    "split_task_vae": [],
}
#: ``ecgwb demo --tiny``: the same four models and code paths, one epoch a stage on median
#: beats. For checking the command end to end (tests, a new install), never for viewing:
#: such models decode little more than the mean beat.
TINY_OVERRIDES: list[str] = ["optim.max_epochs=1", "data.train_on=median", "data.batch_size=16"]


def demo_config(name: str, data: Path, tiny: bool = False) -> TrainConfig:
    return load_config(ROOT / "trainer" / "configs" / f"{name}.yaml",
                       [*DEMO_MODELS[name], *(TINY_OVERRIDES if tiny else []),
                        f"data.path={Path(data).resolve()}"])


def _job_for(name: str, runs_dir: Path, data: Path, threads: int | None,
             tiny: bool = False) -> jobs.Job | None:
    """The job training ``name``: None when its run is finished; a running one is
    attached to; an interrupted, cancelled or failed one is restarted from its last epoch."""
    cfg = demo_config(name, data, tiny)
    run = jobs.find_run([runs_dir], name)
    if run is None:
        return jobs.launch(cfg, runs_dir, threads=threads)
    if jobs._recorded_status(run).get("status") == "finished":
        return None
    job = jobs.read_job(run)
    if job is not None and jobs._alive(job):
        return job
    return jobs.start(run, jobs.planned_epochs(cfg), threads=threads)


def _evaluate(run: Path, n_boot: int) -> str:
    """``ecgwb evaluate`` of a run (its own process: the same code path as the command)."""
    weights, evaluation = run / WEIGHTS, run / EVALUATION
    if evaluation.exists() and evaluation.stat().st_mtime >= weights.stat().st_mtime:
        return "evaluated before"
    out = subprocess.run([sys.executable, "-m", "ecgwb.cli", "evaluate", str(run),
                          "--n-boot", str(n_boot)], check=False, cwd=ROOT, capture_output=True,
                         text=True)
    if out.returncode:
        return f"evaluation failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}"
    return "evaluated"


def train_demo(runs_dir: Path = DEMO_RUNS, data: Path = DEMO_DATA, *, threads: int | None = None,
               evaluate: bool = True, n_boot: int = 200, progress: bool = True,
               tiny: bool = False) -> list[Path]:
    """Train (or finish) every demo model into ``runs_dir``; their run folders.

    ``tiny``: one epoch a stage on median beats (:data:`TINY_OVERRIDES`), to check the
    command end to end in a minute or two; give it its own ``runs_dir``.

    Raises RuntimeError naming the model and its log when a training fails.
    """
    from tqdm.auto import tqdm

    from ecgcore.data.resolve import resolve_cache

    runs_dir, data = Path(runs_dir).resolve(), Path(data).resolve()
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: the demo dataset is missing")
    # the beat cache once, here, with its own bar; every training then reuses it
    print(f"Preparing the demo data {data} …", flush=True)
    resolve_cache(demo_config("pca", data, tiny).data, "median", runs_dir / ".cache", progress=progress)
    planned = {name: jobs.planned_epochs(demo_config(name, data, tiny)) for name in DEMO_MODELS}
    bar = tqdm(total=sum(planned.values()), unit="epoch", disable=not progress,
               desc="Training the demo models", dynamic_ncols=True)
    done, runs = 0, []
    try:
        for name in DEMO_MODELS:
            job = _job_for(name, runs_dir, data, threads, tiny)
            if job is None:
                run = jobs.find_run([runs_dir], name)
                bar.write(f"{name}: finished before ({run.name})")
            else:
                run = job.run
                state = _follow(job, bar, done, planned[name], name)
                if state.status != "finished":
                    raise RuntimeError(f"{name}: training {state.status} ({run}); its log "
                                       f"{job.log} ends with:\n{state.error}")
            done += planned[name]
            bar.n = done
            bar.refresh()
            runs.append(run)
            if evaluate:
                bar.write(f"{name}: {_evaluate(run, n_boot)} ({run.name})")
    finally:
        bar.close()
    return runs


def _follow(job: jobs.Job, bar, done: int, planned: int, name: str) -> jobs.Progress:
    """Poll a job, moving the bar with its epochs, until it ends; cancelled on Ctrl-C."""
    try:
        while True:
            state = jobs.read_progress(job)
            bar.n = done + min(planned, state.epochs_done)
            last = state.rows[-1] if state.rows else {}
            loss = last.get("val/total") or last.get("val/recon_mse") or ""
            bar.set_postfix_str(f"{name} {state.status}" + (f", val loss {float(loss):.4g}"
                                                            if loss else ""), refresh=True)
            if state.status not in jobs.ACTIVE:
                return state
            time.sleep(0.5)
    except KeyboardInterrupt:
        jobs.cancel(job)  # `ecgwb demo` again resumes it from its last epoch
        raise
