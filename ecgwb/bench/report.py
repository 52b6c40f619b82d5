"""`ecgwb bench report`: the evaluation issue's comparison table on the 500 Hz PTB-XL records.

Every model is trained on fold 0 of the patient-grouped 5-fold split (the folds belong to
the dataset, so every model holds out the same ~100 records) and evaluated with
``ecgwb evaluate --scope test``: reconstruction of the held-out median beats in µV,
macro AUROC over the 5 diagnostic superclasses with a bootstrap 95% CI and macro F1 of an
L2 logistic regression fitted on the other records' latent means (``cnn_baseline``: its
own multilabel head), and the clustering scores of the held-out latents. A sex + age row
comes from the same split. Then the label-fraction curve (000 Table 6): the best label-free
encoder's probe and ``cnn_baseline`` trained on 100 %, 10 % and 1 % of the training labels
(whole patients), scored on the same held-out records.

Finished runs are reused (found by run name in ``--runs`` and ``--reuse`` folders); the
rest are trained from the shipped configs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.files import WEIGHTS

ENCODERS = ("pca", "sae", "beta_vae", "annealed_beta_vae", "task_vae", "split_task_vae")
#: Trained with the task's labels on the whole training split: not eligible for the
#: label-fraction curve, whose point is an encoder that saw no labels.
LABEL_TRAINED = ("task_vae", "split_task_vae")
SUPERVISED = "cnn_baseline"
FRACTIONS = (1.0, 0.1, 0.01)
CONFIGS = Path(__file__).resolve().parents[2] / "trainer" / "configs"


def _default_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbxl500"


def _train(model: str, name: str, sets: list[str], args: argparse.Namespace) -> Path:
    from trainer.config import load_config
    from trainer.jobs import find_run
    from trainer.run import train

    run = find_run([args.runs, *args.reuse], name, finished=True)
    if run is not None:
        print(f"reusing {run}", flush=True)
        return run
    t0 = time.perf_counter()
    cfg = load_config(CONFIGS / f"{model}.yaml", [
        f"data.path={args.data.resolve()}", "data.cv_folds=5", f"data.fold={args.fold}",
        f"name={name}", *sets])
    run = train(cfg, args.runs, progress=False)
    print(f"trained {run.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return run


def _test_ids(run: Path) -> set[str]:
    return set(json.loads((run / "split.json").read_text())["test"])


def _evaluated(run: Path, labels: list[str]) -> bool:
    """True when the run's evaluation.json already scores ``labels`` on its test split and
    is newer than its weights."""
    path = run / "evaluation.json"
    try:
        ev = json.loads(path.read_text())
        fresh = path.stat().st_mtime >= (run / WEIGHTS).stat().st_mtime
    except (OSError, ValueError):
        return False
    down = ev.get("downstream") or {}
    return fresh and down.get("scope") == "test" and down.get("label") == labels


def _fmt_auc(row: pd.Series | dict) -> str:
    a, lo, hi = (row.get(k) for k in ("auroc", "auroc_low", "auroc_high"))
    if a is None or not np.isfinite(a):
        return "–"
    return f"{a:.3f} ({lo:.3f}–{hi:.3f})"


def label_fraction_rows(encoder_run: Path, cnn_runs: dict[float, Path], labels: list[str],
                        n_boot: int) -> pd.DataFrame:
    """Macro AUROC at each label fraction: the encoder's logistic-regression probe (fitted
    on that fraction of the other records, whole patients) and cnn_baseline trained on
    that fraction, both scored on the encoder run's test split."""
    from ecgcore.evaluate.downstream import evaluate_downstream
    from ecgcore.runs import Run

    art = Run(encoder_run)
    table = art.embedding.reset_index(drop=True)
    held = np.flatnonzero(table["record_id"].astype(str).isin(_test_ids(encoder_run)).to_numpy())
    rows = []
    for f in FRACTIONS:
        res = evaluate_downstream(table, labels, {"latent": table[art.latent_columns].to_numpy()},
                                  sex_age=False, hybrid=False, models=("logreg_l2",),
                                  n_boot=n_boot, fraction=f, test_rows=held)
        enc = res.table.iloc[0]
        cnn = json.loads((cnn_runs[f] / "evaluation.json").read_text())["downstream"]["main"] \
            if f in cnn_runs else {}
        split = json.loads((cnn_runs[f] / "split.json").read_text()) if f in cnn_runs else {}
        rows.append({"fraction": f, "labelled records (cnn)": len(split.get("labelled_train", [])) or None,
                     f"{art.model_name} + logreg": _fmt_auc(enc), "cnn_baseline": _fmt_auc(cnn),
                     "n test": int(enc["n"])})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="PTB-XL root (500 Hz records)")
    ap.add_argument("--runs", type=Path, default=Path("runs/bench-report"))
    ap.add_argument("--reuse", type=Path, nargs="*", default=[Path("runs/bench-reconstruction")],
                    help="folders whose finished runs named MODEL-L10-fold0 are reused")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--latent", type=int, default=10)
    ap.add_argument("--cnn-fs", type=float, default=100.0,
                    help="rate of cnn_baseline's 10-s input (the PTB-XL benchmark's 100 Hz)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, help="also write the table as CSV")
    args = ap.parse_args(argv)

    from ecgcore.data.spec import SUPERCLASS_COLUMNS
    from ecgcore.evaluate.report import comparison_table, to_csv, to_markdown
    from ecgcore.runs.evaluation import evaluate_run, report_rows

    labels = list(SUPERCLASS_COLUMNS)
    runs = {m: _train(m, f"{m}-L{args.latent}-fold{args.fold}", [f"model.latent_dim={args.latent}"], args)
            for m in ENCODERS}
    cnn = {f: _train(SUPERVISED, f"{SUPERVISED}-frac{f:g}-fold{args.fold}",
                     [f"data.fs={args.cnn_fs:g}", f"data.label_fraction={f:g}"], args)
           for f in FRACTIONS}
    reference = _test_ids(runs["pca"])
    for run in [*runs.values(), *cnn.values()]:
        if _test_ids(run) != reference:
            raise SystemExit(f"{run}: its test split differs from {runs['pca']}'s; "
                             "every run must hold out the same records")
    for run in [*runs.values(), *cnn.values()]:
        if _evaluated(run, labels):
            print(f"evaluated before: {run.name}", flush=True)
            continue
        t0 = time.perf_counter()
        ev = evaluate_run(run, task=labels, n_boot=args.n_boot, scope="test")
        print(f"evaluated {run.name}: AUROC {_fmt_auc(ev['downstream']['main'])} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)

    table = comparison_table(report_rows([*runs.values(), cnn[1.0]]))
    if args.out:
        to_csv(table, args.out)
    print(f"\nFold {args.fold} of 5 (patient-grouped), {len(reference)} held-out records, "
          f"superclasses {', '.join(c.removeprefix('superclass_') for c in labels)}\n")
    print(to_markdown(table))

    label_free = [m for m in ENCODERS if m not in LABEL_TRAINED]
    aurocs = table[table["model"].isin(label_free)].set_index("model")["auroc"]
    best = str(aurocs.idxmax())
    print(f"\nLabel-fraction curve: {best} (best label-free encoder by macro AUROC) against "
          "cnn_baseline\n")
    curve = label_fraction_rows(runs[best], cnn, labels, args.n_boot).astype(str)
    print("| " + " | ".join(curve.columns) + " |\n|" + "---|" * len(curve.columns))
    for _, row in curve.iterrows():
        print("| " + " | ".join(row) + " |")
    return 0
