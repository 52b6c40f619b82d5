"""A record of one lead is delineated as one lead is (docs/DELINEATION.md log item 12): its
QRS boundaries with the per-lead quiet duration (a lone lead's velocity vanishes at every
turn of the QRS), and the next beat's P placed by the RR interval, not by its likeness to
this P (in one lead a T wave looks like a P wave). Judged on real LUDB records read as a
one-lead file reads (the other eleven leads missing), against the experts' marks in that
lead. A record of two leads takes the same QRS quiet duration (log item 17: two leads can
turn at the same instant), judged on LUDB read as two-lead Holter recordings and on QTDB."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ecgcore.io import read_wfdb
from ecgcore.io.ludb import _lead_waves
from ecgcore.signal.delineate import (
    DEFAULT_PARAMS,
    LEAD_QRS_QUIET_MS,
    MIN_COMBINED_LEADS,
    _validate,
    ecg_delineate,
)
from ecgcore.signal.pipeline import process_record
from ecgwb.bench._single_lead import only_leads


def _experts(path, ext: str, start: int, end: int) -> float:
    """Median over the lead's marked beats of the experts' ``start`` → ``end`` (ms)."""
    waves = _lead_waves(path, ext)
    qrs, t = waves["qrs"], waves["t"]
    out = []
    for on, _, off in qrs:
        if on < 0 or off < 0:
            continue
        if end == "t_off":
            later = t[(t[:, 2] > off) & (t[:, 2] < off + 400)]  # this beat's T (500 Hz)
            if later.size:
                out.append((later[0, 2] - on) * 2.0)
        else:
            out.append((off - on) * 2.0)
    return float(np.median(out))


def test_the_quiet_duration_follows_the_usable_leads_unless_given():
    """SpatialParams.qrs_quiet_ms None (the default): fewer than three usable leads take the
    per-lead value, three or more take 0; a value given is kept (the per-lead grid scores 0
    too)."""
    assert DEFAULT_PARAMS.qrs_quiet_ms is None and MIN_COMBINED_LEADS == 3
    assert LEAD_QRS_QUIET_MS == 8.0
    beat = np.zeros((4, 400))
    beat[:, 150:160] = [[0.0], [500.0], [300.0], [200.0]]  # lead 0 flat: left out
    two = beat.copy()
    two[3] = np.nan
    one = two.copy()
    one[2] = np.nan
    assert _validate(beat, 500.0, 155, None).qrs_quiet_ms == 0.0  # three usable leads
    assert _validate(two, 500.0, 155, None).qrs_quiet_ms == LEAD_QRS_QUIET_MS
    assert _validate(one, 500.0, 155, None).qrs_quiet_ms == LEAD_QRS_QUIET_MS
    given = replace(DEFAULT_PARAMS, qrs_quiet_ms=0.0, qrs_on=0.03)
    assert _validate(one, 500.0, 155, None, params=given).qrs_quiet_ms == 0.0


def test_a_one_lead_median_beat_is_delineated_with_the_per_lead_quiet_duration(ludb_dir):
    """Every path that delineates a one-lead beat (the pipeline, `ecgwb delineate`, the
    Data view's per-beat confidence, the factor annotation) goes through ecg_delineate,
    which resolves the default: the same fiducials as 8 ms given, not those of 0."""
    res = process_record(only_leads(read_wfdb(ludb_dir / "data" / "5"), "II"))
    args = (res.analysis_median, res.fs, res.analysis_fiducials.r)
    default = ecg_delineate(*args, rr_ms=float(np.median(res.rr_ms)))
    eight = ecg_delineate(*args, rr_ms=float(np.median(res.rr_ms)),
                          params=replace(DEFAULT_PARAMS, qrs_quiet_ms=8.0))
    zero = ecg_delineate(*args, rr_ms=float(np.median(res.rr_ms)),
                         params=replace(DEFAULT_PARAMS, qrs_quiet_ms=0.0))
    assert default == eight and (default.qrs_on, default.qrs_off) != (zero.qrs_on, zero.qrs_off)


def test_lead_ii_alone_ends_the_qt_on_the_t_wave(ludb_dir):
    """LUDB 1 (45/min, ST depressed in II): in lead II alone the T wave matched the P
    template, the T search stopped before it and the QT ended in the ST segment (282 ms)."""
    path = ludb_dir / "data" / "1"
    record = read_wfdb(path)
    one = process_record(only_leads(record, "II")).analysis_fiducials.intervals()
    twelve = process_record(record).analysis_fiducials.intervals()
    expert = _experts(path, "ii", "qrs_on", "t_off")
    assert abs(one["qt_ms"] - expert) <= 30, (one, expert)
    assert abs(one["qt_ms"] - twelve["qt_ms"]) <= 30, (one, twelve)


def test_one_lead_qrs_is_the_experts_qrs_in_that_lead(ludb_dir):
    """Lead II alone on the first ten LUDB dev records: the QRS duration against the
    experts' own lead-II marks has a mean error within ±8 ms (it was −22 ms over all 100
    records when a lone lead took the twelve-lead numbers, which end the QRS at its first
    turn)."""
    errors = []
    for name in ("1", "3", "5", "7", "9", "11", "13", "15", "17", "19"):
        path = ludb_dir / "data" / name
        got = process_record(only_leads(read_wfdb(path), "II")).analysis_fiducials.intervals()
        errors.append(got["qrs_ms"] - _experts(path, "ii", "qrs_on", "qrs_off"))
    assert abs(np.mean(errors)) <= 8.0, errors
    assert np.mean(np.abs(errors)) < 20.0, errors


def test_the_bench_scores_each_lead_alone_against_both_references(ludb_dir):
    """`ecgwb bench delineation --parts single`: one row per record, lead and reference;
    the lead's own marks give the QRS and QT references, the global ones all four."""
    from ecgwb.bench._single_lead import lead_marks_ms, ludb_single_lead
    from ecgwb.bench.delineation import summarize

    rows = ludb_single_lead(ludb_dir, leads=("II", "V5"), records=["1", "3"])
    assert len(rows) == 2 * 2 * 2 and rows["error"].isna().all()
    own = rows[rows["method"] == "lead II alone, against that lead's marks"].set_index("record")
    assert own.loc["1", "expert_qrs_ms"] == lead_marks_ms(ludb_dir / "data" / "1", "ii")["qrs_ms"]
    assert own[["p_ms", "expert_p_ms"]].isna().all().all()  # P is judged on the global marks only
    table = summarize(rows).query("n > 0")
    own_marks = ", against that lead's marks"
    assert set(table["method"]) == {"lead II alone", "lead V5 alone", "lead II alone" + own_marks,
                                    "lead V5 alone" + own_marks}


def test_two_leads_do_not_end_the_qrs_at_a_shared_turn(ludb_dir):
    """LUDB dev read as II + V5 Holter recordings (all 100 records): the QRS against the
    experts' global marks had a mean error of −20.3 ms when two leads took the twelve-lead
    quiet duration of 0 (the QRS ended where both leads turned at once); −9.8 ms with the
    one-lead quiet duration. Two leads are expected to read a little short of twelve."""
    from ecgwb.bench._single_lead import ludb_two_leads

    rows = ludb_two_leads(ludb_dir, pairs=(("II", "V5"),))
    assert len(rows) == 100 and rows["error"].isna().all()
    errors = rows["qrs_ms"] - rows["expert_qrs_ms"]
    assert -15.0 <= errors.mean() <= 0.0, errors.describe()
    assert errors.std() <= 12.0, errors.describe()


def test_qtdb_sel103_qrs_ends_after_the_s_wave(qtdb_dir):
    """QTDB sel103 (MLII + V2): the median beat's QRS ended on V2's S nadir, where MLII turns
    at the same instant: 60 ms against the cardiologist's 88 (log item 17)."""
    from ecgcore.io.qtdb import qtdb_expert_intervals, read_qtdb_window
    from ecgcore.signal.record_delineation import delineate_signal, record_intervals

    path = qtdb_dir / "sel103"
    window = read_qtdb_window(path)
    d = delineate_signal(window.signal, window.fs, window.leads, per_lead=False,
                         powerline_hz=None)
    got = record_intervals(d.median, d.beats, "median_beat")["qrs_ms"]
    expert = qtdb_expert_intervals(path)["qrs_ms"]
    assert abs(got - expert) <= 10.0, (got, expert)


def test_ptbxl_few_leads_judges_each_subset_against_the_same_records_twelve_leads(ptbxl500):
    """`ecgwb bench delineation --parts ptbxl_few_leads`: one row per record and subset, the
    reference columns the record's own 12-lead intervals (what `ecgwb measure` reports)."""
    from ecgwb.bench._single_lead import ptbxl_few_leads
    from ecgwb.bench.delineation import summarize

    rows = ptbxl_few_leads(ptbxl500, subsets=(("II",), ("II", "V1")), limit=3)
    assert len(rows) == 3 * 2 and rows["error"].isna().all()
    assert set(rows["method"]) == {"leads II", "leads II + V1"}
    first = rows[rows["record"] == "1"].set_index("method")
    twelve = process_record(read_wfdb(ptbxl500 / "records500/00000/00001_hr"))
    for key, value in twelve.intervals.items():
        assert first.loc["leads II", f"expert_{key}"] == value
    alone = process_record(only_leads(read_wfdb(ptbxl500 / "records500/00000/00001_hr"), "II"))
    assert first.loc["leads II", "qt_ms"] == alone.intervals["qt_ms"]
    assert summarize(rows).query("interval == 'QT'")["n"].tolist() == [3, 3]


def test_bench_lone_leads_reads_only_the_named_leads_alone_or_together(ptbxl500, tmp_path, capsys):
    """`--lone-leads aVF V1+V5`: the PTB-XL few-leads part reads aVF alone and V1 with V5,
    no default subsets."""
    import pandas as pd

    from ecgwb.bench.delineation import main

    db = pd.read_csv(ptbxl500 / "ptbxl_database.csv").head(2)
    db.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    (tmp_path / "records500").symlink_to(ptbxl500 / "records500")
    assert main(["--parts", "ptbxl_few_leads", "--ptbxl", str(tmp_path), "--lone-leads", "aVF",
                 "V1+V5", "--per-record", str(tmp_path / "rows")]) == 0
    rows = pd.read_csv(tmp_path / "rows_ptbxl_few_leads.csv")
    assert sorted(set(rows["method"])) == ["leads V1 + V5", "leads aVF"] and len(rows) == 4
    out = capsys.readouterr().out
    assert "PTB-XL read as few leads" in out and "more than 40 ms off" in out
    # a lead pair means nothing to the parts that read one lead: refused, not misread
    with pytest.raises(SystemExit):
        main(["--parts", "one_lead_sources", "--ptbxl", str(tmp_path), "--lone-leads", "V1+V5"])
    assert "ptbxl_few_leads only" in capsys.readouterr().err


def test_a_one_lead_records_qrs_is_the_segmenters_median_over_beats(ptbxl500, ludb_dir):
    """Log item 27: a record of one usable lead reports the QRS duration of the learned
    segmenter (the median over its beats of the QRS wave it labels in that lead), not the
    rules' on the lone median beat; its other intervals, a twelve-lead record's and a paced
    record's QRS (measured from the spike) stay the rules'."""
    from ecgcore.signal.learned_delineation import lead_fiducials, segment, shipped_segmenter
    from ecgcore.signal.record_delineation import delineate_signal

    record = read_wfdb(ptbxl500 / "records500/00000/00001_hr")
    alone = process_record(only_leads(record, "II"))
    i = list(alone.leads).index("II")
    lead = alone.signal[i: i + 1]
    rows = lead_fiducials(segment(shipped_segmenter(), lead, alone.fs), lead, alone.rpeaks,
                          alone.fs)
    want = float(np.median([row[0].qrs_ms for row in rows if row[0] is not None]))
    assert alone.intervals["qrs_ms"] == alone.features["qrs_ms"] == want
    assert want != alone.analysis_fiducials.qrs_ms  # 80 against the rules' 66 ms here
    rules = alone.analysis_fiducials.intervals()
    assert all(alone.intervals[k] == rules[k] for k in ("p_ms", "pr_ms", "qt_ms"))
    twelve = process_record(record)
    assert twelve.intervals == twelve.analysis_fiducials.intervals()
    paced = process_record(only_leads(read_wfdb(ludb_dir / "data" / "93"), "II"))
    assert paced.pacing.paced and paced.intervals["qrs_ms"] == paced.analysis_fiducials.qrs_ms
    # `ecgwb delineate` reports the same kind of QRS for a one-lead record
    d = delineate_signal(lead, alone.fs, ("II",), per_lead=False)
    assert d.one_lead_qrs_ms is not None and d.intervals["qrs_ms"] == d.one_lead_qrs_ms
    assert delineate_signal(record.signal, record.fs, record.leads,
                            per_lead=False).one_lead_qrs_ms is None


def test_a_one_lead_records_qrs_confidence_is_of_the_segmenters_beats(ptbxl500):
    """The flag beside a one-lead record's QRS describes the value reported (the segmenter's
    median over beats), not the rules' beats: CLBBB record 180 read as lead II alone, where
    the segmenter labels a different piece of the wide QRS in each beat (52, 50, 22, 114 …
    ms), reads 51 ms and says it is uncertain; the rules' beats alone agree within 10 ms."""
    from ecgcore.signal.record_delineation import delineate_signal, interval_confidence

    record = only_leads(read_wfdb(ptbxl500 / "records500/00000/00180_hr"), "II")
    res = process_record(record)
    beats = res.one_lead_qrs_beats
    assert beats and res.intervals["qrs_ms"] == float(np.median(beats))
    conf = res.confidence()["qrs_ms"]
    iqr = float(np.subtract(*np.percentile(beats, [75, 25])))
    assert conf["n_beats"] == len(beats) and conf["iqr_ms"] == round(iqr, 1) > 10
    assert conf["uncertain"] and not conf["absent"]
    fids = res.beat_fiducials or []  # the rules' beats: not what is reported here
    i = list(res.leads).index("II")
    d = delineate_signal(res.signal[i: i + 1], res.fs, ("II",), per_lead=False)
    rules_only = interval_confidence(d.beats, d.median)["qrs_ms"]
    assert not fids and not rules_only["uncertain"]
    # `ecgwb delineate` says the same of the QRS it reports
    assert d.confidence()["qrs_ms"]["uncertain"] and d.intervals["qrs_ms"] == d.one_lead_qrs_ms
    # other intervals, and a twelve-lead record's QRS, keep the rules' beats
    assert res.confidence()["qt_ms"]["n_beats"] != 0
    twelve = process_record(read_wfdb(ptbxl500 / "records500/00000/00180_hr"))
    assert twelve.one_lead_qrs_beats is None


def test_bench_one_lead_sources_puts_the_rules_beside_the_segmenter(ptbxl500, tmp_path):
    """`--parts one_lead_sources --lone-leads II` (log items 26–27's judge): per record, the
    rules' and the segmenter's intervals of lead II alone against the twelve-lead reading;
    the segmenter's QRS is what `ecgwb delineate` reports for the one-lead record."""
    import pandas as pd

    from ecgcore.signal.record_delineation import delineate_signal
    from ecgwb.bench._single_lead import segmenter_intervals
    from ecgwb.bench.delineation import main

    db = pd.read_csv(ptbxl500 / "ptbxl_database.csv").head(2)
    db.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    (tmp_path / "records500").symlink_to(ptbxl500 / "records500")
    (tmp_path / "qtdb").mkdir()
    assert main(["--parts", "one_lead_sources", "--ptbxl", str(tmp_path), "--qtdb",
                 str(tmp_path / "qtdb"), "--lone-leads", "II", "--per-record",
                 str(tmp_path / "rows")]) == 0
    rows = pd.read_csv(tmp_path / "rows_one_lead_sources.csv").set_index(["method", "record"])
    assert len(rows) == 6 and rows["error"].isna().all()
    record = read_wfdb(ptbxl500 / "records500/00000/00001_hr")
    i = list(record.leads).index("II")
    d = delineate_signal(record.signal[i: i + 1], record.fs, ("II",), lead_method="learned")
    assert rows.loc[("PTB-XL lead II alone, segmenter", 1), "qrs_ms"] == \
        segmenter_intervals(d)["qrs_ms"]
    assert rows.loc[("PTB-XL lead II alone, rules", 1), "qrs_ms"] == d.median.qrs_ms
    assert rows.loc[("PTB-XL lead II alone, reported", 1), "qrs_ms"] == d.intervals["qrs_ms"]
    twelve = process_record(record).intervals["qrs_ms"]
    assert rows.loc[("PTB-XL lead II alone, rules", 1), "expert_qrs_ms"] == twelve


def test_off_by_counts_gross_errors_per_method():
    """The count of values beyond the tolerance, per method, over records measured on both
    sides (a missing value is not an error here: `summarize` counts those)."""
    import pandas as pd

    from ecgwb.bench._single_lead import off_by

    rows = pd.DataFrame({"method": ["a", "a", "a", "b", "b"],
                         "qrs_ms": [100.0, 150.0, None, 50.0, 90.0],
                         "expert_qrs_ms": [95.0, 100.0, 100.0, 91.0, 130.0]})
    got = off_by(rows).set_index("method")
    assert got.loc["a", "n"] == 2 and got.loc["a", "off_by_over_40_ms"] == 1
    assert got.loc["b", "n"] == 2 and got.loc["b", "off_by_over_40_ms"] == 1
