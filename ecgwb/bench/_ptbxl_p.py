"""PTB-XL's rhythm labels as a judge of P presence, by folds over patients
(`ecgwb bench delineation --parts ptbxl_p`; docs/DELINEATION.md log items 34 and 35).

A record whose rhythm statement is sinus (``SINUS``) has a P wave before every QRS; one in
atrial fibrillation or flutter (``NO_P``) has none. These labels judge the P acceptance
rule on many more, and noisier, records than LUDB's hundred. What they choose is the pair
of acceptance numbers for a record whose rhythm is regular (``p_isolation_regular``,
``p_locked_regular``: :func:`ecgwb.bench._delineation_cv.regular_pair_errors`); each fold's
pair is chosen, by the criterion and tie-break of the LUDB k-fold
(:func:`ecgwb.bench._delineation_cv.choose_p_acceptance`), on all of LUDB dev and the other
folds' labelled PTB-XL records, and the fold's own records are counted wrong about P.
Beside them, the rule before log item 35 (the same numbers whatever the rhythm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecgwb.bench._delineation_cv import (
    choose_p_acceptance,
    fold_assignment,
    joined_errors,
    median_beat_entry,
)
from ecgwb.bench._ptbxl_labels import NO_P, SINUS, ptbxl_records


def p_expected(codes: set[str] | frozenset[str]) -> bool | None:
    """Whether the rhythm labels imply a P wave: True (sinus), False (AF or flutter), None
    (neither, or both: not counted)."""
    sinus, no_p = bool(codes & SINUS), bool(codes & NO_P)
    return None if sinus == no_p else sinus


def load_ptbxl_p(folder: str | Path, rate: int = 500, limit: int | None = None) -> list[dict]:
    """The labelled records (:func:`p_expected` not None) of a PTB-XL folder, prepared as
    :func:`ecgwb.bench._delineation_cv.load_ludb` prepares LUDB's: the pipeline's analysis
    median beat and the beats it is of, with the labels' P presence as the reference (no PR).
    A record the pipeline refuses is kept with ``median`` None (counted as no P found)."""
    from ecgcore.io import read_wfdb
    from ecgcore.signal.pipeline import process_record

    out = []
    for rec in ptbxl_records(folder, rate, limit):
        expected = p_expected(rec["codes"])
        if expected is None:
            continue
        d: dict = {"record": str(rec["ecg_id"]), "patient": rec["patient_id"],
                   "p_expected": expected, "median": None,
                   "expert": {"p_ms": 1.0 if expected else None, "pr_ms": None}}
        try:
            d.update(median_beat_entry(process_record(read_wfdb(rec["path"]))))
        except Exception as exc:  # noqa: BLE001 -- a refused record is counted, not dropped
            d["error"] = f"{type(exc).__name__}: {exc}"
        out.append(d)
    return out


def patient_folds(data: list[dict], k: int = 5, seed: int = 0) -> np.ndarray:
    """The fold of each record: :func:`fold_assignment` over its patients, so that one
    patient's records are never on both sides."""
    patients = sorted({d["patient"] for d in data})
    of_patient = dict(zip(patients, fold_assignment(len(patients), k, seed)))
    return np.array([of_patient[d["patient"]] for d in data], dtype=int)


def strict_candidate() -> tuple[float, ...]:
    """The shipped numbers for any rhythm, as a regular-pair candidate: the rule before log
    item 35, which used them whatever the rhythm."""
    from ecgcore.signal.delineate import DEFAULT_PARAMS as p

    return (p.p_isolation, p.p_locked, p.p_bridge_ms)


def shipped_regular() -> tuple[float, ...]:
    """The shipped numbers of a regular rhythm, as a regular-pair candidate."""
    from ecgcore.signal.delineate import DEFAULT_PARAMS as p

    return (p.p_isolation_regular, p.p_locked_regular, p.p_bridge_ms)


def cross_validate_p(ptbxl: list[dict], ptbxl_errors: dict[tuple[float, ...], np.ndarray],
                     ludb_errors: dict[tuple[float, ...], np.ndarray], k: int = 5,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out P presence of every labelled PTB-XL record under its fold's choice (made on
    all of LUDB and the other folds) and under :func:`strict_candidate`.

    Returns (per_record, choices): per record its fold, label and whether each is wrong about
    P; per fold the pair chosen.
    """
    fold = patient_folds(ptbxl, k, seed)
    baseline = strict_candidate()
    if baseline not in ptbxl_errors:
        raise ValueError(f"the shipped P numbers {baseline} are not among the candidates")
    n_ludb = len(next(iter(ludb_errors.values())))
    both = joined_errors(ludb_errors, ptbxl_errors)
    rows, choices = [], []
    for f in range(k):
        train = np.concatenate([np.ones(n_ludb, bool), fold != f])
        chosen = choose_p_acceptance(both, train)
        choices.append({"fold": f, "p_isolation_regular": chosen[0],
                        "p_locked_regular": chosen[1]})
        for i in np.flatnonzero(fold == f):
            rows.append({"record": ptbxl[i]["record"], "fold": f,
                         "p_expected": ptbxl[i]["p_expected"],
                         "rr_regular": ptbxl[i].get("rr_regular"),
                         "wrong_chosen": bool(ptbxl_errors[chosen][i]),
                         "wrong_before": bool(ptbxl_errors[baseline][i])})
    return pd.DataFrame(rows), pd.DataFrame(choices)


def held_out_table(per_record: pd.DataFrame) -> pd.DataFrame:
    """Records wrong about P, held out: the pair chosen in the folds against the rule before
    log item 35, by label."""
    rows = []
    for name, mask in (("sinus: no P found", per_record["p_expected"]),
                       ("AF / flutter: a P found", ~per_record["p_expected"]),
                       ("all labelled", per_record["p_expected"] | ~per_record["p_expected"])):
        sub = per_record[mask]
        rows.append({"records": name, "n": len(sub),
                     "of them regular": int(sub["rr_regular"].eq(True).sum()),
                     "wrong, regular pair chosen in the folds": int(sub["wrong_chosen"].sum()),
                     "wrong, before log item 35": int(sub["wrong_before"].sum())})
    return pd.DataFrame(rows)


def choose_on_all(ptbxl_errors: dict[tuple[float, ...], np.ndarray],
                  ludb_errors: dict[tuple[float, ...], np.ndarray]) -> tuple[float, ...]:
    """The pair chosen on all of LUDB dev and every labelled PTB-XL record (what ships)."""
    both = joined_errors(ludb_errors, ptbxl_errors)
    return choose_p_acceptance(both, np.ones(len(next(iter(both.values()))), bool))
