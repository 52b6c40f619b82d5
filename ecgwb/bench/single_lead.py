"""`ecgwb bench single_lead`: a single-lead rhythm dataset end to end (seed 002's setting).

Builds a folder of single-lead recordings from a PTB-XL root — lead I of each 500-Hz
record resampled to ``--fs`` (300 Hz, a handheld recorder's rate) and written as a
one-lead WFDB record named ``ECG`` — and a labels table with a categorical ``rhythm``
column (``normal``: SR; ``AF``: atrial fibrillation or flutter; ``other``: every other or
no rhythm statement) plus its one-hot columns ``rhythm_normal``, ``rhythm_AF``,
``rhythm_other``, and PTB-XL's ``patient_id``, ``age`` and ``sex``. Then, with the
project's own commands as Python calls:

1. ``preprocess`` (beat sequences stored; beats at 500 Hz);
2. ``train`` ECG-SL (``trainer/configs/ecg_sl.yaml``) on the rhythm columns with
   ``data.leads=[ECG]``, and a label-free VAE (``trainer/configs/vae.yaml``) on the same lead;
3. ``evaluate``: ECG-SL scored by its own head on its test split (patient-grouped, never
   seen in training); the VAE's latent means by LightGBM and L2 logistic regression,
   out of fold over all records (patient-grouped folds; the encoder never saw a label).

Printed: macro AUROC (95 % bootstrap CI) and macro F1 over the three rhythm classes for
each scored row. Either dataset can be given with ``--data`` instead of ``--ptbxl`` (a
folder of single-lead records) and ``--labels`` (a table with ``record_id`` and one-hot
rhythm columns named by ``--task``).
"""

from __future__ import annotations

import argparse
import ast
import json
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("normal", "AF", "other")
TASK = [f"rhythm_{c}" for c in CLASSES]


def rhythm_of(scp_codes: str) -> str:
    codes = set(ast.literal_eval(scp_codes))
    if codes & {"AFIB", "AFLT"}:
        return "AF"
    return "normal" if "SR" in codes else "other"


def single_lead_folder(ptbxl: Path, out: Path, fs: float = 300.0) -> tuple[Path, Path]:
    """Lead I of every 500-Hz PTB-XL record at ``fs`` as one-lead records; the labels table."""
    from fractions import Fraction

    import wfdb
    from scipy import signal as sps

    data = out / "records"
    data.mkdir(parents=True, exist_ok=True)
    db = pd.read_csv(ptbxl / "ptbxl_database.csv")
    rows = []
    for _, row in db.iterrows():
        name = f"{int(row['ecg_id']):05d}"
        if not (data / f"{name}.hea").exists():
            rec = wfdb.rdrecord(str(ptbxl / row["filename_hr"]), channel_names=["I"])
            ratio = Fraction(fs / rec.fs).limit_denominator(1000)
            lead = sps.resample_poly(rec.p_signal[:, 0], ratio.numerator, ratio.denominator)
            wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["ECG"], p_signal=lead[:, None],
                        fmt=["16"], adc_gain=[1000.0], baseline=[0], write_dir=str(data))
        rhythm = rhythm_of(row["scp_codes"])
        rows.append({"record_id": name, "patient_id": int(row["patient_id"]), "age": row["age"],
                     "sex": "M" if row["sex"] == 0 else "F", "rhythm": rhythm,
                     **{f"rhythm_{c}": int(rhythm == c) for c in CLASSES}})
    labels = out / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    return data, labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench single_lead", description=__doc__.split("\n\n")[0])
    ap.add_argument("--ptbxl", type=Path, default=ROOT.parent / "shared" / "data" / "ptbxl500")
    ap.add_argument("--data", type=Path, help="a folder of single-lead records (instead of --ptbxl)")
    ap.add_argument("--labels", type=Path, help="its labels table (with --data)")
    ap.add_argument("--task", nargs="+", default=TASK, help="one-hot rhythm columns (with --data)")
    ap.add_argument("--lead", default="ECG", help="the records' lead name")
    ap.add_argument("--fs", type=float, default=300.0, help="rate of the single-lead records made")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-single-lead"))
    ap.add_argument("--epochs", type=int, default=30, help="ECG-SL epochs (its config: 30)")
    ap.add_argument("--vae-epochs", type=int, default=28, help="VAE epochs (its config: 28)")
    ap.add_argument("--n-boot", type=int, default=500)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    from ecgcore.data.cache import CacheOptions, preprocess
    from trainer.config import load_config
    from trainer.evaluation import evaluate_run
    from trainer.run import train

    t0 = time.perf_counter()
    if args.data:
        if not args.labels:
            ap.error("--data needs --labels")
        data, labels = args.data, args.labels
    else:
        data, labels = single_lead_folder(args.ptbxl, args.out, args.fs)
    table = pd.read_csv(labels)
    print(f"data: {data} ({len(table)} label rows); classes: "
          + ", ".join(f"{c} {int(table[c].sum())}" for c in args.task), flush=True)
    cache = args.out / "cache"
    summary = preprocess(data, cache, options=CacheOptions(sequences=True), labels=labels,
                         progress=False)
    print(f"preprocess: {summary}  [{time.perf_counter() - t0:.0f} s]", flush=True)

    common = [f"data.path={cache.resolve()}", f"data.leads=[{args.lead}]"]
    task = "data.task=[" + ",".join(args.task) + "]"
    runs = args.out / "runs"
    results = []
    for name, sets in (("ecg_sl", [task, f"optim.max_epochs={args.epochs}"]),
                       ("vae", [f"optim.max_epochs={args.vae_epochs}", "optim.patience=1000"])):
        t1 = time.perf_counter()
        run = train(load_config(ROOT / "trainer" / "configs" / f"{name}.yaml", common + sets), runs,
                    progress=False)
        ev = evaluate_run(run, None, args.task, n_boot=args.n_boot)
        print(f"{name}: {run}  [{time.perf_counter() - t1:.0f} s]", flush=True)
        for row in ev["downstream"]["rows"]:
            if (name == "ecg_sl" and row["input"] == "own_head") or (
                    name == "vae" and row["input"] in ("latent", "classical", "latent+classical")):
                results.append({"encoder": name, "scope": ev["downstream"]["scope"], **row})
    cols = ["encoder", "scope", "input", "model", "n", "auroc", "auroc_low", "auroc_high", "f1_macro"]
    out = pd.DataFrame(results)[[c for c in cols if c in pd.DataFrame(results).columns]]
    print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
