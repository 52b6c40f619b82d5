"""PTB-XL's rhythm labels as a judge of P presence (`--parts ptbxl_p`), and LUDB read at
other sampling rates (`--parts rates`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgwb.bench._delineation_cv import regular_pair_candidates
from ecgwb.bench._ptbxl_p import (
    choose_on_all,
    cross_validate_p,
    held_out_table,
    load_ptbxl_p,
    p_expected,
    patient_folds,
    shipped_regular,
    strict_candidate,
)


def test_which_rhythm_labels_imply_a_p_wave():
    assert p_expected({"SR", "NORM"}) is True
    assert p_expected({"STACH", "1AVB"}) is True
    assert p_expected({"SARRH"}) is True and p_expected({"SBRAD"}) is True
    assert p_expected({"AFIB", "CLBBB"}) is False and p_expected({"AFLT"}) is False
    assert p_expected({"SR", "AFLT"}) is None  # both kinds: not counted
    assert p_expected({"PACE"}) is None and p_expected({"NORM"}) is None


def _fake(n_patients: int = 20, per_patient: int = 2) -> list[dict]:
    return [{"record": f"{p}-{j}", "patient": p, "p_expected": p % 5 != 0,
             "rr_regular": j == 0} for p in range(n_patients) for j in range(per_patient)]


def test_each_fold_is_chosen_on_ludb_and_the_other_folds_only():
    data = _fake()
    rng = np.random.default_rng(0)
    cands = regular_pair_candidates()
    assert len(cands) == 36 and strict_candidate() in cands and shipped_regular() in cands
    ptbxl_errors = {c: rng.integers(0, 2, len(data)).astype(float) for c in cands}
    ludb_errors = {c: rng.integers(0, 2, 7).astype(float) for c in cands}
    per_record, choices = cross_validate_p(data, ptbxl_errors, ludb_errors, k=4, seed=1)
    assert sorted(per_record["record"]) == sorted(d["record"] for d in data)
    fold = patient_folds(data, 4, 1)
    # One patient's records are never on both sides.
    for p in {d["patient"] for d in data}:
        assert len({f for d, f in zip(data, fold) if d["patient"] == p}) == 1
    for _, row in choices.iterrows():
        chosen = (row["p_isolation_regular"], row["p_locked_regular"], strict_candidate()[2])
        train = fold != row["fold"]
        total = {c: ludb_errors[c].sum() + ptbxl_errors[c][train].sum() for c in cands}
        assert total[chosen] == min(total.values())
        held = per_record[per_record["fold"] == row["fold"]]
        want = [bool(ptbxl_errors[chosen][i]) for i in np.flatnonzero(~train)]
        assert held["wrong_chosen"].tolist() == want
        assert held["wrong_before"].tolist() == \
            [bool(ptbxl_errors[strict_candidate()][i]) for i in np.flatnonzero(~train)]
    table = held_out_table(per_record).set_index("records")
    assert table.loc["all labelled", "n"] == len(data)
    assert table.loc["all labelled", "of them regular"] == len(data) // 2
    assert table.loc["sinus: no P found", "n"] + table.loc["AF / flutter: a P found", "n"] \
        == len(data)
    assert table.loc["all labelled", "wrong, before log item 35"] == \
        int(per_record["wrong_before"].sum())
    # On all records: the fewest wrong over LUDB and every labelled PTB-XL record.
    final = choose_on_all(ptbxl_errors, ludb_errors)
    assert ludb_errors[final].sum() + ptbxl_errors[final].sum() == \
        min(ludb_errors[c].sum() + ptbxl_errors[c].sum() for c in cands)


def test_the_judge_scores_the_p_the_product_reports(ptbxl500):
    # The shipped numbers (the regular rhythm's pair included) find a P exactly where
    # `ecgwb measure` reports one.
    from ecgcore.io import read_wfdb
    from ecgcore.io.ptbxl import RATE_FILES
    from ecgwb.bench._delineation_cv import regular_pair_errors

    data = load_ptbxl_p(ptbxl500, limit=130)
    db = pd.read_csv(ptbxl500 / "ptbxl_database.csv").set_index("ecg_id")
    # Record 128 has no sinus, AF or flutter statement: left out; 17, 18, 20, 23, 34: AF.
    assert len(data) == 129 and "128" not in [d["record"] for d in data]
    assert [d["record"] for d in data if not d["p_expected"]] == ["17", "18", "20", "23", "34"]
    from ecgcore.signal.pipeline import process_record

    wrong = regular_pair_errors(data)[shipped_regular()]
    for d, w in zip(data, wrong):
        found = process_record(read_wfdb(
            ptbxl500 / db.loc[int(d["record"]), RATE_FILES[500]])).intervals["p_ms"] is not None
        assert bool(w) == (found != d["p_expected"]), d["record"]


def test_ludb_read_at_other_rates(ludb_dir):
    from ecgcore.io import read_wfdb
    from ecgcore.signal.pipeline import process_record
    from ecgwb.bench._rates import ludb_at_rates, moved

    rows = ludb_at_rates(ludb_dir, rates=(500.0, 1000.0, 128.0), records=["1"])
    assert rows["method"].tolist() == ["spatial at 500 Hz", "spatial at 1000 Hz",
                                      "spatial at 128 Hz"]
    assert rows["error"].isna().all()
    by = rows.set_index("method")
    want = process_record(read_wfdb(ludb_dir / "data" / "1")).intervals
    assert {m: float(by.loc["spatial at 500 Hz", m]) for m in want} == want
    # Record 1 (sinus): the same intervals within a few ms at twice and a quarter the rate.
    for method in ("spatial at 1000 Hz", "spatial at 128 Hz"):
        for m, v in want.items():
            assert abs(float(by.loc[method, m]) - v) <= 8.0, (method, m)
    # `moved` lists what changes by more than 10 ms or appears / vanishes.
    fake = rows.copy()
    fake.loc[1, "qt_ms"] = float(fake.loc[0, "qt_ms"]) + 12
    fake.loc[2, "p_ms"] = None
    got = moved(fake)
    assert sorted(zip(got["method"], got["interval"])) == [("spatial at 1000 Hz", "qt_ms"),
                                                           ("spatial at 128 Hz", "p_ms")]


def test_the_bench_parts_run_from_the_command_line(ludb_dir, ptbxl500, tmp_path, capsys):
    # Both parts through `ecgwb bench delineation`, on one LUDB record and eight PTB-XL ones
    # (two of them AF), two folds: what prints, and the per-record rows it writes.
    import shutil

    from ecgwb.bench.delineation import main

    ludb = tmp_path / "ludb"
    (ludb / "data").mkdir(parents=True)
    for f in (ludb_dir / "data").glob("1.*"):
        shutil.copy(f, ludb / "data")
    ptbxl = tmp_path / "ptbxl"
    ptbxl.mkdir()
    db = pd.read_csv(ptbxl500 / "ptbxl_database.csv")
    db = db[db["ecg_id"].isin([1, 2, 3, 4, 5, 6, 17, 18])]
    db.to_csv(ptbxl / "ptbxl_database.csv", index=False)
    for rel in db["filename_hr"]:
        for ext in (".hea", ".dat"):
            (ptbxl / rel).parent.mkdir(parents=True, exist_ok=True)
            (ptbxl / f"{rel}{ext}").symlink_to(ptbxl500 / f"{rel}{ext}")
    stem = tmp_path / "rows"
    assert main(["--parts", "rates", "ptbxl_p", "--data", str(ludb), "--ptbxl", str(ptbxl),
                 "--folds", "2", "--per-record", str(stem)]) == 0
    out = capsys.readouterr().out
    assert "parts ludb_shipped and rates, on the records the method was chosen on" in out
    assert "spatial at 128 Hz" in out and "rhythm labels as the judge of P presence" in out
    assert "chosen on all of LUDB dev and PTB-XL's labelled records" in out
    rates = pd.read_csv(f"{stem}_rates.csv")
    assert len(rates) == 5 and rates["error"].isna().all()
    rows = pd.read_csv(f"{stem}_ptbxl_p.csv")
    assert sorted(rows["record"]) == [1, 2, 3, 4, 5, 6, 17, 18]
    assert sorted(rows.loc[~rows["p_expected"], "record"]) == [17, 18]
    assert set(rows["fold"]) == {0, 1}


def test_recorder_model_is_the_device_column_first_word():
    from ecgwb.bench._ptbxl_labels import recorder_model

    assert recorder_model("CS-12   E") == "CS-12" == recorder_model("CS-12")
    assert recorder_model("AT-6 C 5.5") == "AT-6"
    assert recorder_model(float("nan")) == "" == recorder_model("  ") == recorder_model(None)


def test_the_label_table_counts_norm_pr_by_recorder():
    import pandas as pd

    from ecgwb.bench._ptbxl_labels import label_table

    per_record = pd.DataFrame({
        "ecg_id": [1, 2, 3, 4, 5], "codes": ["NORM SR", "NORM SR", "NORM", "NORM", "1AVB"],
        "recorder": ["CS-12", "CS-12", "AT-6", "", "AT-6"],
        "p_ms": [100.0] * 5, "pr_ms": [150.0, 210.0, 190.0, 230.0, 250.0],
        "qrs_ms": [90.0] * 5, "qt_ms": [400.0] * 5})
    t = label_table(per_record).set_index("check")
    assert (t.loc["NORM: PR ≤ 200 ms", "n"], t.loc["NORM: PR ≤ 200 ms", "agree"]) == (4, 2)
    cs12 = t.loc["NORM: PR ≤ 200 ms, recorder CS-12"]
    assert (cs12["n"], cs12["agree"]) == (2, 1)
    at6 = t.loc["NORM: PR ≤ 200 ms, recorder AT-6"]  # the 1AVB record is not NORM
    assert (at6["n"], at6["agree"]) == (1, 1)
    assert not any(c.endswith("recorder ") for c in t.index)  # no row for "" (not given)
    # without the column (an older table), no recorder rows
    old = label_table(per_record.drop(columns="recorder"))
    assert not old["check"].str.contains("recorder").any()


def test_report_findings_read_the_reports_words():
    from ecgwb.bench._ptbxl_labels import report_findings

    assert report_findings("sinusrhythmus linkstyp qt-verlÄngerung") == {"long_qt"}
    assert report_findings("Sinus rhythm. Prolonged PR interval. Left atrial enlargement.") \
        == {"long_pr", "wide_p"}
    assert report_findings("sinusrhythmus p-verbreiterung") == {"wide_p"}
    assert report_findings("sinus rhythm. normal ecg.") == set() == report_findings(None)


def test_the_label_table_judges_qtc_by_sex_and_a_wide_p_only_in_sinus():
    import pandas as pd

    from ecgwb.bench._ptbxl_labels import label_table

    per_record = pd.DataFrame({
        "ecg_id": [1, 2, 3, 4, 5],
        "codes": ["LNGQT SR", "SR", "SR", "LAO/LAE SR", "AFIB LAO/LAE"],
        "sex": ["male", "female", "female", "male", "male"],
        "findings": ["", "long_qt", "long_qt", "", ""],
        "qtc_ms": [455.0, 455.0, 461.0, 400.0, 400.0],
        "p_ms": [100.0, 100.0, 100.0, 124.0, None], "pr_ms": [150.0] * 4 + [None],
        "qrs_ms": [90.0] * 5, "qt_ms": [400.0] * 5})
    t = label_table(per_record).set_index("check")
    qt = t.loc["QT prolonged (LNGQT or report): QTc ≥ 450 ms men, 460 women"]
    assert (qt["n"], qt["agree"]) == (3, 2)  # 455 is long in a man, not in a woman
    wide = t.loc["wide P (LAO/LAE or report), sinus: P ≥ 120 ms"]
    assert (wide["n"], wide["agree"]) == (1, 1)  # the AF record is not counted
    assert t.loc["PR prolonged (LPR or report): PR > 200 ms", "n"] == 0
