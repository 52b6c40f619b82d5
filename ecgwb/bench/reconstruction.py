"""`ecgwb bench reconstruction`: reconstruction fidelity of the AE family against PCA.

Patient-grouped 5-fold cross-validation on the 500 Hz PTB-XL records: for each fold,
each model and each latent size, train from the shipped config on the other folds (with
their own validation split for early stopping), reconstruct the held-out fold's median
beats and measure the error in µV — overall, per P, QRS, ST and T region — and the mean
per-lead Pearson correlation. Prints mean ± SD over folds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

MODELS = ("pca", "ae", "sae", "vae", "beta_vae", "annealed_beta_vae")


def _default_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbxl500"


@torch.no_grad()
def held_out_metrics(run: Path, cache_path: Path) -> dict:
    """Reconstruction metrics (µV) of a run's test split."""
    from ecgcore.evaluate.reconstruction import reconstruction_metrics
    from ecgcore.runs import Run

    opened = Run(run, cache_path)
    model, cache, scale = opened.model, opened.cache, opened.scale_uv
    rows = opened.split_rows("test")
    x = np.nan_to_num(np.asarray(cache.median[rows], dtype=np.float32))
    x_hat = np.asarray(model.reconstruct(torch.from_numpy(x / scale))) * scale
    return reconstruction_metrics(x, x_hat, np.asarray(cache.fiducials[rows]), cache.fs, cache.leads)


def paired_against_pca(results: pd.DataFrame, runs: Path, cache_path: Path) -> pd.DataFrame:
    """Each neural model against PCA at its latent size, record by record: the per-record
    MAE difference (model − PCA, µV) over every held-out record of the folds both have
    (fold k holds out the same records for every model), its mean with a bootstrap 95% CI
    over records, and the fraction of records the model reconstructs better."""
    from ecgcore.evaluate.stats import bootstrap_mean_ci

    per_record = {(r.model, int(r.latent), int(r.fold)):
                  held_out_metrics(runs / r.run, cache_path)["per_record"]["mae"]
                  for r in results.itertuples()}
    rows = []
    for (model, latent), group in results[results["model"] != "pca"].groupby(
            ["model", "latent"], sort=False):
        folds = sorted(f for f in group["fold"] if ("pca", latent, f) in per_record)
        if not folds:
            continue
        diff = np.concatenate([per_record[(model, latent, f)] - per_record[("pca", latent, f)]
                               for f in folds])
        ci = bootstrap_mean_ci(diff, n_boot=2000)
        rows.append({"latent": latent, "model": model, "folds": len(folds), "records": diff.size,
                     "mae_diff_uv": ci.estimate, "ci_low": ci.low, "ci_high": ci.high,
                     "records_better": float((diff < 0).mean())})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench reconstruction", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="PTB-XL root (500 Hz records)")
    ap.add_argument("--runs", type=Path, default=Path("runs/bench-reconstruction"))
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--latents", nargs="+", type=int, default=[10, 30])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold", type=int, nargs="+", dest="only_folds", metavar="K",
                    help="run only these folds (0-based), e.g. to split the grid over processes; "
                    "merge their CSVs and rerun on the merged CSV for the tables")
    ap.add_argument("--max-epochs", type=int, help="override every config's optim.max_epochs")
    ap.add_argument("--patience", type=int, help="override every config's optim.patience")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="extra config override for every neural model (repeatable)")
    ap.add_argument("--out", type=Path, help="also write the per-fold results as CSV, row by row; "
                    "rows already in it (model, latent, fold) are kept and not trained again")
    args = ap.parse_args(argv)
    if args.only_folds and any(not 0 <= k < args.folds for k in args.only_folds):
        ap.error(f"--fold must be within 0..{args.folds - 1}")

    from ecgcore.data.resolve import resolve_cache
    from trainer.config import load_config
    from trainer.run import train

    configs = Path(__file__).resolve().parents[2] / "trainer" / "configs"
    rows = []
    if args.out and args.out.exists():  # a grid that was stopped continues where it was
        rows = pd.read_csv(args.out).to_dict("records")
    done = {(r["model"], int(r["latent"]), int(r["fold"])) for r in rows}
    t0 = time.perf_counter()
    # every run is scored on the median beats of one cache (every cache variant holds them)
    base = load_config(configs / "pca.yaml", [f"data.path={args.data.resolve()}"])
    cache = resolve_cache(base.data, "median", args.runs / ".cache", progress=False).path
    folds = args.only_folds if args.only_folds is not None else range(args.folds)
    for fold in folds:
        for latent in args.latents:
            for name in args.models:
                if (name, latent, fold) in done:
                    continue
                overrides = [f"data.path={args.data.resolve()}", f"data.cv_folds={args.folds}",
                             f"data.fold={fold}", f"model.latent_dim={latent}", f"name={name}-L{latent}-fold{fold}"]
                if name != "pca":
                    overrides += [f"optim.{k}={v}" for k, v in
                                  (("max_epochs", args.max_epochs), ("patience", args.patience)) if v]
                    overrides += args.overrides
                cfg = load_config(configs / f"{name}.yaml", overrides)
                run = train(cfg, args.runs, progress=False)
                m = held_out_metrics(run, cache)
                summary = json.loads((run / "metrics.json").read_text())
                epochs = summary["epochs"]
                rows.append({"model": name, "latent": latent, "fold": fold, "epochs": epochs,
                             "train_s": summary["seconds"], "run": run.name,
                             "mae_uv": m["mae"], "mse_uv2": m["mse"], "corr": m["correlation"],
                             **{f"mae_{w}_uv": v for w, v in m["mae_per_wave"].items()}})
                if args.out:
                    pd.DataFrame(rows).to_csv(args.out, index=False)
                print(f"fold {fold} L={latent:<3} {name:<18} MAE {m['mae']:6.1f} µV  r {m['correlation']:.3f}"
                      f"  ({epochs} epochs, {time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    cols = ["mae_uv", "mae_P_uv", "mae_QRS_uv", "mae_ST_uv", "mae_T_uv", "corr", "mse_uv2"]
    cols = [c for c in cols if c in df.columns]
    agg = df.groupby(["latent", "model"], sort=False)[cols].agg(["mean", "std"])
    print(f"\n{args.folds}-fold patient-grouped CV, held-out median beats, µV (mean ± SD over folds)\n")
    header = "| L | model | " + " | ".join(cols) + " |"
    print(header)
    print("|" + "---|" * (len(cols) + 2))
    for (latent, model), r in agg.iterrows():
        cells = [f"{r[(c, 'mean')]:.3f} ± {r[(c, 'std')]:.3f}" if c == "corr"
                 else f"{r[(c, 'mean')]:.1f} ± {r[(c, 'std')]:.1f}" for c in cols]
        print(f"| {latent} | {model} | " + " | ".join(cells) + " |")
    if (df["model"] == "pca").any():
        paired = paired_against_pca(df, args.runs, cache)
        print("\nPaired on the same held-out records: MAE(model) − MAE(PCA), µV, mean with "
              "bootstrap 95% CI over records; share of records the model reconstructs better\n")
        print("| L | model | folds | records | Δ MAE (µV) | 95% CI | records better |")
        print("|---|---|---|---|---|---|---|")
        for r in paired.itertuples():
            print(f"| {r.latent} | {r.model} | {r.folds} | {r.records} | {r.mae_diff_uv:+.2f} | "
                  f"{r.ci_low:+.2f} to {r.ci_high:+.2f} | {r.records_better:.0%} |")
    return 0
