"""`ecgwb bench concurrency`: two `ecgwb train` processes on one fresh data folder and one
runs folder, started together, N times; how many pairs both finish.

Each trial makes a fresh PTB-XL folder of the first ``--records`` demo records (signals
linked), then starts PCA and a one-epoch β-VAE on median beats at 100 Hz, which need the
same median-beat cache under ``runs/.cache``: the race the issue saw end in SIGBUS. A pair
succeeds when both exit 0 with their own finished run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo" / "ptbxl100"


def _subset(root: Path, n: int) -> Path:
    import pandas as pd

    root.mkdir(parents=True)
    pd.read_csv(DEMO / "ptbxl_database.csv").head(n).to_csv(root / "ptbxl_database.csv", index=False)
    (root / "scp_statements.csv").write_bytes((DEMO / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(DEMO / "records100")
    return root


def _commands(data: Path, runs: Path) -> list[list[str]]:
    common = ["--data", str(data), "--runs", str(runs), "--quiet", "--set", "data.fs=100",
              "--set", "model.latent_dim=4"]
    train = [sys.executable, "-m", "ecgwb.cli", "train"]
    configs = ROOT / "trainer" / "configs"
    return [[*train, str(configs / "pca.yaml"), *common],
            [*train, str(configs / "beta_vae.yaml"), *common, "--set", "data.train_on=median",
             "--set", "optim.max_epochs=1"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench concurrency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--records", type=int, default=60, help="demo records in each fresh folder")
    args = ap.parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    ok = 0
    for trial in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="ecgwb-concurrency-") as tmp:
            data, runs = _subset(Path(tmp) / "demo", args.records), Path(tmp) / "runs"
            t0 = time.perf_counter()
            procs = [subprocess.Popen(c, cwd=tmp, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
                     for c in _commands(data, runs)]
            outs = [p.communicate()[0] for p in procs]
            codes = [p.returncode for p in procs]
            folders = [d for d in runs.iterdir() if not d.name.startswith(".")] if runs.exists() else []
            finished = sum(json.loads((d / "metrics.json").read_text()).get("status") == "finished"
                           for d in folders if (d / "metrics.json").exists())
            good = codes == [0, 0] and finished == 2
            ok += good
            print(f"trial {trial + 1}: exit codes {codes}, {finished} finished run folders, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            if not good:
                for code, out in zip(codes, outs):
                    if code:
                        print("  " + "\n  ".join(out.strip().splitlines()[-3:]), flush=True)
    print(f"{ok}/{args.trials} pairs both finished")
    return 0 if ok == args.trials else 1
