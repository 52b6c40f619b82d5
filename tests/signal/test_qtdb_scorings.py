"""The QTDB bench's extra scorings: per mark the Holter lead alone that errs less (an
oracle), and per record the intervals over the beats the cardiologist marked."""

from __future__ import annotations

import pandas as pd
import pytest

from ecgwb.bench._qtdb import FIDUCIALS, LONE_LEADS, best_lead_table


def _beat(method: str, beat: int, t_off: float | None, qrs_on: float, matched: bool = True) -> dict:
    row = {"record": "sel1", "method": method, "beat": beat, "matched": matched}
    for k in FIDUCIALS:
        row[k] = None
        row[f"has_{k}"] = k in ("t_off", "qrs_on")
    row["t_off"], row["qrs_on"] = t_off, qrs_on
    return row


def test_the_smaller_error_of_the_two_leads_with_its_sign():
    one, two = LONE_LEADS
    per_beat = pd.DataFrame([
        _beat(one, 0, -40.0, 8.0), _beat(two, 0, 12.0, -4.0),   # lead 2 better for both
        _beat(one, 1, -6.0, 2.0), _beat(two, 1, 30.0, -10.0),   # lead 1 better for both
        _beat(one, 2, None, 6.0), _beat(two, 2, -20.0, 6.0),    # lead 1 found no T end
        _beat("spatial", 0, 100.0, 100.0),                      # other methods are not paired
        _beat(one, 3, 1.0, 1.0, matched=False),                 # an unmatched beat is left out
    ])
    t = best_lead_table(per_beat).set_index("fiducial")
    assert t.loc["t_off", "n"] == 3 and t.loc["qrs_on", "n"] == 3
    assert t.loc["t_off", "mean_ms"] == pytest.approx((12.0 - 6.0 - 20.0) / 3, abs=0.05)
    assert t.loc["qrs_on", "mean_ms"] == pytest.approx((-4.0 + 2.0 + 6.0) / 3, abs=0.05)
    assert t.loc["p_on", "n_marked"] == 0 and t.loc["p_on", "n"] == 0
    assert (t["method"] == "spatial, better lead alone (oracle)").all()


def test_no_lone_lead_rows_no_table():
    assert best_lead_table(pd.DataFrame([_beat("spatial", 0, 1.0, 1.0)])).empty


def _marked(record: str, qrs: float, expert_qrs: float, p: float | None,
            matched: bool = True) -> dict:
    row = {"record": record, "method": "spatial", "beat": 0, "matched": matched,
           "qrs_ms": qrs, "expert_qrs_ms": expert_qrs, "p_ms": p, "expert_p_ms": 100.0,
           "pr_ms": None, "expert_pr_ms": None, "qt_ms": 400.0, "expert_qt_ms": 390.0}
    return row


def test_same_beats_records_are_medians_over_the_marked_beats():
    from ecgwb.bench._qtdb import same_beats_records

    per_beat = pd.DataFrame([
        _marked("a", 90.0, 96.0, 110.0), _marked("a", 150.0, 148.0, None),
        _marked("a", 100.0, 92.0, 104.0),
        _marked("b", 80.0, 84.0, None), _marked("b", 84.0, 88.0, None),
        _marked("b", 82.0, 86.0, 120.0),           # P in one beat of three: no P for b
        _marked("b", 500.0, 500.0, 500.0, matched=False),  # not matched: left out
        {**_marked("a", 0.0, 0.0, 0.0), "method": "neurokit2"},  # another method
    ])
    rows = same_beats_records(per_beat).set_index("record")
    assert rows.loc["a", "method"] == "spatial, on the marked beats"
    assert (rows.loc["a", "qrs_ms"], rows.loc["a", "expert_qrs_ms"]) == (100.0, 96.0)
    assert rows.loc["a", "p_ms"] == 107.0  # two of three beats give it
    assert (rows.loc["b", "qrs_ms"], rows.loc["b", "expert_qrs_ms"]) == (82.0, 86.0)
    assert pd.isna(rows.loc["b", "p_ms"]) and rows.loc["b", "expert_p_ms"] == 100.0
    assert pd.isna(rows.loc["b", "pr_ms"]) and pd.isna(rows.loc["b", "expert_pr_ms"])
    assert len(rows) == 2


def _copy_with_second_reader(qtdb_dir, tmp_path, record: str, shift: int):
    """``record``'s files in ``tmp_path`` with a second reader's marks: cardiologist 1's,
    every one ``shift`` samples later."""
    import shutil

    import numpy as np
    import wfdb

    for ext in ("hea", "dat", "q1c"):
        shutil.copy(qtdb_dir / f"{record}.{ext}", tmp_path / f"{record}.{ext}")
    ann = wfdb.rdann(str(qtdb_dir / record), "q1c")
    # wfdb writes only extensions of letters; the file is the same under QTDB's name
    wfdb.wrann(record, "qtwo", np.asarray(ann.sample) + shift, symbol=list(ann.symbol),
               subtype=np.asarray(ann.subtype), chan=np.asarray(ann.chan),
               num=np.asarray(ann.num), write_dir=str(tmp_path))
    (tmp_path / f"{record}.qtwo").rename(tmp_path / f"{record}.q2c")


def test_a_second_reader_is_scored_on_the_same_beats(qtdb_dir, tmp_path):
    from ecgwb.bench._qtdb import SECOND_READER_LABEL, second_reader

    _copy_with_second_reader(qtdb_dir, tmp_path, "sel100", shift=5)  # 20 ms at 250 Hz
    per_record, per_beat = second_reader(tmp_path)
    assert per_beat["matched"].all() and (per_beat["method"] == SECOND_READER_LABEL).all()
    for k in FIDUCIALS:  # every mark he made is 20 ms later; those not made are None
        v = pd.to_numeric(per_beat[k], errors="coerce")
        assert v.dropna().eq(20.0).all() and v.notna().sum() == per_beat[f"has_{k}"].sum()
    row = per_record.set_index("record").loc["sel100"]
    for m in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):  # the same intervals
        assert row[m] == row[f"expert_{m}"]


def test_the_second_reader_of_the_shared_qtdb(qtdb_dir):
    from ecgwb.bench._qtdb import second_reader

    per_record, per_beat = second_reader(qtdb_dir)
    assert sorted(per_record["record"]) == ["sel100", "sel103", "sel114", "sel117", "sel221",
                                            "sel230"]
    assert per_beat["matched"].sum() == 220
    # he marked QRS and T but no P: his P and PR are absent, his QRS and QT present
    assert per_record["p_ms"].isna().all() and per_record["qt_ms"].notna().all()


# ------------------------------------------------ ecgpuwave's marks as a reader (log item 36)


def test_puwave_boundaries_belong_to_their_wave_by_the_num_field(qtdb_dir):
    """sel100's first beat, read by hand from ``sel100.pu``: lead 0 marks ``( p )`` at 83,
    104, 116 (num 0), ``( N )`` at 130, 142, 152 (num 1), and a biphasic T — ``(`` 201,
    ``t`` 210, ``t`` 235, ``)`` 245 (num 2): two peak marks between its boundaries, which a
    parse by neighbouring marks cuts at the first ``t``."""
    from ecgcore.io.qtdb import QTDBBeat, puwave_beats

    per_lead = puwave_beats(qtdb_dir / "sel100")
    assert sorted(per_lead) == [0, 1] and all(len(b) > 1000 for b in per_lead.values())
    assert per_lead[0][0] == QTDBBeat(qrs_peak=142, p_on=83, p_off=116, qrs_on=130,
                                      qrs_off=152, t_peak=210, t_off=245)
    assert per_lead[1][0] == QTDBBeat(qrs_peak=140, p_on=92, p_off=115, qrs_on=129,
                                      qrs_off=150, t_peak=209, t_off=226)
    for beats in per_lead.values():  # every beat's marks in physiological order
        for b in beats:
            order = [v for v in (b.p_on, b.p_off, b.qrs_on, b.qrs_peak, b.qrs_off, b.t_off)
                     if v is not None]
            assert order == sorted(order)


def test_two_leads_take_the_earlier_onset_and_later_offset():
    from ecgcore.io.qtdb import QTDBBeat
    from ecgwb.bench._qtdb import two_lead_beats

    a = QTDBBeat(qrs_peak=142, p_on=83, p_off=116, qrs_on=130, qrs_off=152, t_peak=210,
                 t_off=245)
    b = QTDBBeat(qrs_peak=140, p_on=92, p_off=None, qrs_on=129, qrs_off=150, t_peak=209,
                 t_off=226)
    lone = QTDBBeat(qrs_peak=900, p_on=None, p_off=None, qrs_on=890, qrs_off=910,
                    t_peak=None, t_off=None)  # lead 1 only: kept as it is
    far = QTDBBeat(qrs_peak=400, p_on=None, p_off=None, qrs_on=390, qrs_off=410,
                   t_peak=None, t_off=None)  # lead 0 only (no lead-1 beat within 150 ms)
    got = two_lead_beats({0: [a, far], 1: [b, lone]}, fs=250.0)
    assert got == [QTDBBeat(qrs_peak=142, p_on=83, p_off=116, qrs_on=129, qrs_off=152,
                            t_peak=210, t_off=245), far, lone]
    assert two_lead_beats({1: [b]}, fs=250.0) == [b]


def test_puwave_reader_scores_the_marks_against_q1c_on_the_same_beats(qtdb_dir, tmp_path):
    """On a copy of sel100 whose ``pu`` marks are cardiologist 1's, channel 0 (one lead, the
    same marks): every fiducial error is 0 and the record's intervals are his."""
    import shutil

    import numpy as np
    import wfdb

    from ecgwb.bench._qtdb import PUWAVE_LABEL, PUWAVE_LEADS, puwave_reader

    for ext in ("hea", "dat", "q1c"):
        shutil.copy(qtdb_dir / f"sel100.{ext}", tmp_path / f"sel100.{ext}")
    ann = wfdb.rdann(str(qtdb_dir / "sel100"), "q1c")
    sym = list(ann.symbol)
    # each boundary's wave in num (0 P, 1 QRS, 2 T), as ecgpuwave writes it
    wave = {"p": 0, "t": 2, "u": 3}
    num = []
    for i, s in enumerate(sym):
        if s == "(":
            num.append(wave.get(sym[i + 1], 1))
        elif s == ")":
            num.append(wave.get(sym[i - 1], 1))
        else:
            num.append(0)
    wfdb.wrann("sel100", "pux", np.asarray(ann.sample), symbol=sym,
               chan=np.zeros(len(sym), dtype=int), num=np.asarray(num), write_dir=str(tmp_path))
    (tmp_path / "sel100.pux").rename(tmp_path / "sel100.pu")
    per_record, per_beat = puwave_reader(tmp_path)
    assert set(per_beat["method"]) == {PUWAVE_LABEL, PUWAVE_LEADS[0]}
    assert per_beat["matched"].all()
    for k in FIDUCIALS:
        v = pd.to_numeric(per_beat[k], errors="coerce")
        assert v.dropna().eq(0.0).all() and v.notna().sum() == per_beat[f"has_{k}"].sum()
    row = per_record.set_index("method").loc[PUWAVE_LABEL]
    assert row["record"] == "sel100"
    for m in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
        assert row[m] == row[f"expert_{m}"]


def test_unreadable_puwave_marks_name_the_file(tmp_path):
    from ecgcore.io.qtdb import puwave_beats

    (tmp_path / "rec.pu").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match=r"rec\.pu"):
        puwave_beats(tmp_path / "rec")


def test_the_bench_prints_ecgpuwave_beside_spatial_on_the_same_records(qtdb_dir, tmp_path,
                                                                        capsys):
    import shutil

    from ecgwb.bench._qtdb import PUWAVE_LABEL, measure_qtdb
    from ecgwb.bench.delineation import _print_puwave

    for ext in ("hea", "dat", "q1c", "pu"):
        shutil.copy(qtdb_dir / f"sel100.{ext}", tmp_path / f"sel100.{ext}")
    per_record, per_beat = measure_qtdb(tmp_path, ("spatial",))
    saved = {}
    _print_puwave(tmp_path, per_record, per_beat, lambda name, df: saved.update({name: df}))
    out = capsys.readouterr().out
    assert "ecgpuwave's marks shipped with QTDB (pu; 1 records)" in out
    assert "better lead alone (oracle)" in out
    rows = saved["qtdb_puwave"]
    assert {PUWAVE_LABEL, "spatial", "spatial, on the marked beats"} <= set(rows["method"])
    assert set(rows["record"]) == {"sel100"}
