"""`ecgwb bench families`: the seed 002-004 families on the 500 PTB-XL records.

Parts (``--only``, default all):

- ``lead_mae``: train ``lead_mae`` from its config (median beats, 500 Hz; cross-lead
  reconstruction and a floored reconstruction weight) on one patient-grouped split,
  every epoch of the sin/cos curriculum (its weighted total changes with the epoch, so
  the figures use the final weights, ``checkpoints/last``, and show the checkpoint of the
  lowest validation total beside them); on the held-out test records report the
  per-record correlation
  between the embeddings of different leads, and the reconstruction of all 12 leads from
  the embedding of lead I alone (MAE in µV, mean per-lead Pearson r), beside the model's
  own all-lead reconstruction, a ridge regression from lead I and the training mean beat.
- ``vq_vae``: train ``vq_vae`` from its config, with and without dead-code restart; report
  the codebook perplexity and fraction of codes used over the last training epoch (the
  run's ``metrics.csv``) and over the median beats of all records (best checkpoint).
- ``sl_vs_cnn``: ``ecg_sl`` (sequences of 16 beats) and ``cnn_baseline`` (10-s signals),
  both from one cache at 100 Hz (the rate of the PTB-XL benchmark's xresnet1d; it keeps
  the two on the same records and folds), with 5-fold patient-grouped CV; each
  fold's model scores its held-out fold with its own head; macro AUROC over the five
  superclasses per fold (mean ± SD) and pooled out of fold (bootstrap 95% CI), and the
  paired difference (stratified bootstrap CI; DeLong per class). cnn_baseline trains at its
  shipped recipe (``--cnn-epochs`` only to shorten it, every epoch run).
- ``throughput``: training samples/s of ``st_mem`` and ``ecg_jepa`` pre-training at their
  shipped widths on 10-s 12-lead signals (CPU; CUDA fp32/bf16 rows where a GPU exists).

Runs go to ``--runs`` (default ``runs/bench-families``) and are kept.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

PARTS = ("lead_mae", "vq_vae", "sl_vs_cnn", "throughput")
CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"
SUPERCLASSES = ["superclass_NORM", "superclass_MI", "superclass_STTC", "superclass_CD", "superclass_HYP"]


def _default_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbxl500"


def _cache(data: Path, runs: Path, fs: float, sequences: bool = False, signals: bool = False) -> Path:
    """Build (or reuse) the cache of ``data`` at ``fs`` under ``runs/.cache``."""
    from ecgcore.data.cache import CacheOptions, preprocess
    from ecgcore.signal.pipeline import PipelineConfig

    suffix = "".join(s for s, on in (("_seq", sequences), ("_sig", signals)) if on)
    out = runs / ".cache" / f"{data.resolve().name}_r400_{fs:g}Hz{suffix}"
    summary = preprocess(data, out, PipelineConfig(target_fs=fs), CacheOptions(sequences=sequences, signals=signals),
                         progress=False)
    print(f"cache {out.name}: {summary.n_ok}/{summary.n_records} records ok", flush=True)
    return out


def _train(name: str, runs: Path, sets: list[str]) -> Path:
    from trainer.config import load_config
    from trainer.run import train

    t0 = time.perf_counter()
    run = train(load_config(CONFIGS / f"{name}.yaml", sets), runs, progress=False)
    summary = json.loads((run / "metrics.json").read_text())
    print(f"  trained {run.name}: {summary['epochs']} epochs in {time.perf_counter() - t0:.0f} s", flush=True)
    return run


def _split_rows(run: Path, cache, split: str) -> np.ndarray:
    ids = cache.records["record_id"].astype(str).tolist()
    row_of = {r: i for i, r in enumerate(ids)}
    return np.array(sorted(row_of[r] for r in json.loads((run / "split.json").read_text())[split]))


def _median(cache, rows: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(cache.median[rows], dtype=np.float32))


def _pct(v: np.ndarray) -> str:
    return f"{np.mean(v):.3f} ± {np.std(v):.3f} (median {np.median(v):.3f})"


# -- lead_mae ---------------------------------------------------------------------------------
@torch.no_grad()
def bench_lead_mae(cache_path: Path, runs: Path, epochs: int, batch_size: int, lr: float | None,
                   sets: tuple[str, ...] | list[str] = ()) -> dict:
    from sklearn.linear_model import Ridge

    from ecgcore.checkpoint import latest_checkpoint, load_model
    from ecgcore.data.store import ECGCache
    from ecgcore.evaluate.reconstruction import reconstruction_metrics
    from ecgcore.models import model_from_config
    from ecgcore.runs import Run
    from trainer.callbacks import read_metrics

    print(f"\n== lead_mae: {epochs} epochs (curriculum over the same), batch {batch_size}, "
          "one patient-grouped split", flush=True)
    run = _train("lead_mae", runs, [f"data.path={cache_path}", f"optim.max_epochs={epochs}",
                                     f"optim.patience={epochs}", f"model.curriculum_epochs={epochs}",
                                     f"data.batch_size={batch_size}", *([f"optim.lr={lr}"] if lr else []),
                                     "name=lead_mae-bench", *sets])
    model, _ = load_model(latest_checkpoint(run / "checkpoints" / "last"))  # the last epoch
    opened = Run(run)
    early = opened.model  # the lowest validation total
    best_epoch = min(read_metrics(run / "metrics.csv"), key=lambda r: float(r["val/total"]))["epoch"]
    scale = opened.scale_uv
    cache = ECGCache(cache_path)
    test, train, val = (_split_rows(run, cache, s) for s in ("test", "train", "val"))
    x = _median(cache, test)
    xt = torch.from_numpy(x / scale)
    fid, fs, leads = np.asarray(cache.fiducials[test]), cache.fs, list(cache.leads)
    lead_i = leads.index("I")

    corr = model.cross_lead_correlation(xt).detach().numpy()
    untrained = model_from_config(model.config.model_dump(mode="json")).eval()
    corr0 = untrained.cross_lead_correlation(xt).detach().numpy()

    def metrics(x_hat: np.ndarray) -> dict:
        return reconstruction_metrics(x, x_hat, fid, fs, leads)

    rows = {
        "lead_mae, from lead I alone": metrics(model.reconstruct_from_lead(xt, lead_i).detach().numpy() * scale),
        "lead_mae, from all 12 leads (mean embedding)": metrics(model.reconstruct(xt).detach().numpy() * scale),
        f"lead_mae at epoch {best_epoch} (lowest val total), from lead I alone": metrics(
            early.reconstruct_from_lead(xt, lead_i).detach().numpy() * scale),
    }
    # baselines fitted on the same training records
    x_tr, x_va = _median(cache, train), _median(cache, val)
    best = None
    for alpha in (1e3, 1e5, 1e7, 1e9, 1e11):
        ridge = Ridge(alpha=alpha).fit(x_tr[:, lead_i], x_tr.reshape(len(x_tr), -1))
        mae = float(np.abs(ridge.predict(x_va[:, lead_i]).reshape(x_va.shape) - x_va).mean())
        if best is None or mae < best[0]:
            best = (mae, alpha, ridge)
    rows[f"ridge regression from lead I (α={best[1]:g}, chosen on val)"] = metrics(
        best[2].predict(x[:, lead_i]).reshape(x.shape).astype(np.float32))
    rows["training mean beat"] = metrics(np.broadcast_to(x_tr.mean(0), x.shape).copy())

    print(f"\nlead_mae: {len(test)} held-out PTB-XL records (run {run.name}), median beats at {fs:g} Hz\n")
    corr_e = early.cross_lead_correlation(xt).detach().numpy()
    print(f"per-record mean Pearson r between the embeddings of different leads (66 pairs): {_pct(corr)}")
    print(f"same, at epoch {best_epoch} (lowest val total): {_pct(corr_e)}")
    print(f"same, the untrained model (same architecture, initial weights): {_pct(corr0)}\n")
    print("| reconstruction of the 12 leads | MAE (µV) | r (mean per lead) | r, leads other than I |")
    print("|---|---|---|---|")
    out = {"run": run.name, "n_test": len(test), "cross_lead_r": corr.tolist(), "cross_lead_r_untrained": corr0.tolist()}
    for label, m in rows.items():
        others = np.mean([r for lead, r in m["correlation_per_lead"].items() if lead != "I"])
        print(f"| {label} | {m['mae']:.1f} | {m['correlation']:.3f} | {others:.3f} |")
        out[label] = {"mae_uv": m["mae"], "r": m["correlation"], "r_other_leads": float(others),
                      "r_per_lead": m["correlation_per_lead"], "mae_per_lead": m["mae_per_lead"]}
    per_lead = rows["lead_mae, from lead I alone"]["correlation_per_lead"]
    print("\nfrom lead I alone, r per lead: " + ", ".join(f"{k} {v:.2f}" for k, v in per_lead.items()))
    return out


# -- vq_vae -----------------------------------------------------------------------------------
@torch.no_grad()
def _code_usage(model, x: torch.Tensor) -> dict:
    idx = torch.cat([model.encode_indices(b) for b in x.split(256)]).flatten()
    p = torch.bincount(idx, minlength=model.config.codebook_size).double()
    p = p / p.sum()
    return {"perplexity": float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum())),
            "codes_used": float((p > 0).double().mean())}


def bench_vq_vae(cache_path: Path, runs: Path, epochs: int, patience: int, batch_size: int | None = None,
                 sets: tuple[str, ...] | list[str] = ()) -> dict:
    from ecgcore.data.store import ECGCache
    from ecgcore.evaluate.reconstruction import reconstruction_metrics
    from ecgcore.runs import Run
    from trainer.callbacks import read_metrics

    print(f"\n== vq_vae: {epochs} epochs, batch {batch_size or 'of the config'}, with and without dead-code restart",
          flush=True)
    cache = ECGCache(cache_path)
    out = {}
    variants = {"dead-code restart (config: after 50 unused batches)": [],
                "no restart (dead_code_steps=0)": ["model.dead_code_steps=0"]}
    for label, extra in variants.items():
        tag = "restart" if not extra else "norestart"
        run = _train("vq_vae", runs, [f"data.path={cache_path}", f"optim.max_epochs={epochs}",
                                       f"optim.patience={patience}", f"name=vq_vae-{tag}-bench", *extra,
                                       *([f"data.batch_size={batch_size}"] if batch_size else []), *sets])
        rows = read_metrics(run / "metrics.csv")
        last = rows[-1]
        opened = Run(run)
        model, scale = opened.model, opened.scale_uv
        allx = _median(cache, np.arange(len(cache)))
        usage = _code_usage(model, torch.from_numpy(allx / scale))
        test = _split_rows(run, cache, "test")
        with torch.no_grad():
            x_hat = model.reconstruct(torch.from_numpy(allx[test] / scale)).numpy() * scale
        rec = reconstruction_metrics(allx[test], x_hat, np.asarray(cache.fiducials[test]), cache.fs, cache.leads)
        out[label] = {"run": run.name, "epochs": len(rows), "codebook_size": model.config.codebook_size,
                      "last_epoch_perplexity": float(last["model/codebook_perplexity"]),
                      "last_epoch_codes_used": float(last["model/codebook_codes_used"]),
                      "all_records_perplexity": usage["perplexity"], "all_records_codes_used": usage["codes_used"],
                      "test_mae_uv": rec["mae"], "test_r": rec["correlation"], "n_records": len(cache)}
    k = next(iter(out.values()))["codebook_size"]
    print(f"\nvq_vae on the {len(cache)} PTB-XL records (codebook {k} codes; perplexity ≤ {k})\n")
    print("| variant | epochs | last epoch: perplexity | last epoch: codes used | all records: perplexity "
          "| all records: codes used | test MAE (µV) | test r |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in out.items():
        print(f"| {label} | {r['epochs']} | {r['last_epoch_perplexity']:.1f} | {r['last_epoch_codes_used']:.0%} "
              f"| {r['all_records_perplexity']:.1f} | {r['all_records_codes_used']:.0%} | {r['test_mae_uv']:.1f} "
              f"| {r['test_r']:.3f} |")
    return out


# -- ecg_sl against cnn_baseline ----------------------------------------------------------------
def _fold_scores(run: Path, cache_path: Path, split: str = "test") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The run's own-head probabilities on its held-out fold (``split="val"``: on its inner
    validation split instead), the labels and record ids."""
    from ecgcore.runs import Run
    from ecgcore.runs.evaluation import own_head_scores

    opened = Run(run, cache_path)
    cache = opened.cache
    rows = opened.split_rows(split)
    scores = own_head_scores(opened, SUPERCLASSES, rows)
    if scores is None:
        raise RuntimeError(f"{run}: the run's head does not predict {SUPERCLASSES}")
    y = cache.records.iloc[rows][SUPERCLASSES].to_numpy(dtype=float)
    return scores[0], y, cache.records["record_id"].astype(str).iloc[rows].tolist()


def _finished_run(runs: Path, name: str) -> Path | None:
    """The newest finished run called ``name`` (``name-<date>-<time>``) under ``runs``."""
    for run in sorted(runs.glob(f"{name}-2*"), reverse=True):
        summary = run / "metrics.json"
        if summary.exists() and json.loads(summary.read_text()).get("status") == "finished":
            return run
    return None


def _paired(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray) -> dict:
    """Macro AUROC difference a − b on the same records: stratified bootstrap CI, and a
    paired DeLong test per label."""
    from sklearn.metrics import roc_auc_score

    from ecgcore.evaluate.stats import bootstrap_ci, delong_test

    k = y.shape[1]

    def diff(yy: np.ndarray, ss: np.ndarray) -> float:
        return float(roc_auc_score(yy, ss[:, :k], average="macro") - roc_auc_score(yy, ss[:, k:], average="macro"))

    ci = bootstrap_ci(diff, y, np.concatenate([p_a, p_b], axis=1), n_boot=1000)
    per = {c: delong_test(y[:, j] == 1, p_a[:, j], p_b[:, j])["p_value"] for j, c in enumerate(SUPERCLASSES)}
    return {"diff": ci.estimate, "low": ci.low, "high": ci.high, "delong_p": per}


def _model_sets(cache: Path, fs: float, sl_epochs: tuple[int, int, int], cnn_epochs: int | None,
                patience: int) -> dict[str, list[str]]:
    """The config overrides of the two models. cnn_baseline keeps its shipped recipe (50 epochs,
    the last epoch's weights, no early stop) unless ``cnn_epochs`` is given, and then runs all
    of them (patience = epochs): an early stop would cut its one-cycle schedule short.
    ``patience`` is ecg_sl's early stopping (its recipe's 10 by default)."""
    beat_ae, masked, finetune = sl_epochs
    stages = (f"[{{name: beat_ae, max_epochs: {beat_ae}}}, {{name: masked, max_epochs: {masked}}}, "
              f"{{name: finetune, uses_labels: true, max_epochs: {finetune}}}]")
    common = [f"data.path={cache}", f"data.fs={fs:g}"]
    cnn = [] if cnn_epochs is None else [f"optim.max_epochs={cnn_epochs}", f"optim.patience={cnn_epochs}"]
    return {"ecg_sl": [*common, f"stages={stages}", f"optim.patience={patience}"],
            "cnn_baseline": [*common, *cnn]}


def bench_sl_vs_cnn(data: Path, runs: Path, folds: int, sl_epochs: tuple[int, int, int], cnn_epochs: int | None,
                    patience: int, fs: float, only_folds: list[int] | None, reuse: bool = False) -> dict:
    from ecgcore.evaluate.stats import macro_auroc

    cache = _cache(data, runs, fs, sequences=True, signals=True)
    models = {name: (cache, sets) for name, sets in _model_sets(cache, fs, sl_epochs, cnn_epochs, patience).items()}
    print(f"\n== sl_vs_cnn: {folds}-fold patient-grouped CV at {fs:g} Hz; ecg_sl stages beat_ae / masked / "
          f"finetune {sl_epochs} epochs, cnn_baseline "
          f"{'its recipe' if cnn_epochs is None else f'{cnn_epochs} epochs'}", flush=True)
    results: dict[str, dict] = {m: {"fold_auroc": [], "runs": [], "y": [], "p": [], "ids": []} for m in models}
    for fold in only_folds if only_folds is not None else range(folds):
        for name, (cache_path, sets) in models.items():
            run = _finished_run(runs, f"{name}-fold{fold}") if reuse else None
            if run is None:
                run = _train(name, runs, [*sets, f"data.cv_folds={folds}", f"data.fold={fold}",
                                          f"name={name}-fold{fold}"])
            else:
                print(f"  reusing {run.name}", flush=True)
            p, y, ids = _fold_scores(run, cache_path)
            auc = macro_auroc(y, p, SUPERCLASSES, n_boot=200)["macro_auroc"]
            r = results[name]
            r["fold_auroc"].append(auc)
            r["runs"].append(run.name)
            r["y"].append(y)
            r["p"].append(p)
            r["ids"].append(ids)
            print(f"  fold {fold} {name:<13} macro AUROC {auc:.3f} on {len(ids)} held-out records", flush=True)
        same = results["ecg_sl"]["ids"][-1] == results["cnn_baseline"]["ids"][-1]
        print(f"  fold {fold}: both models held out the same records: {same}", flush=True)
    print(f"\nmacro AUROC over the 5 superclasses, {folds}-fold patient-grouped CV on {data.name}\n")
    print("| model | input | folds | macro AUROC per fold, mean ± SD | pooled out-of-fold macro AUROC (95% CI) | "
          + " | ".join(c.removeprefix("superclass_") for c in SUPERCLASSES) + " |")
    print("|---|---|---|---|---|" + "---|" * len(SUPERCLASSES))
    out = {}
    width = round(0.8 * fs)  # the r400 window: ±400 ms
    inputs = {"ecg_sl": f"≤16 beats × 12 leads × {width} samples, {fs:g} Hz",
              "cnn_baseline": f"12 leads × {int(10 * fs)} samples (10 s), {fs:g} Hz"}
    for name, r in results.items():
        y, p = np.concatenate(r["y"]), np.concatenate(r["p"])
        pooled = macro_auroc(y, p, SUPERCLASSES, n_boot=1000)
        per = [pooled["per_label"][c]["auroc"] if c in pooled["per_label"] else float("nan") for c in SUPERCLASSES]
        f = np.array(r["fold_auroc"])
        print(f"| {name} | {inputs[name]} | {len(f)} | {f.mean():.3f} ± {f.std(ddof=1) if len(f) > 1 else 0:.3f} "
              f"| {pooled['macro_auroc']:.3f} ({pooled['low']:.3f}–{pooled['high']:.3f}) | "
              + " | ".join(f"{v:.3f}" for v in per) + " |")
        out[name] = {"fold_auroc": f.tolist(), "pooled": pooled["macro_auroc"], "low": pooled["low"],
                     "high": pooled["high"], "per_label": dict(zip(SUPERCLASSES, per)), "runs": r["runs"]}
    sl, cnn = results["ecg_sl"], results["cnn_baseline"]
    if all(a == b for a, b in zip(sl["ids"], cnn["ids"])):
        paired = _paired(np.concatenate(sl["y"]), np.concatenate(sl["p"]), np.concatenate(cnn["p"]))
        wins = sum(a > b for a, b in zip(sl["fold_auroc"], cnn["fold_auroc"]))
        print(f"\necg_sl − cnn_baseline, pooled out-of-fold macro AUROC: {paired['diff']:+.3f} "
              f"(paired stratified bootstrap 95% CI {paired['low']:+.3f} to {paired['high']:+.3f}); "
              f"ecg_sl ahead in {wins} of {len(sl['fold_auroc'])} folds")
        print("paired DeLong p per superclass: " + ", ".join(
            f"{c.removeprefix('superclass_')} {v:.3f}" for c, v in paired["delong_p"].items()))
        out["paired"] = {**paired, "folds_ecg_sl_ahead": wins}
    return out


# -- throughput -------------------------------------------------------------------------------
def bench_throughput(batch: int, steps: int, warmup: int) -> dict:
    from ecgcore.models import count_parameters, create_model
    from ecgwb.bench.train import throughput

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"\n== throughput: pre-training step (forward + backward + Adam) at batch {batch}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} CPU threads, "
          + (f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"), flush=True)
    g = torch.Generator().manual_seed(0)
    out = {}
    print(f"\n{'model (shipped width)':<38}{'params':>10}{'input':>12}{'device':>8}{'precision':>11}{'samples/s':>12}")
    for name in ("st_mem", "ecg_jepa"):
        for fs in (500.0,):  # the shipped input; patches follow fs, so the token count does not
            shape = (12, int(10 * fs))
            x = torch.randn(batch, *shape, generator=g)  # speed does not depend on the values
            for device in devices:
                for bf16 in ([False, True] if device == "cuda" else [False]):
                    torch.manual_seed(0)
                    model = create_model(name, input_shape=shape, fs=fs)
                    rate = throughput(model, x, device, steps, warmup, bf16)
                    key = f"{name} {shape[0]}×{shape[1]} {device} {'bf16' if bf16 else 'fp32'}"
                    out[key] = rate
                    print(f"{name + f' dim {model.config.dim}, depth {model.config.depth}':<38}"
                          f"{count_parameters(model) / 1e6:>9.2f}M{f'{shape[0]}×{shape[1]}':>12}{device:>8}"
                          f"{'bf16' if bf16 else 'fp32':>11}{rate:>12.1f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench families", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="PTB-XL root (500 Hz records)")
    ap.add_argument("--runs", type=Path, default=Path("runs/bench-families"))
    ap.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold-subset", type=int, nargs="+", help="run only these folds (smoke tests)")
    ap.add_argument("--lead-mae-epochs", type=int, default=100)
    ap.add_argument("--lead-mae-batch", type=int, default=16, help="more optimiser steps per epoch than the config's 64")
    ap.add_argument("--lead-mae-lr", type=float, default=3e-3, help="0: the config's (1e-3)")
    ap.add_argument("--vq-epochs", type=int, default=60)
    ap.add_argument("--sl-epochs", type=int, nargs=3, default=[10, 10, 30], metavar=("BEAT_AE", "MASKED", "FINETUNE"))
    ap.add_argument("--vq-batch", type=int, default=16, help="more optimiser steps per epoch than the config's 64")
    ap.add_argument("--cnn-epochs", type=int, help="cnn_baseline epochs, all run (no early stop); "
                    "default: its shipped recipe (50)")
    ap.add_argument("--fs", type=float, default=100.0, help="sampling rate of sl_vs_cnn's inputs")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 suits a shared machine)")
    ap.add_argument("--patience", type=int, default=10, help="early stopping of ecg_sl (and vq_vae's floor)")
    ap.add_argument("--batch", type=int, default=16, help="throughput batch size")
    ap.add_argument("--steps", type=int, default=5, help="throughput timed steps")
    ap.add_argument("--reuse", action="store_true",
                    help="sl_vs_cnn: score finished fold runs already in --runs instead of training again")
    ap.add_argument("--out", type=Path, help="also write every figure as JSON")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    results: dict = {}
    if "lead_mae" in args.only or "vq_vae" in args.only:
        median_cache = _cache(args.data, args.runs, 500.0)
    if "lead_mae" in args.only:
        results["lead_mae"] = bench_lead_mae(median_cache, args.runs, args.lead_mae_epochs, args.lead_mae_batch,
                                             args.lead_mae_lr)
    if "vq_vae" in args.only:
        results["vq_vae"] = bench_vq_vae(median_cache, args.runs, args.vq_epochs, max(args.patience, 15),
                                         args.vq_batch)
    if "sl_vs_cnn" in args.only:
        results["sl_vs_cnn"] = bench_sl_vs_cnn(args.data, args.runs, args.folds, tuple(args.sl_epochs),
                                               args.cnn_epochs, args.patience, args.fs, args.fold_subset,
                                               args.reuse)
    if "throughput" in args.only:
        results["throughput"] = bench_throughput(args.batch, args.steps, 2)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=float))
    return 0
