"""`ecgwb bench delineation --parts qt_flag` (docs/DELINEATION.md log item 23): how many of
the QTs that are off the flag points at (recall), and how many it flags that are off
(precision), counted by hand here on a constructed table, then one real judge row."""

from __future__ import annotations

import pandas as pd

from ecgwb.bench._qt_flag import OFF_MS, _rows, qt_flag_table


def test_recall_and_precision_of_each_flag_counted_by_hand():
    rows = pd.DataFrame([
        # judge, QT, reference, beats' flag, flag with ambiguity, error
        ("LUDB, one lead alone", 400.0, 300.0, True, True, None),     # off, flagged by both
        ("LUDB, one lead alone", 400.0, 460.0, False, True, None),    # off, flagged by the new
        ("LUDB, one lead alone", 400.0, 410.0, True, True, None),     # right, flagged by both
        ("LUDB, one lead alone", 400.0, 400.0 + OFF_MS, False, False, None),  # exactly 50: right
        ("LUDB, one lead alone", None, 400.0, False, False, None),    # no QT: not scored
        ("LUDB, one lead alone", 400.0, 100.0, True, True, "RecordError: x"),  # failed
        ("LUDB, twelve leads", 400.0, 300.0, False, False, None),     # off, missed by both
    ], columns=["judge", "qt_ms", "reference_qt_ms", "flag_beats", "flag_with_ambiguity",
                "error"])
    table = qt_flag_table(rows).set_index("judge")
    one = table.loc["LUDB, one lead alone"]
    assert (one["n"], one["off"]) == (4, 2)
    assert (one["flagged (beats)"], one["recall (beats)"], one["precision (beats)"]) == (2, 0.5, 0.5)
    assert (one["flagged (with ambiguity)"], one["recall (with ambiguity)"],
            one["precision (with ambiguity)"]) == (3, 1.0, round(2 / 3, 2))
    twelve = table.loc["LUDB, twelve leads"]
    assert (twelve["n"], twelve["off"], twelve["recall (beats)"]) == (1, 1, 0.0)
    # the pooled row leaves the twelve-lead judge out
    assert table.loc["pooled, one or two leads", "off"] == 2


def test_a_real_record_row_reads_both_flags(ludb_dir):
    from ecgcore.io import read_wfdb

    record = read_wfdb(ludb_dir / "data" / "21")
    i = list(record.leads).index("V1")
    row = _rows("LUDB, one lead alone", "21 V1", record.signal[i: i + 1], record.fs, ("V1",), 462.0)
    assert row["error"] is None and row["qt_ms"] is not None
    assert row["flag_with_ambiguity"] and not row["flag_beats"]  # log item 23's case
