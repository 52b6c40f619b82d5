"""`ecgwb bench delineation --parts flags` (docs/DELINEATION.md log items 23–25): how many of
the values that are off each flag points at (recall), and how many it flags that are off
(precision), counted by hand here on a constructed table, then real judge rows."""

from __future__ import annotations

import pandas as pd

from ecgwb.bench._flags import FLAGGED, OFF_MS, _row, flag_table


def test_recall_and_precision_of_each_flag_counted_by_hand():
    off = OFF_MS["qt_ms"]
    rows = pd.DataFrame([
        # judge, QT, reference, beats' flag, flag with the median beat's doubts, error
        ("LUDB, one lead alone", 400.0, 300.0, True, True, None),     # off, flagged by both
        ("LUDB, one lead alone", 400.0, 460.0, False, True, None),    # off, flagged by the new
        ("LUDB, one lead alone", 400.0, 410.0, True, True, None),     # right, flagged by both
        ("LUDB, one lead alone", 400.0, 400.0 + off, False, False, None),  # exactly at: right
        ("LUDB, one lead alone", None, 400.0, False, False, None),    # no QT: not scored
        ("LUDB, one lead alone", 400.0, 100.0, True, True, "RecordError: x"),  # failed
        ("LUDB, twelve leads", 400.0, 300.0, False, False, None),     # off, missed by both
    ], columns=["judge", "qt_ms", "reference_qt_ms", "qt_ms_flag_beats",
                "qt_ms_flag_with_doubts", "error"])
    table = flag_table(rows, "qt_ms").set_index("judge")
    one = table.loc["LUDB, one lead alone"]
    assert (one["n"], one["off"]) == (4, 2)
    assert (one["flagged (beats)"], one["recall (beats)"], one["precision (beats)"]) == (2, 0.5, 0.5)
    assert (one["flagged (with doubts)"], one["recall (with doubts)"],
            one["precision (with doubts)"]) == (3, 1.0, round(2 / 3, 2))
    twelve = table.loc["LUDB, twelve leads"]
    assert (twelve["n"], twelve["off"], twelve["recall (beats)"]) == (1, 1, 0.0)
    # the pooled row leaves the twelve-lead judge out
    assert table.loc["pooled, one or two leads", "off"] == 2


def test_real_rows_read_both_flags_of_every_interval(ludb_dir):
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import ludb_expert_intervals

    path = ludb_dir / "data" / "21"
    record = read_wfdb(path)
    i = list(record.leads).index("V1")
    reference = ludb_expert_intervals(path)
    row = _row("LUDB, one lead alone", "21 V1", record.signal[i: i + 1], record.fs, ("V1",),
               reference)
    assert row["error"] is None
    for key in FLAGGED:
        assert row[f"reference_{key}"] == reference[key]
        # the median beat's doubts only ever add a flag
        assert row[f"{key}_flag_with_doubts"] >= row[f"{key}_flag_beats"]
    assert row["qt_ms_flag_with_doubts"] and not row["qt_ms_flag_beats"]  # log item 23's case
    # no doubts but the QT's: the other intervals' two flags agree
    assert all(row[f"{key}_flag_with_doubts"] == row[f"{key}_flag_beats"]
               for key in ("p_ms", "pr_ms", "qrs_ms"))


def test_ptbxl_judge_reads_the_given_subsets_and_scores_what_is_reported(ptbxl500, tmp_path):
    """`--parts flags --lone-leads III V1+V5`: PTB-XL read as those subsets; a lone lead's
    QRS is the one the product reports (the segmenter's), flagged from the beats that gave
    it."""
    from ecgcore.io import read_wfdb
    from ecgcore.signal.record_delineation import delineate_signal
    from ecgwb.bench._flags import _ptbxl

    pd.read_csv(ptbxl500 / "ptbxl_database.csv").head(1).to_csv(
        tmp_path / "ptbxl_database.csv", index=False)
    (tmp_path / "records500").symlink_to(ptbxl500 / "records500")
    rows = list(_ptbxl(tmp_path, (("III",), ("V1", "V5"))))
    assert [r["record"] for r in rows] == ["1 III", "1 V1+V5"]
    assert [r["judge"] for r in rows] == ["PTB-XL, one lead alone", "PTB-XL, two leads"]
    record = read_wfdb(ptbxl500 / "records500/00000/00001_hr")
    i = list(record.leads).index("III")
    d = delineate_signal(record.signal[i: i + 1], record.fs, ("III",), per_lead=False,
                         powerline_hz=50.0)
    assert rows[0]["qrs_ms"] == d.intervals["qrs_ms"] == d.one_lead_qrs_ms
    assert rows[0]["qrs_ms_flag_beats"] == d.confidence()["qrs_ms"]["uncertain"]
