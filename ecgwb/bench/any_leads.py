"""`ecgwb bench any_leads`: how many records of each dataset are measured, and which leads
are left out and why.

Datasets (each optional): the QT Database half in ``../shared/data/qtdb_dev`` both as its
whole 15-minute two-lead records and as the windows around cardiologist 1's annotated
beats (first mark − 2 s to last mark + 2 s, at least 10 s; :mod:`ecgcore.io.qtdb`),
the 500 PTB-XL records at 500 Hz and the LUDB dev half. Each record goes through what
``ecgwb measure`` runs (reading with per-lead quality, then ``process_record``). Printed per
dataset: records, measured, records with leads left out, and the counts of each refusal
and each left-out reason (numbers replaced by N).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _reason_class(text: str) -> str:
    problem = text.split(".hea: ", 1)[-1]
    return re.sub(r"-?\d+(\.\d+)?", "N", problem)[:90]


def survey(path: Path) -> dict:
    """Counts of measured and refused records and of left-out leads over a folder."""
    from ecgcore.io import open_source
    from ecgcore.io.record import RecordError
    from ecgcore.signal.pipeline import process_record

    source = open_source(path)
    out = {"records": len(source), "measured": 0, "with_bad_leads": 0,
           "refused": Counter(), "left_out": Counter()}
    for rid in source.record_ids:
        try:
            res = process_record(source.read(rid))
        except RecordError as exc:
            out["refused"][_reason_class(str(exc))] += 1
            continue
        out["measured"] += 1
        out["with_bad_leads"] += bool(res.bad_leads)
        for why in res.bad_leads.values():
            out["left_out"][f"{_reason_class(why).split(':')[0].split(' (')[0]}"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench any_leads", description=__doc__.split("\n\n")[0])
    ap.add_argument("--qtdb", type=Path, default=DATA / "qtdb_dev")
    ap.add_argument("--ptbxl", type=Path, default=DATA / "ptbxl500")
    ap.add_argument("--ludb", type=Path, default=DATA / "ludb_dev")
    ap.add_argument("--only", nargs="+", choices=["qtdb", "qtdb_windows", "ptbxl", "ludb"],
                    help="datasets to survey (default: all)")
    ap.add_argument("--windows-out", type=Path,
                    help="keep the QTDB windows in this folder (default: a temporary one)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    wanted = args.only or ["qtdb", "qtdb_windows", "ptbxl", "ludb"]
    with tempfile.TemporaryDirectory() as tmp:
        folders = {"qtdb": args.qtdb, "ptbxl": args.ptbxl, "ludb": args.ludb}
        if "qtdb_windows" in wanted:
            from ecgcore.io.qtdb import write_annotated_windows

            windows = args.windows_out or Path(tmp) / "qtdb_windows"
            write_annotated_windows(args.qtdb, windows)
            folders["qtdb_windows"] = windows
        print("| dataset | records | measured | with leads left out | refused for | leads left out for |")
        print("|---|---|---|---|---|---|")
        for name in wanted:
            t0 = time.perf_counter()
            s = survey(folders[name])
            refused = "; ".join(f"{n}× {r}" for r, n in s["refused"].most_common()) or "—"
            left = "; ".join(f"{n}× {r}" for r, n in s["left_out"].most_common()) or "—"
            print(f"| {name} | {s['records']} | {s['measured']} | {s['with_bad_leads']} | {refused} "
                  f"| {left} |  <!-- {time.perf_counter() - t0:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
