"""The `ecgwb` command line. Each sub-command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

MEASURE_KEYS = ("hr_bpm", "p_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg")


def _fail(message: str, code: int = 2) -> int:
    print(f"ecgwb: error: {message}", file=sys.stderr)
    return code


def cmd_preprocess(args: argparse.Namespace) -> int:
    from ecgcore.data.cache import CacheOptions, preprocess
    from ecgcore.signal.pipeline import PipelineConfig

    config = PipelineConfig(target_fs=args.fs, window=args.window, powerline_hz=args.powerline or None)
    options = CacheOptions(sequences=args.sequences, signals=args.signals)
    summary = preprocess(args.source, args.out, config, options, labels=args.labels,
                         workers=args.workers, progress=not args.quiet)
    print(summary)
    return 0 if summary.n_ok else 1


def _measure_rows(path: Path):
    """(record id, features or None, error or None) for a record file or a folder."""
    from ecgcore.io import open_source, read_wfdb
    from ecgcore.io.record import RecordError
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    config = PipelineConfig()
    if path.is_dir():
        source = open_source(path)
        items = ((rid, lambda rid=rid: source.read(rid)) for rid in source.record_ids)
    else:
        items = iter([(path.stem if path.suffix in (".hea", ".dat") else path.name,
                       lambda: read_wfdb(path))])
    for rid, read in items:
        try:
            yield rid, process_record(read(), config).features, None
        except RecordError as exc:
            yield rid, None, str(exc)


def cmd_measure(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists() and not Path(f"{path}.hea").exists():
        return _fail(f"{path}: no such record or folder")
    n_ok = n = 0
    if not args.json:
        print(f"{'record':<16}" + "".join(f"{k:>10}" for k in MEASURE_KEYS))
    for rid, feats, error in _measure_rows(path):
        n += 1
        n_ok += error is None
        if args.json:
            row = {"record": rid}
            if feats is not None:
                row.update({k: None if not math.isfinite(feats[k]) else round(feats[k], 1)
                            for k in MEASURE_KEYS})
            else:
                row["error"] = error
            print(json.dumps(row), flush=True)
        elif feats is not None:
            print(f"{rid:<16}" + "".join(f"{feats[k]:>10.1f}" for k in MEASURE_KEYS), flush=True)
        else:
            print(f"{rid:<16}  error: {error}", flush=True)
    return 0 if n_ok else 1


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
    env = dict(os.environ)
    if args.data:
        env["ECGWB_DATA"] = str(Path(args.data).resolve())
    if args.runs:
        env["ECGWB_RUNS"] = str(Path(args.runs).resolve())
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    print(f"ECG Latent Workbench on http://{args.host}:{args.port}", flush=True)
    return subprocess.call(cmd, env=env)


def cmd_demo(args: argparse.Namespace) -> int:
    from trainer.demo import train_demo

    try:
        runs = train_demo(Path(args.runs), Path(args.data), threads=args.threads,
                          evaluate=not args.no_evaluate, progress=not args.quiet,
                          tiny=args.tiny)
    except RuntimeError as exc:
        return _fail(str(exc), 1)
    print(f"{len(runs)} demo runs ready in {Path(args.runs).resolve()}")
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
            cfg = load_config(args.config, overrides)
            if cfg.data.path:
                cfg.data.path = str(Path(cfg.data.path).resolve())
            run = train(cfg, Path(args.runs), progress=not args.quiet)
    except ConfigError as exc:
        return _fail(str(exc))
    print(f"run: {run}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from trainer.encode import encode_run

    out = encode_run(Path(args.run), Path(args.data) if args.data else None, Path(args.out))
    print(f"wrote {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from trainer.evaluation import evaluate_run

    ev = evaluate_run(Path(args.run), Path(args.data) if args.data else None, args.task,
                      n_boot=args.n_boot, scope=args.scope)
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


def _num(value: float | None) -> str:
    """A figure of evaluation.json for the terminal (None is a NaN there: "n/a")."""
    return "n/a" if value is None else f"{value:.3f}"


def cmd_report(args: argparse.Namespace) -> int:
    from ecgcore.evaluate.report import comparison_table, to_csv, to_markdown
    from trainer.evaluation import report_rows

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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecgwb", description="ECG Latent Workbench")
    sub = p.add_subparsers(dest="command", required=True)

    pp = sub.add_parser("preprocess", help="build the beat cache of a dataset folder")
    pp.add_argument("source", help="a WFDB folder (PTB-XL layout detected) or a PTB-XL root")
    pp.add_argument("--out", required=True, help="cache folder to create or refresh")
    pp.add_argument("--labels", help="labels table (CSV or Parquet) joined on record id")
    pp.add_argument("--fs", type=float, default=500.0, help="resample to this rate (Hz)")
    pp.add_argument("--window", default="r400", choices=["r400", "qrs750"],
                    help="beat window: ±400 ms around R (001) or 750 ms on QRS onset (000)")
    pp.add_argument("--powerline", type=float, default=50.0, help="mains frequency (0: no notch)")
    pp.add_argument("--sequences", action="store_true", help="also store beat sequences")
    pp.add_argument("--signals", action="store_true", help="also store cleaned 10-s signals")
    pp.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    pp.add_argument("--quiet", action="store_true", help="no progress bar")
    pp.set_defaults(func=cmd_preprocess)

    pm = sub.add_parser("measure", help="global intervals and features of records")
    pm.add_argument("path", help="a WFDB record (with or without .hea) or a folder")
    pm.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    pm.set_defaults(func=cmd_measure)

    pl = sub.add_parser("models", help="list every registered model")
    pl.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. '*vae*'")
    pl.set_defaults(func=cmd_models)

    pt = sub.add_parser("train", help="train a model from a config into a run folder")
    pt.add_argument("config", nargs="?", help="config YAML (trainer/configs/*.yaml)")
    pt.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    pt.add_argument("--data", help="dataset folder or cache (sets data.path)")
    pt.add_argument("--runs", default="runs", help="folder of run folders (default: runs)")
    pt.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    pt.add_argument("--quiet", action="store_true", help="no progress bar")
    pt.set_defaults(func=cmd_train)

    pe = sub.add_parser("encode", help="latent means (and scales) of every record as Parquet")
    pe.add_argument("run", help="run folder")
    pe.add_argument("--data", help="dataset folder or cache (default: the run's own data)")
    pe.add_argument("--out", required=True, help="output .parquet file")
    pe.set_defaults(func=cmd_encode)

    pv = sub.add_parser("evaluate", help="reconstruction, downstream, clustering of a run")
    pv.add_argument("run", help="run folder")
    pv.add_argument("--data", help="dataset folder or cache (default: the run's own data)")
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
    pa.set_defaults(func=cmd_app)

    pd_ = sub.add_parser("demo", help="train the demo models on the bundled data (skips finished runs)")
    pd_.add_argument("--runs", default="runs/demo", help="folder of the demo runs (default: runs/demo)")
    pd_.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "assets" / "demo" / "ptbxl100"),
                     help="dataset folder (default: the bundled demo data)")
    pd_.add_argument("--threads", type=int, default=None, help="torch threads per training")
    pd_.add_argument("--no-evaluate", action="store_true", help="skip writing evaluation.json")
    pd_.add_argument("--quiet", action="store_true", help="no progress bar")
    pd_.add_argument("--tiny", action="store_true",
                     help="one epoch a stage on median beats: checks the command, not for viewing")
    pd_.set_defaults(func=cmd_demo)

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
