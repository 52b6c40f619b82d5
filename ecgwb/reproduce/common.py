"""What every seed's grid shares: where the data and runs are, training a paper config
through the trainer (finished runs are reused), `ecgwb evaluate` on a run, and the tiny
``--quick`` version (a few records, one epoch, small widths)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
PAPER_CONFIGS = ROOT / "trainer" / "configs" / "papers"
SEEDS_DIR = ROOT.parent / "shared" / "seeds"
#: The default data of every command: the 500 PTB-XL records beside the repository.
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ptbxl500"
#: Records of the ``--quick`` subset: enough for a test split of >= 20 records, which
#: `ecgwb evaluate` needs before it scores a label.
QUICK_RECORDS = 160
#: The stand-in of the private binary labels (000's reduced LVEF, 001's impaired LVF).
STAND_IN = "superclass_MI"


@dataclass
class Context:
    data: Path  # a PTB-XL root (the seeds read its records at their own rates)
    runs: Path  # run folders of this seed's grid
    quick: bool = False
    n_boot: int = 1000
    log: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.log.append(text)
        print(text, flush=True)


def subset_ptbxl(root: Path, n: int, out: Path) -> Path:
    """A PTB-XL root with only its first ``n`` records (the waveform folders linked)."""
    db_path = root / "ptbxl_database.csv"
    if not db_path.exists():
        raise FileNotFoundError(f"{root}: not a PTB-XL root (no ptbxl_database.csv)")
    out.mkdir(parents=True, exist_ok=True)
    pd.read_csv(db_path).head(n).to_csv(out / "ptbxl_database.csv", index=False)
    (out / "scp_statements.csv").write_bytes((root / "scp_statements.csv").read_bytes())
    for folder in ("records100", "records500"):
        link = out / folder
        if (root / folder).exists() and not link.exists():
            link.symlink_to((root / folder).resolve())
    return out


def train_paper(ctx: Context, config: str, name: str, sets: list[str] | None = None,
                quick: list[str] | None = None, data: Path | None = None) -> Path:
    """Train ``trainer/configs/papers/<config>.yaml`` as run ``name`` (``sets``: overrides;
    ``quick``: extra overrides of the ``--quick`` version, after one epoch). A finished run
    of that name in ``ctx.runs`` is reused; an interrupted one (it has a last checkpoint) is
    resumed from its last epoch, so a grid stopped midway continues where it stopped."""
    from trainer.config import load_config
    from trainer.jobs import find_run
    from trainer.run import resume, train

    run = find_run([ctx.runs], name, finished=True)
    if run is not None:
        ctx.say(f"reusing {run}")
        return run
    started = find_run([ctx.runs], name)
    if started is not None and (started / "checkpoints" / "last").exists():
        t0 = time.perf_counter()
        run = resume(started, progress=False)
        ctx.say(f"resumed and finished {run.name} in {time.perf_counter() - t0:.0f} s")
        return run
    overrides = [f"data.path={(data or ctx.data).resolve()}", f"name={name}", *(sets or [])]
    if ctx.quick:
        overrides += ["optim.max_epochs=1", *(quick or [])]
    cfg = load_config(PAPER_CONFIGS / f"{config}.yaml", overrides)
    t0 = time.perf_counter()
    run = train(cfg, ctx.runs, progress=False)
    ctx.say(f"trained {run.name} in {time.perf_counter() - t0:.0f} s")
    return run


def evaluate(ctx: Context, run: Path, **kwargs) -> dict:
    """`ecgwb evaluate` on ``run`` (written to its evaluation.json), as a dict."""
    from ecgcore.runs.evaluation import evaluate_run

    t0 = time.perf_counter()
    ev = evaluate_run(run, n_boot=ctx.n_boot, **kwargs)
    ctx.say(f"evaluated {run.name} in {time.perf_counter() - t0:.0f} s")
    return ev


def downstream_row(ev: dict, input_: str, model: str) -> dict:
    """The row of evaluation.json's downstream table for one input and probe ({} if none)."""
    for row in (ev.get("downstream") or {}).get("rows") or []:
        if row.get("input") == input_ and row.get("model") == model:
            return row
    return {}


def label_clustering(ev: dict) -> dict:
    """DBI, silhouette, CHI of the latent means with the label as the clustering."""
    for row in ev.get("clustering") or []:
        if row.get("space") == "latent" and str(row.get("clustering", "")).startswith("label"):
            return row
    return {}
