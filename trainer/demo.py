"""``ecgwb demo``: the demo runs on the bundled demo data, ready for the app.

Two ways to get them:

- ``ecgwb demo`` (what ``make run`` does) installs the *shipped* runs of
  ``assets/demo/runs`` (PCA, β-VAE, annealed β-VAE, split-task β-VAE, trained once with the
  shipped recipes on ``assets/demo/ptbxl100``) into ``runs/demo`` (gitignored) in seconds,
  then prepares the demo data's beat caches. The app writes its cached results into the
  run folders it shows, so it is always pointed at the copy, never at ``assets/`` (the git
  tree stays clean). The shipped files hold no absolute path: ``data.path`` is
  :data:`REL_DATA`, relative to the repository, and the copy gets the absolute path of the
  data folder of this checkout (a clone may live anywhere).
- ``ecgwb demo --retrain [--runs DIR]`` trains the four again with the shipped recipes
  (small backbone; the split-task VAE's task is MI vs the rest from the PTB-XL labels), one
  after the other as background jobs (:mod:`trainer.jobs`) under one terminal progress
  bar, and writes each run's ``evaluation.json``. A run already finished is skipped, an
  interrupted one resumed from its last epoch, one still running (launched by another
  ``ecgwb demo`` or the Train view) waited for. It never trains into a folder that holds
  the installed shipped runs; ``--ship`` (maintainers) then replaces the shipped runs
  with the new ones. docs/BENCHMARKS.md has the time it takes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ecgcore.files import (
    CONFIG,
    EVALUATION,
    METRICS,
    METRICS_CSV,
    PREPROCESSING,
    RUN_CONFIG,
    SPLIT,
    STATUS,
    WEIGHTS,
)
from trainer import jobs
from trainer.config import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "assets" / "demo" / "ptbxl100"
DEMO_RUNS = ROOT / "runs" / "demo"
#: Where ``ecgwb demo --retrain`` trains by default: never the folder of the shipped runs.
RETRAIN_RUNS = ROOT / "runs" / "demo-retrained"
#: The shipped demo runs (in git) and the demo data path their files record, relative to
#: the repository root (made absolute in the installed copy).
SHIPPED_RUNS = ROOT / "assets" / "demo" / "runs"
REL_DATA = "assets/demo/ptbxl100"
#: What a shipped run keeps: what the app and ``Run`` read. Left out: the optimiser state
#: and ``state.json`` (for resuming a training), the job file and log (absolute paths),
#: the results cache (its key holds this machine's paths and the weights' mtime).
SHIPPED_FILES = (WEIGHTS, CONFIG, PREPROCESSING, RUN_CONFIG, METRICS, METRICS_CSV, STATUS, SPLIT,
                 EVALUATION)
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
    if jobs.recorded_status(run).get("status") == "finished":
        return None
    job = jobs.read_job(run)
    if job is not None and jobs.alive(job):
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


# -- the shipped runs ---------------------------------------------------------------------------
class DemoError(RuntimeError):
    """A shipped run that cannot be installed or shipped (names the folder and the problem)."""


def shipped_runs(shipped: Path = SHIPPED_RUNS) -> list[Path]:
    """The shipped run folders, by name."""
    if not shipped.is_dir():
        raise DemoError(f"{shipped}: the shipped demo runs are missing (retrain them with "
                        "`ecgwb demo --retrain`)")
    return sorted(d for d in shipped.iterdir() if (d / RUN_CONFIG).is_file())


def _model_name(run: Path) -> str:
    try:
        return str((yaml.safe_load((run / RUN_CONFIG).read_text()) or {}).get("name") or "")
    except (OSError, yaml.YAMLError, AttributeError):
        return ""


def _data_path(run: Path) -> str:
    try:
        return str(yaml.safe_load((run / RUN_CONFIG).read_text())["data"]["path"] or "")
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return ""


def _rewrite_paths(run: Path, data: str, cache_root: str) -> None:
    """Point a run's recorded paths at ``data`` (``config.yaml`` data.path and the
    ``preprocessing.json`` source) and its ``evaluation.json`` dataset at ``cache_root``
    (``""`` keeps the cache's name alone: relative to the runs folder, ``.cache/NAME``)."""
    cfg_file = run / RUN_CONFIG
    cfg = yaml.safe_load(cfg_file.read_text())
    cfg["data"]["path"] = data
    cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    for name, key, value in ((PREPROCESSING, "source", data), (EVALUATION, "dataset", None)):
        path = run / name
        if not path.exists():
            continue
        content = json.loads(path.read_text())
        if value is None:  # the cache the evaluation read: <runs>/.cache/<name>
            value = str(Path(cache_root) / ".cache" / Path(content.get(key) or "").name)
        content[key] = value
        path.write_text(json.dumps(content, indent=2) + "\n")


def install_demo(runs_dir: Path = DEMO_RUNS, data: Path = DEMO_DATA, *,
                 shipped: Path = SHIPPED_RUNS, prepare: bool = True,
                 progress: bool = True) -> list[Path]:
    """Copy the shipped demo runs into ``runs_dir`` (seconds) and prepare the demo data's beat
    caches there (``prepare``); the installed run folders.

    A run already there (same folder name) is kept as it is, and so is a finished run of the
    same model trained there before (an older ``ecgwb demo`` trained into ``runs/demo``).
    Each copy is written as ``NAME.tmp`` and renamed, so that an interrupted install never
    leaves a half run (the listing skips ``.tmp`` folders). DemoError names what is wrong.
    """
    runs_dir, data = Path(runs_dir).resolve(), Path(data).resolve()
    if not data.is_dir():
        raise DemoError(f"{data}: the demo dataset is missing")
    runs_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for src in shipped_runs(shipped):
        model, dest = _model_name(src), runs_dir / src.name
        mine = jobs.find_run([runs_dir], model, finished=True) if model else None
        if dest.exists() and not Path(_data_path(dest)).is_dir():
            _rewrite_paths(dest, str(data), str(runs_dir))  # the checkout was moved
        if dest.exists() or mine is not None:
            installed.append(dest if dest.exists() else mine)
            print(f"{model}: kept {installed[-1].name} (already in {runs_dir})", flush=True)
            continue
        missing = [f for f in SHIPPED_FILES if f != EVALUATION and not (src / f).is_file()]
        if missing:
            raise DemoError(f"{src}: shipped run lacks {', '.join(missing)}")
        tmp = runs_dir / f"{src.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in SHIPPED_FILES:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        _rewrite_paths(tmp, str(data), str(runs_dir))
        tmp.rename(dest)
        installed.append(dest)
        print(f"{model}: installed {dest.name}", flush=True)
    if prepare:
        print(f"Preparing the demo data {data} …", flush=True)
        prepare_caches(installed, progress=progress)
    return installed


def prepare_caches(runs: list[Path], progress: bool = True) -> None:
    """Build the beat caches that ``runs`` read (through ``Run``, as the app would on its
    first view of each run), here with a progress bar so that the first view is quick.
    Runs of one data folder share one cache: the median beats (``Run`` needs no single
    beats), about 30 s for the 500 demo records on 2 idle cores."""
    from ecgcore.runs import Run, RunError

    ready = set()
    for run in runs:
        try:
            cache = Run(run, progress=progress).cache
        except RunError as exc:
            raise DemoError(str(exc)) from None
        if cache.path not in ready:
            ready.add(cache.path)
            print(f"{len(cache)} records ready in {cache.path}", flush=True)


def holds_shipped_runs(runs_dir: Path, shipped: Path = SHIPPED_RUNS) -> list[str]:
    """Names of the shipped runs installed in ``runs_dir`` (retraining there would skip
    them as finished: ``--retrain`` refuses such a folder)."""
    runs_dir = Path(runs_dir)
    names = [d.name for d in shipped_runs(shipped)] if shipped.is_dir() else []
    if runs_dir.resolve() == shipped.resolve():
        return names
    return [n for n in names if (runs_dir / n).exists()]


def ship_runs(runs: list[Path], data: Path = DEMO_DATA, shipped: Path = SHIPPED_RUNS) -> list[Path]:
    """Replace the shipped runs by ``runs`` (finished, evaluated, trained on ``data``): copy
    :data:`SHIPPED_FILES` of each with their paths made relative (data.path :data:`REL_DATA`,
    the evaluated cache ``.cache/NAME``), and remove the shipped run of the same model.
    For maintainers (``ecgwb demo --retrain --ship``); the shipped folder's README stays."""
    data = Path(data).resolve()
    out = []
    for run in map(Path, runs):
        cfg = yaml.safe_load((run / RUN_CONFIG).read_text())
        if Path(cfg["data"]["path"]).resolve() != data:
            raise DemoError(f"{run}: trained on {cfg['data']['path']}, not the demo data {data}")
        if jobs.recorded_status(run).get("status") != "finished" or not (run / EVALUATION).is_file():
            raise DemoError(f"{run}: not a finished, evaluated run")
    shipped.mkdir(parents=True, exist_ok=True)
    for run in map(Path, runs):
        model = _model_name(run)
        for old in shipped_runs(shipped):
            if _model_name(old) == model and old.name != run.name:
                shutil.rmtree(old)
        dest = shipped / run.name
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        for name in SHIPPED_FILES:
            shutil.copyfile(run / name, dest / name)
        _rewrite_paths(dest, REL_DATA, "")
        out.append(dest)
    return out
