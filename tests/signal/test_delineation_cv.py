"""The bench's k-fold: every number is chosen on training records only, each record scored once."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ecgwb.bench._delineation_cv import (
    GRIDS,
    P_ACCEPT_GRID,
    _fiducial_errors,
    _p_presence_errors,
    choose_p_acceptance,
    conditions,
    cross_validate,
    load_ludb,
    p_accept_candidates,
    regular_pair_candidates,
    regular_pair_errors,
)

RECORDS = ["1", "3", "5", "7", "9", "11", "13", "15"]


def test_numbers_are_chosen_inside_the_training_folds(ludb_dir):
    data = load_ludb(ludb_dir, RECORDS)
    assert [d["record"] for d in data] == RECORDS
    per_record, choices = cross_validate(data, k=2, seed=3)
    assert sorted(per_record["record"]) == sorted(RECORDS)  # each record scored exactly once
    fold_of = dict(zip(per_record["record"], per_record["fold"]))
    for _, row in choices.iterrows():
        train = np.array([fold_of[d["record"]] != row["fold"] for d in data])
        for key, grid in GRIDS.items():
            # Recomputed here: the grid value with the least mean |error| on training records.
            scores = [np.nanmean(np.abs(_fiducial_errors(data, key, v)[train])) for v in grid]
            assert row[key] == grid[int(np.argmin(scores))], (key, row["fold"])
        # The P numbers (isolation, locking, bridging): no other combination has fewer
        # training records wrong about P.
        wrong = {(a, b, c): _p_presence_errors(data, a, b, c)[train].sum()
                 for a in P_ACCEPT_GRID["p_isolation"] for b in P_ACCEPT_GRID["p_locked"]
                 for c in P_ACCEPT_GRID["p_bridge_ms"]}
        assert wrong[(row["p_isolation"], row["p_locked"], row["p_bridge_ms"])] == \
            min(wrong.values())
        # The regular rhythm's pair (log item 35): none fewer wrong on the training records.
        reg = {c: e[train].sum() for c, e in regular_pair_errors(data).items()}
        assert reg[(row["p_isolation_regular"], row["p_locked_regular"], 20.0)] == \
            min(reg.values())
    assert per_record["qrs_ms"].notna().all()


def test_other_records_join_the_choice_of_the_regular_pair(ludb_dir):
    # PTB-XL's labelled records (here: 50 stand-ins wrong under every pair but one) join
    # every fold's choice of the regular rhythm's P numbers, and are never scored.
    data = load_ludb(ludb_dir, RECORDS[:4])
    cands = regular_pair_candidates()
    forced = cands[7]
    extra = {c: np.full(50, 0.0 if c == forced else 1.0) for c in cands}
    per_record, choices = cross_validate(data, k=2, seed=3, regular_extra=extra)
    assert sorted(per_record["record"]) == sorted(RECORDS[:4])
    assert set(zip(choices["p_isolation_regular"], choices["p_locked_regular"])) == \
        {forced[:2]}


def test_p_acceptance_ties_go_to_the_middle_of_the_plateau():
    iso, lock, bridge = (P_ACCEPT_GRID[k] for k in ("p_isolation", "p_locked", "p_bridge_ms"))
    assert list(P_ACCEPT_GRID) == ["p_isolation", "p_locked", "p_bridge_ms"]
    assert len(p_accept_candidates()) == len(iso) * len(lock) * len(bridge)
    # Records 0 and 1: wrong everywhere except on a 3 × 1 × 3 plateau.
    errors = {(a, b, c): np.array([1.0, 1.0, 0.0]) for a in iso for b in lock for c in bridge}
    plateau = {(a, lock[2], c) for a in iso[1:4] for c in bridge[:3]}
    for cand in plateau:
        errors[cand] = np.array([0.0, 0.0, 1.0])
    train = np.array([True, True, False])
    assert choose_p_acceptance(errors, train) == (iso[2], lock[2], bridge[1])
    # Only the third record counts: every combination but the plateau is then right.
    assert choose_p_acceptance(errors, ~train) not in plateau


def test_p_presence_errors_needs_every_p_number(ludb_dir):
    data = load_ludb(ludb_dir, ["1"])
    with pytest.raises(ValueError, match="expected 3 numbers.*p_bridge_ms.*got 2"):
        _p_presence_errors(data, 1.25, 1.0)


def test_ludb_condition_classes():
    row = pd.Series({"Rhythms": "Sinus rhythm", "Conduction abnormalities":
                     "Left anterior hemiblock\nI degree av block", "Hypertrophies": np.nan,
                     "Cardiac pacing": np.nan})
    assert conditions(row) == ["BBB or hemiblock", "AV block"]
    plain = pd.Series({"Rhythms": "Sinus bradycardia", "Conduction abnormalities": np.nan,
                       "Hypertrophies": np.nan, "Cardiac pacing": np.nan})
    assert conditions(plain) == ["sinus, none of these"]
    af = pd.Series({"Rhythms": "Atrial flutter, typical", "Cardiac pacing":
                    "Pacemaker presence, undefined\nBiventricular pacing"})
    assert conditions(af) == ["AF / flutter", "paced"]


def test_split_spread_repeats_the_k_fold_with_each_seed(ludb_dir):
    from ecgwb.bench.delineation import split_spread, summarize

    data = load_ludb(ludb_dir, RECORDS[:4])
    per_seed, ranges = split_spread(data, 2, (3, 4))
    assert per_seed["seed"].tolist().count(4) == 5  # P, PR, QRS, QT and paced QRS
    for seed in (3, 4):
        per_record, _ = cross_validate(data, k=2, seed=seed)
        per_record["method"] = "spatial"
        want = summarize(per_record).set_index("interval")
        got = per_seed[per_seed["seed"] == seed].set_index("interval")
        for iv in ("P", "PR", "QRS", "QT"):
            assert (got.loc[iv, "mean_ms"], got.loc[iv, "sd_ms"], got.loc[iv, "n"]) == \
                (want.loc[iv, "mean_ms"], want.loc[iv, "sd_ms"], want.loc[iv, "n"])
    qrs = ranges.set_index("interval").loc["QRS"]
    sds = per_seed.loc[per_seed["interval"] == "QRS", "sd_ms"]
    assert (qrs["sd_ms_min"], qrs["sd_ms_max"]) == (sds.min(), sds.max())


def test_ludb_shipped_scores_what_measure_reports(ludb_dir):
    # The judge for records the method never saw: nothing refit, each record's intervals
    # exactly the product's, its conditions from ludb.csv.
    from ecgcore.io import read_wfdb
    from ecgcore.signal.pipeline import process_record
    from ecgwb.bench._delineation_cv import ludb_conditions
    from ecgwb.bench.delineation import run_ludb_shipped

    records = ["1", "111"]  # sinus; paced
    res = run_ludb_shipped(ludb_dir, neurokit=False, records=records)
    rows = res["per_record"].set_index("record")
    assert sorted(rows.index) == records and rows["error"].isna().all()
    for r in records:
        want = process_record(read_wfdb(ludb_dir / "data" / r)).intervals
        got = {m: None if pd.isna(rows.loc[r, m]) else float(rows.loc[r, m]) for m in want}
        assert got == want
    assert rows.loc["111", "conditions"] == "; ".join(ludb_conditions(ludb_dir)["111"])
    assert "paced" in rows.loc["111", "conditions"]
    paced = res["conditions"].set_index(["condition", "interval"]).loc[("paced", "QRS")]
    assert paced["n"] == 1 and paced["worst (record: error ms)"].startswith("111:")
    lead = res["per_lead"].set_index(["wave", "boundary"])
    assert lead.loc[("QRS", "on"), "marks"] > 0 and lead.loc[("QRS", "on"), "sensitivity_pct"] > 90


def test_ludb_shipped_without_the_conditions_table(ludb_dir, tmp_path, capsys):
    # A subset copied without ludb.csv is still measured; the conditions are said unknown.
    import shutil

    from ecgwb.bench.delineation import main

    (tmp_path / "data").mkdir()
    for f in (ludb_dir / "data").glob("1.*"):
        shutil.copy(f, tmp_path / "data")
    assert main(["--parts", "ludb_shipped", "--data", str(tmp_path), "--no-neurokit",
                 "--no-per-lead"]) == 0
    out = capsys.readouterr().out
    assert "nothing refit" in out and "in sample" in out
    assert "the records' conditions are unknown" in out
    assert re.search(r"spatial\s+QRS\s+1\s+0\s", out)  # one record, none failed
