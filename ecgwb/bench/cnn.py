"""`ecgwb bench cnn`: the supervised comparator at full strength, k-fold patient-grouped CV.

``cnn_baseline`` from its shipped recipe (the PTB-XL benchmark's xresnet1d101 on 10-s
signals at 100 Hz standardised by the training records' SD, 2.5-s random crops, the max
over sliding crops at test time, AdamW with a one-cycle schedule, the last epoch's
weights; Strodthoff et al. 2021) is trained on each fold of the dataset's patient-grouped, superclass-
stratified k-fold split (``data.cv_folds`` / ``data.fold``: the folds belong to the
dataset, so every model's fold k holds out the same records) and scores its held-out fold
with its own head: macro AUROC over the 5 diagnostic superclasses per fold (bootstrap 95%
CI), their mean ± SD, and the pooled out-of-fold figure, with each fold's wall time.

Beside it, when finished runs exist, the best latent model on the same folds: ``ecg_sl``
(``ecgwb bench families --only sl_vs_cnn`` trains ``ecg_sl-fold{k}`` into
``runs/bench-families`` from the same 100-Hz cache; ``--reference-runs`` points there).
Its runs are only scored here, never trained.

``--time-steps N`` trains nothing: it times N optimiser steps (forward, backward, Adam) of
the configured model on real batches of fold 0's training records and the sliding-crop
prediction of its validation records, and estimates an epoch, a fold and the whole run.

    ecgwb bench cnn --time-steps 3                       # the estimate, a minute
    ecgwb bench cnn --folds 5                            # the full run (needs a GPU session)
    ecgwb bench cnn --only-folds 0 --epochs 5 --variant xresnet1d50   # a smaller figure
    ecgwb bench cnn --only-folds 0 1 --score val --set optim.lr=1e-3   # a recipe trial

``--score val`` scores each fold run on its inner validation split (records of the fold's
training part, never its held-out fold): the figure recipe choices are made on. Those
records are then kept out of training, although the recipe trains on them
(``data.val_in_train``: with the last epoch's weights nothing is chosen on them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ecgwb.bench.families import (
    CONFIGS,
    SUPERCLASSES,
    _cache,
    _default_data,
    _finished_run,
    _fold_scores,
)

FS = 100.0  # the benchmark's rate (and the recipe's)


def _sets(args: argparse.Namespace, cache: Path, fold: int | None = None) -> list[str]:
    sets = [f"data.path={cache}", f"data.fs={FS:g}", f"data.cv_folds={args.folds}",
            f"data.fold={0 if fold is None else fold}"]
    if args.epochs is not None:
        sets += [f"optim.max_epochs={args.epochs}", f"optim.patience={args.epochs}"]
    if args.variant is not None:
        sets.append(f"model.variant={args.variant}")
    if args.batch_size is not None:
        sets.append(f"data.batch_size={args.batch_size}")
    # scoring the inner validation split needs it kept out of training, whatever the recipe says
    return sets + list(args.set) + (["data.val_in_train=false"] if args.score == "val" else [])


def _config(args: argparse.Namespace, cache: Path, fold: int | None = None):
    from trainer.config import load_config

    return load_config(CONFIGS / "cnn_baseline.yaml", _sets(args, cache, fold))


def time_steps(args: argparse.Namespace, cache: Path) -> dict:
    """Seconds per training step and per validation record of the configured model, on
    real records of fold 0, and the estimated epoch / fold / run."""
    from ecgcore.data.store import ECGCache
    from ecgcore.models import count_parameters, create_model
    from trainer.config import resolve_model_overrides
    from trainer.data import make_splits

    cfg = _config(args, cache)
    model = create_model(**resolve_model_overrides(cfg))
    store = ECGCache(cache)
    split = make_splits(store.records, cfg.data, cfg.optim.seed)
    signals = store.array("signals")
    y = torch.tensor(store.records[SUPERCLASSES].to_numpy(dtype=np.float32))
    b = cfg.data.batch_size
    tr = split["train"]
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    times = []
    for i in range(args.time_steps + 1):  # the first step warms up (allocations), not timed
        rows = tr[(i * b) % len(tr):][:b]
        x = torch.from_numpy(np.ascontiguousarray(signals[rows], dtype=np.float32))
        t0 = time.perf_counter()
        loss = model.loss(x, target=y[rows])["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    step = float(np.mean(times[1:]))
    model.eval()
    va = split["val"][:b]
    x = torch.from_numpy(np.ascontiguousarray(signals[va], dtype=np.float32))
    t0 = time.perf_counter()
    with torch.no_grad():
        model.predict_logits(x)
    per_record = (time.perf_counter() - t0) / len(va)
    steps = int(np.ceil(len(tr) / b))
    epoch = steps * step + len(split["val"]) * per_record
    fold = cfg.optim.max_epochs * epoch + len(split["test"]) * per_record
    out = {"params": count_parameters(model), "variant": model.config.variant,
           "input": list(model.config.input_shape), "crop": model.crop_length, "batch": b,
           "train_records": len(tr), "val_records": len(split["val"]), "s_per_step": step,
           "s_per_val_record": per_record, "steps_per_epoch": steps, "s_per_epoch": epoch,
           "epochs": cfg.optim.max_epochs, "s_per_fold": fold, "s_run": fold * args.folds,
           "threads": torch.get_num_threads()}
    print(f"cnn_baseline {out['variant']}: {out['params']:,} parameters, input {out['input']}, crop "
          f"{out['crop']} samples, batch {b}, {torch.get_num_threads()} torch thread(s)")
    print(f"  {step:.2f} s per training step (mean of {args.time_steps}), "
          f"{per_record * 1000:.0f} ms per validation record (sliding crops)")
    print(f"  fold 0: {len(tr)} training / {len(split['val'])} validation records: {steps} steps → "
          f"{epoch:.0f} s per epoch; {cfg.optim.max_epochs} epochs ≈ {fold / 60:.0f} min per fold, "
          f"{args.folds} folds ≈ {fold * args.folds / 3600:.1f} h", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench cnn", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="PTB-XL folder (default ptbxl500)")
    ap.add_argument("--runs", type=Path, default=Path("runs/bench-cnn"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, nargs="+", help="train and score only these folds")
    ap.add_argument("--epochs", type=int, help="optim.max_epochs (and patience: no early stop); "
                    "default: the recipe's 50")
    ap.add_argument("--variant", choices=["xresnet1d101", "xresnet1d50", "xresnet1d34", "xresnet1d18", "small"],
                    help="model.variant (default: the recipe's xresnet1d101)")
    ap.add_argument("--batch-size", type=int, help="data.batch_size (default: the recipe's)")
    ap.add_argument("--set", nargs="*", default=[], help="more KEY=VALUE overrides of the config")
    ap.add_argument("--reference-runs", type=Path, default=Path("runs/bench-families"),
                    help="where finished ecg_sl-fold{k} runs are scored beside it")
    ap.add_argument("--reuse", action="store_true", help="score finished fold runs again instead of training")
    ap.add_argument("--time-steps", type=int, default=0, help="only time this many steps and estimate the run")
    ap.add_argument("--score", choices=["test", "val"], default="test",
                    help="score the held-out fold (test) or, to choose a recipe inside the training "
                    "part, the run's inner validation split (val; ecg_sl is then not scored)")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)

    from ecgcore.evaluate.stats import macro_auroc
    from trainer.run import train

    args.runs.mkdir(parents=True, exist_ok=True)
    cache = _cache(args.data, args.runs, FS, signals=True)
    if args.time_steps:
        out = time_steps(args, cache)
        if args.out:
            args.out.write_text(json.dumps(out, indent=1))
        return 0

    tag = f"cnn_baseline-{args.variant or 'recipe'}" + (f"-e{args.epochs}" if args.epochs else "")
    folds = args.only_folds if args.only_folds is not None else list(range(args.folds))
    print(f"== {tag}: {args.folds}-fold patient-grouped CV on {args.data.name} at {FS:g} Hz; folds {folds}",
          flush=True)
    rows: dict[str, dict[str, list]] = {m: {"fold": [], "auroc": [], "low": [], "high": [], "s": [], "y": [],
                                            "p": [], "ids": []} for m in ("cnn_baseline", "ecg_sl")}
    for fold in folds:
        t0 = time.perf_counter()
        run = _finished_run(args.runs, f"{tag}-fold{fold}") if args.reuse else None
        if run is None:
            from trainer.config import load_config

            cfg = load_config(CONFIGS / "cnn_baseline.yaml", [*_sets(args, cache, fold), f"name={tag}-fold{fold}"])
            run = train(cfg, args.runs, progress=False)
        scored = [("cnn_baseline", run)]
        ref = _finished_run(args.reference_runs, f"ecg_sl-fold{fold}") if args.score == "test" else None
        if ref is not None:
            scored.append(("ecg_sl", ref))
        for name, r in scored:
            with torch.no_grad():
                p, y, ids = _fold_scores(r, cache, args.score)
            auc = macro_auroc(y, p, SUPERCLASSES, n_boot=200)
            seconds = time.perf_counter() - t0 if name == "cnn_baseline" else float("nan")
            row = rows[name]
            for key, v in (("fold", fold), ("auroc", auc["macro_auroc"]), ("low", auc["low"]),
                           ("high", auc["high"]), ("s", seconds), ("y", y), ("p", p), ("ids", ids)):
                row[key].append(v)
            print(f"  fold {fold} {name:<12} macro AUROC {auc['macro_auroc']:.3f} ({auc['low']:.3f}–"
                  f"{auc['high']:.3f}) on {len(ids)} {'held-out' if args.score == 'test' else 'inner validation'} records"
                  + (f"  [{seconds / 60:.1f} min, {r.name}]" if name == "cnn_baseline" else f"  [{r.name}]"),
                  flush=True)
    print("\n| model | folds | macro AUROC per fold | mean ± SD | pooled out-of-fold (95% CI) | wall time |")
    print("|---|---|---|---|---|---|")
    result = {}
    for name, row in rows.items():
        if not row["fold"]:
            continue
        a = np.array(row["auroc"])
        pooled = macro_auroc(np.concatenate(row["y"]), np.concatenate(row["p"]), SUPERCLASSES, n_boot=1000)
        sd = a.std(ddof=1) if len(a) > 1 else float("nan")
        wall = f"{np.nansum(row['s']) / 60:.0f} min" if name == "cnn_baseline" else "(reused)"
        print(f"| {name} | {', '.join(map(str, row['fold']))} | {', '.join(f'{v:.3f}' for v in a)} | "
              f"{a.mean():.3f} ± {sd:.3f} | {pooled['macro_auroc']:.3f} ({pooled['low']:.3f}–{pooled['high']:.3f}) "
              f"| {wall} |")
        per_class = {c.removeprefix("superclass_"): v["auroc"] for c, v in pooled["per_label"].items()}
        result[name] = {"folds": row["fold"], "fold_auroc": a.tolist(), "mean": float(a.mean()),
                        "pooled": pooled["macro_auroc"], "pooled_per_class": per_class, "seconds": row["s"]}
    for name, res in result.items():
        print(f"{name} pooled per class: " + ", ".join(f"{c} {v:.3f}" for c, v in res["pooled_per_class"].items()))
    if not rows["ecg_sl"]["fold"]:
        print(f"\n(no finished ecg_sl-fold{{k}} runs under {args.reference_runs}: "
              "`ecgwb bench families --only sl_vs_cnn` trains them on the same folds)")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
