"""The `ecgwb` command line. Each sub-command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: ``--intervals`` of `measure` and `delineate` (ecgcore.signal.record_delineation's
#: INTERVAL_SOURCES, spelled here so that `ecgwb --help` imports no numpy).
INTERVAL_SOURCES_CLI = ("beats", "median_beat")
#: record_delineation.LEAD_METHODS, spelled here so that parsing imports no science
LEAD_METHODS_CLI = ("learned", "spatial")
INTERVALS_HELP = ("where the record's intervals come from: the median over the beats of each "
                  "beat's interval, or the median beat (default: the library's, see "
                  "docs/DELINEATION.md)")
MEASURE_KEYS = ("hr_bpm", "p_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg")


def _fail(message: str, code: int = 2) -> int:
    print(f"ecgwb: error: {message}", file=sys.stderr)
    return code


def cmd_preprocess(args: argparse.Namespace) -> int:
    from ecgcore.data.cache import CacheOptions, preprocess
    from ecgcore.leads import parse_lead_map
    from ecgcore.signal.pipeline import PipelineConfig

    try:
        lead_map = parse_lead_map(args.lead_map)
    except ValueError as exc:
        return _fail(str(exc))
    config = PipelineConfig(target_fs=args.fs, window=args.window, powerline_hz=args.powerline or None)
    options = CacheOptions(sequences=args.sequences, signals=args.signals, lead_map=lead_map)
    summary = preprocess(args.source, args.out, config, options, labels=args.labels,
                         workers=args.workers, progress=not args.quiet)
    print(summary)
    return 0 if summary.n_ok else 1


def _measure_rows(path: Path, args: argparse.Namespace, lead_map: dict[str, str] | None = None):
    """(record id, BeatResult or None, error or None, device measurements or None) for a
    record file of any format (see ``ecgcore.io.formats``) or a folder."""
    from ecgcore.io import open_source
    from ecgcore.io.formats import read_ecg
    from ecgcore.io.record import RecordError
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    intervals = getattr(args, "intervals", None)
    config = PipelineConfig() if intervals is None else PipelineConfig(intervals=intervals)
    if path.is_dir():
        source = open_source(path, lead_map=lead_map)
        items = ((rid, lambda rid=rid: source.read(rid)) for rid in source.record_ids)
    else:
        options = {"fs": getattr(args, "fs", None), "units": getattr(args, "units", None),
                   "lead_map": lead_map}
        items = iter([(path.stem if path.suffix.lower() in (".hea", ".dat") else path.name,
                       lambda: read_ecg(path, **options))])
    for rid, read in items:
        try:
            record = read()
            device = record.metadata.get("device_measurements")
            yield rid, process_record(record, config), None, device
        except RecordError as exc:
            yield rid, None, str(exc), None


def cmd_measure(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists() and not Path(f"{path}.hea").exists():
        return _fail(f"{path}: no such record or folder")
    from ecgcore.leads import parse_lead_map

    try:
        lead_map = parse_lead_map(args.lead_map)
    except ValueError as exc:
        return _fail(str(exc))
    n_ok = n = 0
    if not args.json:
        print(f"{'record':<16}" + "".join(f"{k:>10}" for k in MEASURE_KEYS))
    for rid, res, error, device in _measure_rows(path, args, lead_map or None):
        n += 1
        n_ok += error is None
        feats = None if res is None else res.features
        if args.json:
            row = {"record": rid}
            if res is not None:
                row.update({k: None if not math.isfinite(feats[k]) else round(feats[k], 1)
                            for k in MEASURE_KEYS})
                row["leads"] = [lead for lead, k in zip(res.leads, res.signal) if math.isfinite(k[0])]
                row["bad_leads"] = res.bad_leads
                row["missing_reasons"] = {k: why for k, why in res.feature_notes.items() if k in MEASURE_KEYS}
                pacing = res.pacing.to_dict() if res.pacing is not None else None
                row["paced"] = None if pacing is None else pacing["paced"]
                row["pacing"] = pacing
                row["rhythm_regular"] = res.rhythm_regular
                # how sure each interval is, as the Data view shows it (issue 13 item 6)
                row["confidence"] = res.confidence()
                if device:  # the file's own measurements, labelled by their source
                    row["device"] = device
            else:
                row["error"] = error
            print(json.dumps(row, ensure_ascii=False), flush=True)
        elif res is not None:
            bad = f"  left out: {', '.join(res.bad_leads)}" if res.bad_leads else ""
            print(f"{rid:<16}" + "".join(f"{feats[k]:>10.1f}" for k in MEASURE_KEYS) + bad, flush=True)
            if device:  # the device's own values on the next line, labelled by source
                cells = (f"{device[k]:>10.1f}" if k in device else f"{'':>10}" for k in MEASURE_KEYS)
                print(f"{'  device':<16}" + "".join(cells) + f"  ({device['source']})", flush=True)
        else:
            print(f"{rid:<16}  error: {error}", flush=True)
    return 0 if n_ok else 1


def cmd_delineate(args: argparse.Namespace) -> int:
    import numpy as np

    from ecgcore.io.formats import read_ecg
    from ecgcore.leads import parse_lead_map
    from ecgcore.signal.record_delineation import DEFAULT_INTERVALS, delineate_signal

    path = Path(args.record)
    if not path.exists() and not Path(f"{path}.hea").exists():
        return _fail(f"{path}: no such record")
    try:
        record = read_ecg(path, lead_map=parse_lead_map(args.lead_map) or None)
        # the leads the record has and that passed the per-lead checks (absent ones are NaN)
        usable = [i for i, row in enumerate(record.signal) if np.isfinite(row).all()]
        rid = path.stem if path.suffix.lower() in (".hea", ".dat") else path.name
        result = delineate_signal(record.signal[usable], record.fs,
                                  tuple(record.leads[i] for i in usable), method=args.method,
                                  per_lead=not args.no_per_lead,
                                  lead_method=args.lead_method,
                                  powerline_hz=args.powerline or None,
                                  intervals=args.intervals or DEFAULT_INTERVALS)
    except ValueError as exc:  # RecordError included: it names the file
        return _fail(str(exc) if str(path) in str(exc) else f"{path}: {exc}", 1)
    out = {"record": rid, **result.to_dict()}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{rid}: {len(result.beats)} beats, leads used: {', '.join(result.leads_used)}; "
          f"intervals from {result.interval_source.replace('_', ' ')}")
    if result.pacing is not None:
        p = result.pacing
        print(f"  paced: {'unknown' if p.paced is None else p.paced}"
              + (f" ({p.kind}, {p.spikes.size} spikes)" if p.paced else f" ({p.reason})"))
    conf = result.confidence()
    for key, value in result.intervals.items():
        c = conf[key]
        flag = " (absent)" if c["absent"] else (" (uncertain)" if c["uncertain"] else "")
        shown = "—" if value is None else f"{value:.0f} ms"
        iqr = "" if c["iqr_ms"] is None else f", IQR over {c['n_beats']} beats {c['iqr_ms']:.0f} ms"
        print(f"  {key.removesuffix('_ms').upper():<4}{shown:>8}{iqr}{flag}")
    if result.one_lead_qrs_beats:
        print(f"  (one lead: the QRS is the learned segmenter's median over "
              f"{len(result.one_lead_qrs_beats)} beats; the others are the rules')")
    return 0


def cmd_segmenter(args: argparse.Namespace) -> int:
    """Train the per-lead wave segmenter on every record of a LUDB folder (what ships)."""
    import time
    from dataclasses import asdict, replace

    import torch

    from ecgcore.signal.learned_delineation import (
        SHIPPED,
        TrainConfig,
        save_delineator,
        train_delineator,
    )
    from ecgwb.bench.delineation import ludb_training_data

    torch.set_num_threads(1)  # convolutions this small run best on one thread
    cfg = replace(TrainConfig(), **({"steps": args.steps} if args.steps else {}))
    t0 = time.perf_counter()
    data = list(ludb_training_data(args.data))
    if not data:
        return _fail(f"{args.data}: no LUDB records (expected data/<n>.hea with per-lead "
                     "annotation files)")
    model = train_delineator([res.signal for _, res, _ in data], [lab for _, _, lab in data],
                             train=cfg, progress=True)
    seconds = time.perf_counter() - t0
    out = save_delineator(args.out or SHIPPED, model, {}, training={
        "records": [p.name for p, _, _ in data], "data": Path(args.data).name,
        "seconds": round(seconds), "command": "ecgwb segmenter", **asdict(cfg)})
    print(f"{len(data)} records, {cfg.steps} steps, {seconds:.0f} s → {out}")
    return 0


def bench_names() -> list[str]:
    """Every benchmark: the modules of ``ecgwb.bench`` (each has a ``main(argv)``)."""
    import pkgutil

    from ecgwb import bench

    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"ecgwb.bench.{args.what}")
    return int(module.main(args.rest) or 0)


def cmd_app(args: argparse.Namespace) -> int:
    import os
    import subprocess

    app = Path(__file__).resolve().parents[1] / "app.py"
    if not app.exists():
        return _fail(f"{app}: the app is not beside the ecgcore package (install with -e)")
    from ecgwb import access

    env = dict(os.environ)
    if args.data:
        env["ECGWB_DATA"] = str(Path(args.data).resolve())
    if args.runs:
        env["ECGWB_RUNS"] = str(Path(args.runs).resolve())
    if args.secret_file:
        try:
            env[access.ENV_SECRET] = Path(args.secret_file).read_text().strip()
        except OSError as exc:
            return _fail(f"{args.secret_file}: cannot read the access secret ({exc.strerror})")
    if args.clinic is not None:
        env[access.ENV_CLINIC] = "1" if args.clinic else "0"
    if args.allowed_root:
        env[access.ENV_ROOTS] = os.pathsep.join(str(Path(r).resolve()) for r in args.allowed_root)
    policy = access.policy_from_env(args.host, env=env)
    if policy.problem:  # refuse before starting anything
        return _fail(policy.problem)
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    print(f"ECG Latent Workbench on http://{args.host}:{args.port}", flush=True)
    return subprocess.call(cmd, env=env)


def cmd_demo(args: argparse.Namespace) -> int:
    """Install the shipped demo runs (default), or train them again (``--retrain``;
    ``--tiny`` trains too: one epoch a stage, for checking the command)."""
    from trainer.demo import (
        DEMO_RUNS,
        RETRAIN_RUNS,
        holds_shipped_runs,
        install_demo,
        ship_runs,
        train_demo,
    )

    retrain = args.retrain or args.tiny
    if args.ship and (not args.retrain or args.tiny or args.no_evaluate):
        return _fail("--ship goes with --retrain, without --tiny or --no-evaluate (it ships "
                     "the full, evaluated runs just trained)")
    runs_dir = Path(args.runs or (RETRAIN_RUNS if retrain else DEMO_RUNS))
    try:
        if not retrain:
            runs = install_demo(runs_dir, Path(args.data), progress=not args.quiet)
            print(f"{len(runs)} demo runs ready in {runs_dir.resolve()}")
            return 0
        shipped = holds_shipped_runs(runs_dir)
        if shipped:
            return _fail(f"{runs_dir.resolve()} holds the shipped demo runs ({', '.join(shipped)}); "
                         "retrain into another folder (--runs DIR)")
        runs = train_demo(runs_dir, Path(args.data), threads=args.threads,
                          evaluate=not args.no_evaluate, progress=not args.quiet,
                          tiny=args.tiny)
        if args.ship:
            for dest in ship_runs(runs, Path(args.data)):
                print(f"shipped {dest}")
    except (RuntimeError, FileNotFoundError) as exc:  # DemoError too (a RuntimeError)
        return _fail(str(exc), 1)
    print(f"{len(runs)} demo runs ready in {runs_dir.resolve()}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ecgcore.models import describe_models

    models = describe_models(args.pattern)
    if not models:
        return _fail(f"no registered model matches {args.pattern!r}")
    width = max(map(len, models))
    for name, text in models.items():
        print(f"{name:<{width}}  {text}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from trainer.config import ConfigError, load_config
    from trainer.run import resume, train

    try:
        if args.resume:
            run = resume(Path(args.resume), progress=not args.quiet)
        else:
            if not args.config:
                return _fail("give a CONFIG.yaml (see trainer/configs/) or --resume RUN")
            overrides = list(args.set or [])
            if args.data:
                overrides.append(f"data.path={Path(args.data).resolve()}")
            if args.init_from:  # which modules and whether frozen: --set init_from.modules=[…]
                overrides.append(f"init_from.run={Path(args.init_from).resolve()}")
            cfg = load_config(args.config, overrides)
            if cfg.data.path:
                cfg.data.path = str(Path(cfg.data.path).resolve())
            run = train(cfg, Path(args.runs), progress=not args.quiet)
    except ConfigError as exc:
        return _fail(str(exc))
    print(f"run: {run}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from ecgcore.runs import Run, RunError

    out = Path(args.out)
    try:
        table = Run(args.run, args.data, progress=True).embedding_table()
    except RunError as exc:
        return _fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    print(f"wrote {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ecgcore.runs import Run, RunError
    from ecgcore.runs.evaluation import evaluate_run

    try:
        run = Run(args.run, args.data, progress=True)
        if not run.on_own_data:  # another cohort: scored apart, the run's evaluation untouched
            return _evaluate_external(run, args)
        ev = evaluate_run(run, task=args.task, n_boot=args.n_boot, scope=args.scope,
                          models=args.models, rr=args.rr)
    except RunError as exc:
        return _fail(str(exc))
    rec = ev.get("reconstruction") or {}
    main = (ev.get("downstream") or {}).get("main") or {}
    print(f"{ev['run']}: {ev['model']} L={ev['latent_dim']} on {ev['n_records']} records")
    if rec:
        print(f"  reconstruction (test split): MAE {rec['mae']:.1f} µV, r {rec['correlation']:.3f}")
    label = "+".join((ev.get("downstream") or {}).get("label") or [])
    if main and main.get("task") == "continuous":  # R² and MAE: a continuous label has no AUROC
        print(f"  {label}: R² {_num(main.get('r2'))} ({_num(main.get('r2_low'))}–"
              f"{_num(main.get('r2_high'))}), MAE {_num(main.get('mae'))}")
    elif main:
        print(f"  {label}: AUROC {_num(main.get('auroc'))} ({_num(main.get('auroc_low'))}–"
              f"{_num(main.get('auroc_high'))}), F1 {_num(main.get('f1_macro'))}")
    print(f"  wrote {Path(args.run) / 'evaluation.json'}")
    return 0


def _evaluate_external(run, args: argparse.Namespace) -> int:
    from ecgcore.runs.external import evaluate_external, external_path

    ev = evaluate_external(run, task=args.task, name=args.name, n_boot=args.n_boot)
    reasons = ev.get("reasons") or {}
    print(f"{ev['run']}: {ev['model']} L={ev['latent_dim']} on cohort {ev['cohort']} "
          f"({ev['n_records']} records, all scored)")
    rec, ref = ev.get("reconstruction"), (ev.get("in_cohort") or {}).get("reconstruction")
    if rec:
        line = f"  reconstruction: MAE {rec['mae']:.1f} µV, r {rec['correlation']:.3f}"
        if ref:
            ratio = ev.get("reconstruction_ratio") or {}
            line += (f" (training cohort's test split: MAE {ref['mae']:.1f} µV; ratio "
                     f"{_num(ratio.get('mae'))}, relative to the mean |signal| "
                     f"{_num(ratio.get('relative_mae'))})")
        print(line)
    shift = ev.get("shift")
    if shift:
        print(f"  shift from the training cohort: domain AUROC {_num(shift['domain_auroc'])}, "
              f"Fréchet {_num(shift['frechet'])}, max |SMD| {_num(shift['max_abs_smd'])}")
    for clus in ev.get("clustering") or []:
        if clus.get("space") == "latent":
            print(f"  clustering {clus['clustering']}: DBI {_num(clus.get('dbi'))}, "
                  f"silhouette {_num(clus.get('silhouette'))}, CHI {_num(clus.get('chi'))}")
    main = (ev.get("downstream") or {}).get("main")
    if main:
        print(f"  {main['label']} ({main['input']} {main['model']}, fitted on the training "
              f"cohort): AUROC {_num(main.get('auroc'))} ({_num(main.get('auroc_low'))}–"
              f"{_num(main.get('auroc_high'))}), F1 {_num(main.get('f1_macro'))}, n {main.get('n')}")
    for section, why in reasons.items():
        print(f"  {section}: not computed — {why}")
    print(f"  wrote {external_path(run.path, ev['cohort'])} (evaluation.json untouched)")
    return 0


def _num(value: float | None) -> str:
    """A figure of evaluation.json for the terminal (None is a NaN there: "n/a")."""
    return "n/a" if value is None else f"{value:.3f}"


def cmd_report(args: argparse.Namespace) -> int:
    from ecgcore.evaluate.report import comparison_table, to_csv, to_markdown
    from ecgcore.runs.evaluation import report_rows

    table = comparison_table(report_rows([Path(r) for r in args.runs], baselines=not args.no_baselines))
    if args.out and args.out.endswith(".csv"):
        to_csv(table, args.out)
        print(f"wrote {args.out}")
        return 0
    text = to_markdown(table)
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ecgwb.reproduce import reproduce

    argv = [args.seed] + (["--data", args.data] if args.data else []) + (["--quick"] if args.quick else [])
    try:
        path = reproduce(args.seed, data=args.data, runs=args.runs, quick=args.quick, out=args.out,
                         n_boot=args.n_boot, argv=argv)
    except (ValueError, RuntimeError) as exc:
        return _fail(str(exc), 1)
    print(f"wrote {path}")
    return 0


def _train_keys_epilog() -> str:
    """The settable data, optim and hardware keys with their names and help (the Train
    view's form shows the same text: trainer/field_text.py)."""
    from trainer.config import DataConfig, HardwareConfig, OptimConfig
    from trainer.field_text import config_keys_help

    return ("config keys (--set KEY=VALUE); model keys: `ecgwb models` and the family's "
            "config:\n" + config_keys_help({"data": DataConfig, "optim": OptimConfig,
                                             "hardware": HardwareConfig}))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecgwb", description="ECG Latent Workbench")
    sub = p.add_subparsers(dest="command", required=True)

    pp = sub.add_parser("preprocess", help="build the beat cache of a dataset folder")
    pp.add_argument("source", help="a PTB-XL root, or a folder of WFDB records and clinical "
                                   "exports (MUSE, CardioSoft, HL7 aECG, Philips, DICOM, SCP-ECG, "
                                   "EDF, Apple Watch)")
    pp.add_argument("--out", required=True, help="cache folder to create or refresh")
    pp.add_argument("--labels", help="labels table (CSV or Parquet) joined on record id")
    pp.add_argument("--fs", type=float, default=500.0, help="resample to this rate (Hz)")
    pp.add_argument("--window", default="r400", choices=["r400", "qrs750"],
                    help="beat window: ±400 ms around R (001) or 750 ms on QRS onset (000)")
    pp.add_argument("--powerline", type=float, default=50.0, help="mains frequency (0: no notch)")
    pp.add_argument("--sequences", action="store_true", help="also store beat sequences")
    pp.add_argument("--signals", action="store_true", help="also store cleaned 10-s signals")
    pp.add_argument("--lead-map", metavar="NAME=LEAD,…",
                    help="what the records' lead names mean, e.g. 'ECG=I' or 'ECG1=II,ECG2=V5'")
    pp.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    pp.add_argument("--quiet", action="store_true", help="no progress bar")
    pp.set_defaults(func=cmd_preprocess)

    pm = sub.add_parser("measure", help="global intervals and features of records")
    pm.add_argument("path", help="an ECG file (WFDB, GE MUSE or CardioSoft XML, HL7 aECG, "
                                 "Philips XML, DICOM, SCP-ECG, EDF, Apple Watch CSV, CSV) or a "
                                 "folder of them")
    pm.add_argument("--json", action="store_true",
                    help="JSON lines instead of a table (with the leads used and bad_leads)")
    pm.add_argument("--lead-map", metavar="NAME=LEAD,…",
                    help="what the records' lead names mean, e.g. 'ECG=I' or 'ECG1=II,ECG2=V5'")
    pm.add_argument("--fs", type=float, help="sampling rate (Hz) of a CSV without a time column")
    pm.add_argument("--units", help="amplitude units of a CSV without units in its header (uV, mV, V)")
    pm.add_argument("--intervals", choices=INTERVAL_SOURCES_CLI, help=INTERVALS_HELP)
    pm.set_defaults(func=cmd_measure)

    pdl = sub.add_parser("delineate", help="P, QRS, T boundaries per beat and per lead of a record")
    pdl.add_argument("record", help="an ECG file of any format read by `measure`, any lead names")
    pdl.add_argument("--lead-map", metavar="NAME=LEAD,…", help="what the record's lead names mean")
    pdl.add_argument("--json", action="store_true", help="every beat's fiducials as JSON")
    pdl.add_argument("--method", default="spatial", help="delineation method (default: spatial)")
    pdl.add_argument("--no-per-lead", action="store_true", help="global fiducials per beat only")
    pdl.add_argument("--lead-method", choices=LEAD_METHODS_CLI, default=LEAD_METHODS_CLI[0],
                     help="per-lead delineation: the shipped segmenter (default) or the rules "
                          "on each lead alone")
    pdl.add_argument("--powerline", type=float, default=50.0, help="mains frequency (0: no notch)")
    pdl.add_argument("--intervals", choices=INTERVAL_SOURCES_CLI, help=INTERVALS_HELP)
    pdl.set_defaults(func=cmd_delineate)

    pl = sub.add_parser("models", help="list every registered model")
    pl.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. '*vae*'")
    pl.set_defaults(func=cmd_models)

    pt = sub.add_parser("train", help="train a model from a config into a run folder",
                        epilog=_train_keys_epilog(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pt.add_argument("config", nargs="?", help="config YAML (trainer/configs/*.yaml)")
    pt.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    pt.add_argument("--data", help="dataset folder or cache (sets data.path)")
    pt.add_argument("--runs", default="runs", help="folder of run folders (default: runs)")
    pt.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    pt.add_argument("--init-from", metavar="RUN",
                    help="start from another run's weights (choose with --set init_from.modules=[encoder] "
                         "and --set init_from.freeze=true; see init_from in trainer/config.py)")
    pt.add_argument("--quiet", action="store_true", help="no progress bar")
    pt.set_defaults(func=cmd_train)

    pe = sub.add_parser("encode", help="latent means (and scales) of every record as Parquet")
    pe.add_argument("run", help="run folder")
    pe.add_argument("--data", help="dataset folder or cache (default: the run's own data)")
    pe.add_argument("--out", required=True, help="output .parquet file")
    pe.set_defaults(func=cmd_encode)

    pv = sub.add_parser("evaluate", help="reconstruction, downstream, clustering of a run")
    pv.add_argument("run", help="run folder")
    pv.add_argument("--data", help="dataset folder or cache (default: the run's own data); "
                                   "another cohort is scored on every record and written to "
                                   "RUN/external/<cohort>/evaluation.json")
    pv.add_argument("--name", help="the other cohort's name (default: its folder's name)")
    pv.add_argument("--models", nargs="+", default=["lgbm", "logreg_l2"],
                    choices=["lgbm", "logreg_l1", "logreg_l2", "knn", "linear_probe"],
                    help="probes fitted on each input (default: lgbm logreg_l2; seed 004: knn "
                         "linear_probe; seed 001: logreg_l1 logreg_l2 with --rr)")
    pv.add_argument("--rr", action="store_true",
                    help="also latents + mean and SD of the RR intervals (seed 001's features)")
    pv.add_argument("--task", nargs="+", help="label column(s) (default: the run's task or PTB-XL superclasses)")
    pv.add_argument("--n-boot", type=int, default=500, help="bootstrap resamples for CIs")
    pv.add_argument("--scope", choices=["auto", "all", "test"], default="auto",
                    help="records scored: all (out of fold), test (the run's test split, "
                         "probes fitted on the rest); auto: test for runs trained with labels")
    pv.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("report", help="one comparison table over evaluated runs")
    pr.add_argument("runs", nargs="+", help="run folders (each with evaluation.json)")
    pr.add_argument("--out", help="table.md or table.csv (default: print Markdown)")
    pr.add_argument("--no-baselines", action="store_true", help="leave out the sex + age row")
    pr.set_defaults(func=cmd_report)

    pa = sub.add_parser("app", help="open the workbench in the browser")
    pa.add_argument("--data", help="dataset folder (default: the bundled demo data)")
    pa.add_argument("--runs", help="folder of training runs")
    pa.add_argument("--host", default="127.0.0.1", help="address to listen on (default: localhost only)")
    pa.add_argument("--port", type=int, default=8501)
    pa.add_argument("--headless", action="store_true", help="do not open a browser window")
    pa.add_argument("--secret-file", help="file holding the access secret (needed beyond "
                    "localhost; or set ECGWB_SECRET)")
    pa.add_argument("--clinic", action=argparse.BooleanOptionalAction, default=None,
                    help="read-only: no Train view, no other folders (default: on beyond "
                    "localhost, off on it)")
    pa.add_argument("--allowed-root", action="append", metavar="DIR",
                    help="a folder the dataset picker may open (repeatable; default beyond "
                    "localhost: the data and runs folders)")
    pa.set_defaults(func=cmd_app)

    pd_ = sub.add_parser("demo", help="install the shipped demo runs (seconds), or train them "
                         "again (--retrain)")
    pd_.add_argument("--runs", default=None, help="folder of the demo runs (default: runs/demo; "
                     "with --retrain runs/demo-retrained)")
    pd_.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "assets" / "demo" / "ptbxl100"),
                     help="dataset folder (default: the bundled demo data)")
    pd_.add_argument("--retrain", action="store_true",
                     help="train the four demo models with the shipped recipes (skips finished "
                     "runs; never into the folder of the installed shipped runs)")
    pd_.add_argument("--ship", action="store_true",
                     help="with --retrain (maintainers): replace the shipped runs in "
                     "assets/demo/runs with the runs just trained")
    pd_.add_argument("--threads", type=int, default=None, help="torch threads per training")
    pd_.add_argument("--no-evaluate", action="store_true", help="skip writing evaluation.json")
    pd_.add_argument("--quiet", action="store_true", help="no progress bar")
    pd_.add_argument("--tiny", action="store_true",
                     help="train (as --retrain) one epoch a stage on median beats: checks the "
                     "command, not for viewing")
    pd_.set_defaults(func=cmd_demo)

    prp = sub.add_parser("reproduce", help="a seed paper's experiment grid: its values beside ours "
                         "(docs/reproduce/SEED.md)")
    prp.add_argument("seed", choices=["000", "001", "002", "003", "004"], help="which seed paper")
    prp.add_argument("--data", help="PTB-XL root (default: ../shared/data/ptbxl500)")
    prp.add_argument("--runs", help="folder of the grid's runs (default: runs/reproduce/SEED; "
                                    "finished runs are reused)")
    prp.add_argument("--quick", action="store_true",
                     help="a tiny version (160 records, one epoch, small widths) into a temporary "
                          "folder: checks the command, never writes docs/reproduce")
    prp.add_argument("--out", help="folder of the report (default: docs/reproduce, or a "
                                   "temporary folder with --quick)")
    prp.add_argument("--n-boot", type=int, help="bootstrap resamples (default 1000; 50 with --quick)")
    prp.set_defaults(func=cmd_reproduce)

    psg = sub.add_parser("segmenter", help="train the per-lead wave segmenter on a LUDB folder "
                                           "(the shipped weights: all 100 LUDB dev records)")
    psg.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"
                                           / "ludb_dev"), help="LUDB folder (with data/)")
    psg.add_argument("--out", help="checkpoint folder (default: the shipped one in ecgcore)")
    psg.add_argument("--steps", type=int, help="training steps (default: TrainConfig's)")
    psg.set_defaults(func=cmd_segmenter)

    pb = sub.add_parser("bench", help="benchmarks that print figures")
    pb.add_argument("what", choices=bench_names(), help="which benchmark (each module of ecgwb.bench)")
    pb.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    pb.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FileNotFoundError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
