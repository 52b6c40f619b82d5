"""What `make run` does: `ecgwb demo` (its tiny mode) trains and evaluates the four demo
models, and `ecgwb app` serves the workbench."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_MODELS = ["annealed_beta_vae", "beta_vae", "pca", "split_task_vae"]


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def demo_subset(demo_dir: Path, root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    pd.read_csv(demo_dir / "ptbxl_database.csv").head(n).to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(demo_dir / "records100")
    return root


@pytest.mark.slow  # ~2.5 min on the shared 2 cores: 9 processes, 4 trainings, 4 evaluations
def test_demo_tiny_trains_and_evaluates_the_four_models_then_skips_them(demo_dir, tmp_path):
    data = demo_subset(demo_dir, tmp_path / "demo", 80)
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "ecgwb.cli", "demo", "--tiny", "--data", str(data),
           "--runs", str(runs), "--threads", "1", "--quiet"]
    first = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900,
                           check=False)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert f"4 demo runs ready in {runs.resolve()}" in first.stdout
    folders = sorted(d for d in runs.iterdir() if not d.name.startswith("."))
    assert [d.name.rsplit("-", 2)[0] for d in folders] == DEMO_MODELS
    for run in folders:
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["status"] == "finished", run
        cfg = (run / "config.yaml").read_text()
        assert "train_on: median" in cfg and "max_epochs: 1" in cfg  # the tiny overrides
        ev = json.loads((run / "evaluation.json").read_text())
        assert ev["run"] == run.name and ev["n_records"] == len(pd.read_parquet(
            next((runs / ".cache").iterdir()) / "records.parquet"))
    again = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
                           check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("finished before") == 4 and again.stdout.count("evaluated before") == 4
    assert sorted(d for d in runs.iterdir() if not d.name.startswith(".")) == folders


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_command_serves_the_workbench_on_localhost(demo_dir, tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ecgwb.cli", "app", "--headless", "--port", str(port),
                             "--data", str(demo_dir), "--runs", str(tmp_path / "runs")],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        # Startup time is the machine's, not the app's: poll until it answers or 120 s pass.
        deadline, health, page = time.monotonic() + 120, None, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
                    health = r.read().decode()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", f"no health answer; exit {proc.poll()}"
        assert "<title>" in page and "streamlit" in page.lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0]
    assert f"http://127.0.0.1:{port}" in out
