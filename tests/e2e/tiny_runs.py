"""Three tiny training runs on the bundled demo data, built once per pytest session.

Shared by the AppTest views tests (``tests/test_app_*.py``) and the browser tests: the first
caller builds them under the session's base temporary folder; later callers (in the same
session) find them there. ``task_vae`` (a task head on superclass_MI with RR extras, for
the Saliency view; 1 epoch per stage), then ``pca`` (closed form) and ``beta_vae``
(2 epochs, the newest run, which the run picker chooses first) train in about 15 s once the
demo cache exists (about 25 s on 2 busy cores).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
CONFIGS = ROOT / "trainer" / "configs"
#: In training order (the last is the newest); extra overrides per run.
RUN_NAMES = ("task_vae", "pca", "beta_vae")
OVERRIDES = {"task_vae": ["optim.max_epochs=1"]}


def build_tiny_runs(base: Path) -> tuple[Path, Path]:
    """(runs folder, demo cache) under ``base``; built on the first call, reused after."""
    runs, cache, done = base / "runs", base / "demo_r400", base / "done"
    if done.exists():
        return runs, cache
    import torch

    from ecgcore.data.cache import preprocess
    from trainer.config import load_config
    from trainer.run import train

    if not DEMO.exists():
        raise FileNotFoundError(f"{DEMO} is missing: the demo dataset ships with the repository")
    summary = preprocess(DEMO, cache, progress=False)
    assert summary.n_ok >= 490, str(summary)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores
    try:
        for name in RUN_NAMES:
            cfg = load_config(CONFIGS / f"{name}.yaml",
                              # median beats: the demo cache has no single-beat array,
                              # whatever a shipped recipe trains on
                              [f"data.path={cache}", "optim.max_epochs=2", "data.batch_size=64",
                               "data.train_on=median", *OVERRIDES.get(name, [])])
            train(cfg, runs, progress=False)
    finally:
        torch.set_num_threads(threads)
    done.write_text("ok\n")
    return runs, cache


def run_folder(runs: Path, name: str) -> Path:
    """The run folder of ``name`` (``task_vae`` / ``pca`` / ``beta_vae``) in ``runs``."""
    (found,) = [p for p in runs.iterdir() if p.is_dir() and p.name.startswith(f"{name}-")]
    return found
