"""`ecgwb reproduce SEED`: one seed paper's experiment grid on the data, through the trainer
and `ecgwb evaluate`, written as a table of the paper's values beside ours.

One module per seed (``s000`` … ``s004``: ``run(ctx) -> Report``) and the shared table
writer (``table``). The full grid writes ``docs/reproduce/<seed>.md``; ``--quick`` (a few
records, one epoch, small widths: a check of the command, not a result) writes to a
temporary folder and never over the docs.
"""

from __future__ import annotations

import importlib
import os
import shlex
import tempfile
import time
from pathlib import Path

from .common import DEFAULT_DATA, QUICK_RECORDS, ROOT, Context, subset_ptbxl
from .table import write_report

SEEDS = ("000", "001", "002", "003", "004")
DOCS = ROOT / "docs" / "reproduce"


def reproduce(seed: str, data: Path | None = None, runs: Path | None = None, quick: bool = False,
              out: Path | None = None, n_boot: int | None = None, argv: list[str] | None = None) -> Path:
    """Run seed ``seed``'s grid and write its report; returns the report's path."""
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; choose from {', '.join(SEEDS)}")
    data = Path(data or DEFAULT_DATA)
    if not (data / "ptbxl_database.csv").exists():
        raise FileNotFoundError(f"{data}: not a PTB-XL root (no ptbxl_database.csv); "
                                "`ecgwb reproduce` reads PTB-XL records at each paper's rate")
    if quick and out and Path(out).resolve().is_relative_to(DOCS.resolve()):
        raise ValueError("--quick never writes into docs/reproduce: give another --out")
    if quick:
        work = Path(out) if out else Path(tempfile.mkdtemp(prefix=f"ecgwb-reproduce-{seed}-"))
        data = subset_ptbxl(data, QUICK_RECORDS, work / "data")
        runs = Path(runs) if runs else work / "runs"
        report_path = work / f"{seed}.md"
    else:
        runs = Path(runs) if runs else Path("runs") / "reproduce" / seed
        report_path = Path(out) / f"{seed}.md" if out else DOCS / f"{seed}.md"
    ctx = Context(data=data, runs=runs, quick=quick,
                  n_boot=n_boot if n_boot is not None else (50 if quick else 1000))
    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = importlib.import_module(f"ecgwb.reproduce.s{seed}").run(ctx)
    wall = time.perf_counter() - t0
    command = "ecgwb reproduce " + " ".join(shlex.quote(a) for a in (argv or [seed]))
    if quick:
        report.setting.insert(0, f"**--quick**: the first {QUICK_RECORDS} records, one epoch, "
                                 "small widths; a check of the command, not a result.")
    report.setting.insert(0, f"Run {started} on {os.cpu_count()} CPU cores, no GPU (load average "
                             f"{load:.1f} at the start: other work shared the machine).")
    return write_report(report, report_path, command, wall)
