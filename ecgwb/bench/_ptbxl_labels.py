"""PTB-XL label consistency of the measured intervals (`ecgwb bench delineation`).

The cardiologists' SCP statements of PTB-XL imply bounds on the global intervals: a record
called normal (NORM) has a QRS under 120 ms, a P wave under 120 ms and a PR of at most
200 ms; complete bundle branch block (CLBBB, CRBBB) has a QRS of at least 120 ms,
non-specific intraventricular conduction delay (IVCD) one over 110 ms (AHA/ACCF/HRS 2009);
first-degree AV block (1AVB) has PR > 200 ms; atrial fibrillation (AFIB) and flutter (AFLT)
have no P wave, and sinus rhythm has one. The table counts how often the project's pipeline
(``process_record`` on the 500 Hz files, or on the 100 Hz ones with ``rate=100``, of every
lead or of ``leads`` alone; the intervals of ``ecgwb measure``) agrees. Nothing here chose
the delineation method but the P acceptance of a regular rhythm, chosen on these rhythm
labels (docs/DELINEATION.md log item 35): the rows of P presence (AFIB, AFLT, sinus) are in
sample for it; part ``ptbxl_p`` gives their held-out figures by folds over patients.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.ptbxl import RATE_FILES
from ecgcore.signal.record_delineation import INTERVALS

#: Rhythm statements under which a P wave precedes every QRS.
SINUS = frozenset({"SR", "STACH", "SBRAD", "SARRH"})
#: Rhythm statements under which there is no P wave (fibrillatory or flutter waves instead).
NO_P = frozenset({"AFIB", "AFLT"})
#: Findings read from the cardiologists' free-text reports (German and English, lower-cased
#: substrings as PTB-XL's reports write them) beside their SCP codes (log item 37).
REPORT_FINDINGS = {
    "long_qt": ("qt-verl", "prolonged qt"),
    "long_pr": ("prolonged pr",),
    "wide_p": ("p-verbreiterung", "p-sinistrocardiale", "left atrial"),
}
#: QTc (Bazett) from which the QT is prolonged, men / women (AHA/ACCF/HRS 2009).
LONG_QTC_MS = {"male": 450.0, "female": 460.0}


def report_findings(report: object) -> set[str]:
    """The :data:`REPORT_FINDINGS` a report's text states."""
    text = report.lower() if isinstance(report, str) else ""
    return {k for k, words in REPORT_FINDINGS.items() if any(w in text for w in words)}


def _pipeline_intervals(path: Path, intervals: str | None = None,
                        median_of: str | None = None,
                        leads: tuple[str, ...] | None = None) -> dict[str, float | None]:
    """The intervals of ``ecgwb measure`` (the pipeline's features), from the interval
    source ``intervals`` and the median beat of ``median_of`` (default: the pipeline's), of
    the record or, with ``leads``, of those leads alone (as a file of only them reads)."""
    from ecgcore.io import read_wfdb
    from ecgcore.signal.pipeline import PipelineConfig, process_record
    from ecgwb.bench._single_lead import only_leads

    options = {k: v for k, v in (("intervals", intervals), ("median_of", median_of)) if v}
    config = PipelineConfig(**options)
    record = read_wfdb(path)
    if leads:
        record = only_leads(record, *leads)
    result = process_record(record, config)
    qtc = result.features.get("qtc_ms", np.nan)
    return {**result.intervals, "qtc_ms": float(qtc) if np.isfinite(qtc) else None}




def ptbxl_records(folder: str | Path, rate: int = 500, limit: int | None = None
                  ) -> Iterator[dict]:
    """Each record of a PTB-XL folder's database (the first ``limit``): ``ecg_id``,
    ``patient_id``, its SCP ``codes`` (a set, any likelihood), the ``recorder`` (the
    ``device`` column's model, e.g. ``CS-12`` or ``AT-6``; "" where not given), the
    ``sex`` ("male", "female" or "" — PTB-XL codes 0 and 1), the ``findings`` its report
    states (:func:`report_findings`) and the ``path`` of its ``rate`` Hz files."""
    from ecgcore.io.ptbxl import parse_scp_codes

    if rate not in RATE_FILES:
        raise ValueError(f"PTB-XL has files at {sorted(RATE_FILES)} Hz, not {rate}")
    folder = Path(folder)
    db = pd.read_csv(folder / "ptbxl_database.csv")
    for _, rec in (db.head(limit) if limit else db).iterrows():
        yield {"ecg_id": int(rec["ecg_id"]), "patient_id": int(rec["patient_id"]),
               "codes": set(parse_scp_codes(rec["scp_codes"])),
               "recorder": recorder_model(rec.get("device")),
               "sex": {0: "male", 1: "female"}.get(rec.get("sex"), ""),
               "findings": report_findings(rec.get("report")),
               "path": folder / rec[RATE_FILES[rate]]}


def recorder_model(device: object) -> str:
    """The recorder's model from PTB-XL's ``device`` column (its first word: ``CS-12   E``
    and ``CS-12`` are one model, ``AT-6 C 5.5`` and ``AT-6 C`` another); "" when not given."""
    words = str(device).split() if isinstance(device, str) else []
    return words[0] if words else ""


def measure_ptbxl(folder: str | Path, limit: int | None = None,
                  measure: Callable[[Path], dict] = _pipeline_intervals,
                  intervals: str | None = None, median_of: str | None = None,
                  rate: int = 500, leads: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per record: ecg_id, its SCP codes (any likelihood) and the intervals measured
    on its ``rate`` Hz files (``intervals``, ``median_of``, ``leads``: the pipeline's
    options and the leads kept, when ``measure`` is the pipeline)."""
    if leads:
        measure = partial(measure, leads=tuple(leads))
    if intervals is not None:
        measure = partial(measure, intervals=intervals)
    if median_of is not None:
        measure = partial(measure, median_of=median_of)
    rows = []
    for rec in ptbxl_records(folder, rate, limit):
        row: dict = {"ecg_id": rec["ecg_id"], "codes": " ".join(sorted(rec["codes"])),
                     "recorder": rec["recorder"], "sex": rec["sex"],
                     "findings": " ".join(sorted(rec["findings"]))}
        try:
            row.update(measure(rec["path"]))
            row["error"] = None
        except Exception as exc:  # noqa: BLE001 -- a failed record is counted, not dropped
            row.update({k: None for k in INTERVALS})
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return pd.DataFrame(rows)


def label_table(per_record: pd.DataFrame) -> pd.DataFrame:
    """The label-consistency rows: what the labels imply and how often the measures agree."""
    codes = per_record["codes"].str.split()
    def has(*c: str) -> pd.Series:
        return codes.apply(lambda cs: any(x in cs for x in c))

    num = {k: pd.to_numeric(per_record[k], errors="coerce") for k in INTERVALS}
    rows = []

    def add(name: str, implied: str, mask: pd.Series, ok: pd.Series, value: str = "") -> None:
        n = int(mask.sum())
        k = int((ok & mask).sum())
        rows.append({"check": name, "labels imply": implied, "n": n, "agree": k,
                     "agree_pct": round(100.0 * k / n, 1) if n else float("nan"),
                     "value": value})

    norm = has("NORM")
    qrs, p, pr = num["qrs_ms"], num["p_ms"], num["pr_ms"]
    add("NORM: QRS < 120 ms", "all", norm, qrs < 120,
        f"median QRS {qrs[norm].median():.0f} ms (target 85–100)")
    add("NORM: P < 120 ms", "all", norm, p < 120,
        f"median P {p[norm].median():.0f} ms (target 95–115)")
    add("NORM: PR ≤ 200 ms", "all", norm, pr <= 200, f"median PR {pr[norm].median():.0f} ms")
    # The same by recorder model (reported, no target: which recordings the PR misses are).
    recorder = per_record.get("recorder", pd.Series("", index=per_record.index)).fillna("")
    for model in sorted(set(recorder[norm]) - {""}):
        on = norm & recorder.eq(model)
        add(f"NORM: PR ≤ 200 ms, recorder {model}", "all (by recorder)", on, pr <= 200,
            f"median PR {pr[on].median():.0f} ms")
    add("CLBBB/CRBBB: QRS ≥ 120 ms", "all", has("CLBBB", "CRBBB"), qrs >= 120)
    # Non-specific intraventricular conduction delay: QRS > 110 ms (AHA/ACCF/HRS 2009).
    add("IVCD: QRS > 110 ms", "all", has("IVCD"), qrs > 110)
    add("CLBBB/CRBBB/IVCD: QRS ≥ 120 ms", "(as the issue counts)", has("CLBBB", "CRBBB", "IVCD"),
        qrs >= 120)
    add("1AVB: PR > 200 ms", "all", has("1AVB"), pr > 200)
    add("AFIB: no P wave", "all", has("AFIB"), p.isna())
    # Flutter waves are not P waves; every sinus rhythm has one (neither counted with both).
    add("AFLT: no P wave", "all", has("AFLT") & ~has(*SINUS), p.isna())
    add("sinus rhythm: a P wave", "all", has(*SINUS) & ~has(*NO_P), p.notna(),
        "SR, STACH, SBRAD or SARRH")
    # Log item 37: SCP codes or the report's text; reported where the columns are there.
    if {"findings", "sex", "qtc_ms"} <= set(per_record.columns):
        said = per_record["findings"].fillna("").str.split()

        def says(finding: str) -> pd.Series:
            return said.apply(lambda fs: finding in fs)

        qtc = pd.to_numeric(per_record["qtc_ms"], errors="coerce")
        limit = per_record["sex"].map(LONG_QTC_MS)
        long_qt = has("LNGQT") | says("long_qt")
        add("QT prolonged (LNGQT or report): QTc ≥ 450 ms men, 460 women", "all", long_qt,
            qtc >= limit, f"median QTc {qtc[long_qt].median():.0f} ms")
        long_pr = has("LPR") | says("long_pr")
        add("PR prolonged (LPR or report): PR > 200 ms", "all", long_pr, pr > 200,
            f"median PR {pr[long_pr].median():.0f} ms")
        wide_p = (has("LAO/LAE") | says("wide_p")) & has(*SINUS) & ~has(*NO_P)
        add("wide P (LAO/LAE or report), sinus: P ≥ 120 ms", "most", wide_p, p >= 120,
            f"median P {p[wide_p].median():.0f} ms")
    rows.append({"check": "all records: median QRS / P", "labels imply": "12SL on PTB-XL: 94 / 114",
                 "n": int(qrs.notna().sum()), "agree": np.nan, "agree_pct": np.nan,
                 "value": f"{qrs.median():.0f} / {p.median():.0f} ms"})
    return pd.DataFrame(rows)


def main_ptbxl(folder: Path, limit: int | None = None, intervals: str | None = None,
               median_of: str | None = None, rate: int = 500,
               leads: tuple[str, ...] | None = None) -> pd.DataFrame:
    t0 = time.perf_counter()
    per_record = measure_ptbxl(folder, limit, intervals=intervals, median_of=median_of,
                               rate=rate, leads=leads)
    table = label_table(per_record)
    source = "" if intervals is None else f", intervals from {intervals}"
    source += "" if median_of is None else f", median beat of {median_of} beats"
    source += f", leads {' + '.join(leads)} alone" if leads else ""
    print(f"PTB-XL label consistency{source}: {folder} ({len(per_record)} records, {rate} Hz, "
          f"{int(per_record['error'].notna().sum())} failed), {time.perf_counter() - t0:.0f} s")
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    table.attrs["per_record"] = per_record
    return table
