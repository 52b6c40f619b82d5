"""The `ecgwb` command line's own plumbing: every benchmark is listed and reachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ecgwb.bench
from ecgwb.cli import bench_names


def test_every_benchmark_module_is_listed():
    files = {p.stem for p in Path(ecgwb.bench.__file__).parent.glob("*.py")
             if not p.stem.startswith("_")}
    assert len(files) >= 5 and bench_names() == sorted(files)
    r = subprocess.run([sys.executable, "-m", "ecgwb.cli", "bench", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    for name in bench_names():
        assert name in r.stdout
