"""`ecgwb bench preprocess`: records per second of the beat pipeline against NeuroKit2.

Both run in the same process on the same 500 Hz PTB-XL records, each from reading the
WFDB files to fiducial points: the project's `process_record` (multi-lead R peaks,
median beat, global delineation, features) and NeuroKit2's `ecg_process` applied lead
by lead, which is what a user would reach for. NeuroKit2 is ~1 s a record, so it runs
on the first ``--nk-records`` records; the rate is what is compared. Then the project's
`preprocess` runs on all cores into a temporary folder, the end-to-end rate that
projects the time for the whole of PTB-XL (21,837 records).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

PTBXL_RECORDS = 21837


def _default_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbxl500"


def _rate(fn, ids) -> tuple[float, int]:
    t0 = time.perf_counter()
    ok = 0
    for rid in ids:
        try:
            fn(rid)
            ok += 1
        except Exception:  # failures count against nobody's rate, but are reported
            pass
    return len(ids) / (time.perf_counter() - t0), ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench preprocess", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="PTB-XL root (500 Hz records)")
    ap.add_argument("--records", type=int, default=500, help="records for the project's pipeline")
    ap.add_argument("--nk-records", type=int, default=40, help="records for NeuroKit2 (slow)")
    ap.add_argument("--workers", type=int, default=None, help="processes for the parallel run")
    args = ap.parse_args(argv)

    import numpy as np

    from ecgcore.data.cache import preprocess
    from ecgcore.io import open_source
    from ecgcore.signal.pipeline import process_record

    warnings.filterwarnings("ignore")
    source = open_source(args.data)
    ids = list(source.record_ids)[: args.records]
    first = source.read(ids[0])
    print(f"data: {args.data} ({len(ids)} records at {first.fs:g} Hz, {first.signal.shape[0]} leads)")

    ours, ours_ok = _rate(lambda rid: process_record(source.read(rid)), ids)

    import neurokit2 as nk

    def nk_record(rid):
        rec = source.read(rid)
        for lead in rec.signal:
            if np.isfinite(lead).all():
                nk.ecg_process(lead, sampling_rate=int(rec.fs))

    nk_ids = ids[: args.nk_records]
    theirs, theirs_ok = _rate(nk_record, nk_ids)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = preprocess(args.data, Path(tmp) / "cache", workers=args.workers, progress=False)
        parallel = summary.n_records / (time.perf_counter() - t0)

    print(f"\n{'pipeline':<46}{'records':>8}{'ok':>6}{'rec/s':>9}")
    print(f"{'ecgcore process_record (1 process)':<46}{len(ids):>8}{ours_ok:>6}{ours:>9.1f}")
    print(f"{'neurokit2 ecg_process per lead (1 process)':<46}{len(nk_ids):>8}{theirs_ok:>6}{theirs:>9.2f}")
    print(f"{'ecgwb preprocess (all cores, cache written)':<46}{summary.n_records:>8}{summary.n_ok:>6}{parallel:>9.1f}")
    print(f"\nspeed-up over NeuroKit2, one process each: {ours / theirs:.1f}x")
    minutes = PTBXL_RECORDS / parallel / 60
    print(f"projected whole PTB-XL ({PTBXL_RECORDS} records) with `ecgwb preprocess`: {minutes:.1f} min")
    return 0
