"""Two tiny training runs on the bundled demo data, built once per pytest session.

Shared by the AppTest views tests (``tests/test_app_*.py``) and the browser tests: the first
caller builds them under the session's base temporary folder; later callers (in the same
session) find them there. ``pca`` (closed form) and ``beta_vae`` (2 epochs) train in about
7 s once the demo cache exists (about 15 s on 2 cores).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo" / "ptbxl100"
CONFIGS = ROOT / "trainer" / "configs"
RUN_NAMES = ("pca", "beta_vae")


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
                              [f"data.path={cache}", "optim.max_epochs=2", "data.batch_size=64"])
            train(cfg, runs, progress=False)
    finally:
        torch.set_num_threads(threads)
    done.write_text("ok\n")
    return runs, cache


def run_folder(runs: Path, name: str) -> Path:
    """The run folder of ``name`` (``pca`` / ``beta_vae``) in ``runs``."""
    (found,) = [p for p in runs.iterdir() if p.is_dir() and p.name.startswith(f"{name}-")]
    return found
