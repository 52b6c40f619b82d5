"""Where a record's intervals come from: the median beat, or the median over the beats.

A constructed record (three leads, 500 Hz) whose beats have QRS complexes of different,
known widths; the ``beats`` intervals are checked against the median of the per-beat values
recomputed here, in `delineate_signal`, the pipeline and the command line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import wfdb

from ecgcore.io import open_source
from ecgcore.io.record import Record
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.pipeline import PipelineConfig, process_record
from ecgcore.signal.record_delineation import (
    DEFAULT_INTERVALS,
    INTERVAL_SOURCES,
    delineate_signal,
    record_intervals,
)
from ecgwb.cli import INTERVAL_SOURCES_CLI
from ecgwb.cli import main as cli_main

FS = 500.0
LEADS = ("I", "II", "V2")
#: Lead projections of the QRS, the T wave and the P wave (rows: leads).
PROJ = np.array([[1.0, 0.6, -0.4], [0.3, 1.0, 0.8], [0.7, -0.5, 0.9]])
#: Each beat's QRS (Gaussian SD, ms): widths that differ from beat to beat.
QRS_SD_MS = (8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 9.0, 10.0, 11.0)
RR_MS, PR_MS = 900.0, 160.0


def _record(p_wave: bool = True) -> np.ndarray:
    """``[3, samples]`` µV: per beat a QRS of 1 mV (width from QRS_SD_MS), a T wave
    (250 µV, 250 ms after R) and, when asked, a P wave (100 µV, PR_MS before R)."""
    n = len(QRS_SD_MS)
    t = np.arange(int((n + 1) * RR_MS * FS / 1000.0)) / FS * 1000.0
    x = np.zeros((3, t.size))
    for k, sd in enumerate(QRS_SD_MS):
        r = (k + 0.7) * RR_MS
        x += np.outer(PROJ[:, 0], 1000.0 * np.exp(-0.5 * ((t - r) / sd) ** 2))
        x += np.outer(PROJ[:, 1], 250.0 * np.exp(-0.5 * ((t - r - 250.0) / 50.0) ** 2))
        if p_wave:
            x += np.outer(PROJ[:, 2], 100.0 * np.exp(-0.5 * ((t - r + PR_MS) / 15.0) ** 2))
    return x.astype(np.float32)


def _medians(fids: list[Fiducials | None]) -> dict[str, float | None]:
    """The median over beats of each interval, recomputed (every beat has each here)."""
    out = {}
    for key in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
        vals = [getattr(f, key) for f in fids if f is not None]
        assert all(v is not None for v in vals), key
        out[key] = float(np.median(vals))
    return out


def _fid(qrs: tuple[int, int], p: tuple[int, int] | None, t_off: int | None) -> Fiducials:
    return Fiducials(fs=1000.0, r=qrs[0] + 20, qrs_on=qrs[0], qrs_off=qrs[1],
                     p_on=None if p is None else p[0], p_off=None if p is None else p[1],
                     t_off=t_off)


def test_beats_source_is_the_median_of_each_beats_interval():
    x = _record()
    d = delineate_signal(x, FS, LEADS, per_lead=False, intervals="beats")
    assert len(d.beats) == len(QRS_SD_MS) and all(f is not None for f in d.beats)
    qrs = [f.qrs_ms for f in d.beats]
    # the beats are as built: wider QRS for a wider Gaussian, equal for equal ones
    assert qrs[:7] == sorted(qrs[:7]) and len(set(qrs[:7])) == 7
    assert qrs[1] == qrs[7] and qrs[2] == qrs[8] and qrs[3] == qrs[9]
    assert d.interval_source == "beats" and d.intervals == _medians(d.beats)
    # the median beat stays available, as a method and in the JSON
    med = d.median
    assert d.median_beat_intervals == {"p_ms": med.p_ms, "pr_ms": med.pr_ms,
                                       "qrs_ms": med.qrs_ms, "qt_ms": med.qt_ms}
    assert d.median_beat_intervals != d.intervals  # 74 against 73 ms here
    out = d.to_dict()
    assert out["interval_source"] == "beats"
    assert out["intervals"] == {k: round(v, 1) for k, v in _medians(d.beats).items()}
    default = delineate_signal(x, FS, LEADS, per_lead=False)
    assert default.interval_source == DEFAULT_INTERVALS
    assert default.intervals == default.median_beat_intervals if DEFAULT_INTERVALS == \
        "median_beat" else default.intervals == _medians(default.beats)


def test_pipeline_intervals_follow_the_configured_source():
    rec = Record(record_id="built", signal=_record(), fs=FS, leads=LEADS)
    res = process_record(rec, PipelineConfig(intervals="beats"))
    assert len(res.beat_fiducials) == res.analysis_beats.shape[0] == len(res.analysis_r)
    want = _medians(res.beat_fiducials)
    rr_s = float(np.mean(res.rr_ms)) / 1000.0
    for key, value in want.items():
        assert res.features[key] == value, key
    assert res.features["qtc_ms"] == pytest.approx(want["qt_ms"] / np.sqrt(rr_s))
    # the per-beat fiducials are delineate_signal's (same beats, same rules), shifted
    d = delineate_signal(rec.signal, FS, LEADS, per_lead=False)
    assert [f.qrs_ms for f in res.beat_fiducials] == [f.qrs_ms for f in d.beats]
    med = process_record(rec, PipelineConfig(intervals="median_beat"))
    fid = med.analysis_fiducials
    assert med.beat_fiducials is None
    assert (med.features["qrs_ms"], med.features["pr_ms"]) == (fid.qrs_ms, fid.pr_ms)


def test_a_wave_in_fewer_than_half_the_beats_is_absent():
    # 5 beats delineated (one not), P in 2 of them: no P; T end in 3 of 5: QT reported.
    beats = [_fid((100, 190), (0, 80), 500), _fid((100, 200), (10, 90), 520),
             _fid((100, 210), None, 540), _fid((100, 180), None, None),
             _fid((100, 220), None, None), None]
    iv = record_intervals(beats[0], beats, "beats")
    assert iv == {"p_ms": None, "pr_ms": None, "qrs_ms": 100.0, "qt_ms": 420.0}
    beats[2] = _fid((100, 210), (20, 110), 540)  # now 3 of 5
    assert record_intervals(None, beats, "beats")["p_ms"] == 80.0  # median of 80, 80, 90
    assert record_intervals(None, beats, "beats")["pr_ms"] == 90.0  # 100, 90, 80
    assert record_intervals(beats[3], beats, "median_beat")["qt_ms"] is None
    assert record_intervals(None, [None, None], "beats") == dict.fromkeys(
        ("p_ms", "pr_ms", "qrs_ms", "qt_ms"))
    with pytest.raises(ValueError, match="unknown interval source 'mean'"):
        record_intervals(beats[0], beats, "mean")
    with pytest.raises(ValueError, match="unknown interval source"):
        PipelineConfig(intervals="mean")
    with pytest.raises(ValueError, match="needs per_beat"):
        delineate_signal(_record(), FS, LEADS, per_beat=False, intervals="beats")


def test_pipeline_config_key_unchanged_by_the_default_source():
    # caches are keyed on PipelineConfig.to_dict(): the median-beat source adds nothing
    assert "intervals" not in PipelineConfig(intervals="median_beat").to_dict()
    assert PipelineConfig(intervals="beats").to_dict()["intervals"] == "beats"


def test_cli_intervals_flag(tmp_path, capsys):
    assert sorted(INTERVAL_SOURCES_CLI) == sorted(INTERVAL_SOURCES)  # spelled in two places
    x = _record()
    wfdb.wrsamp("built", fs=FS, units=["mV"] * 3, sig_name=list(LEADS),
                p_signal=x.T.astype(np.float64) / 1000.0, fmt=["16"] * 3,
                write_dir=str(tmp_path))
    path = str(tmp_path / "built")
    assert cli_main(["delineate", path, "--json", "--no-per-lead", "--intervals", "beats"]) == 0
    out = json.loads(capsys.readouterr().out)
    per_beat = [b["global"] for b in out["beats"]]
    assert out["interval_source"] == "beats"
    assert out["intervals"]["qrs_ms"] == float(np.median([b["qrs_ms"] for b in per_beat]))
    assert out["intervals"]["qt_ms"] == float(np.median([b["qt_ms"] for b in per_beat]))
    assert cli_main(["delineate", path, "--json", "--no-per-lead",
                     "--intervals", "median_beat"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intervals"] == out["intervals_median_beat"]
    assert out["intervals"]["qrs_ms"] == out["median_beat"]["qrs_ms"]
    # `measure` prints the pipeline's features from the source asked for, of the record as
    # the reader gives it (its quality check leaves this noise-free lead II out as clipped)
    built = open_source(tmp_path).read("built")
    for source in ("beats", "median_beat"):
        assert cli_main(["measure", path, "--json", "--intervals", source]) == 0
        row = json.loads(capsys.readouterr().out)
        want = process_record(built, PipelineConfig(intervals=source)).features
        assert row["qrs_ms"] == round(want["qrs_ms"], 1) and row["qt_ms"] == round(want["qt_ms"], 1)
    with pytest.raises(SystemExit):
        cli_main(["measure", path, "--intervals", "mean"])


@pytest.mark.parametrize("name", ["1", "93"])  # a sinus record and a ventricular-paced one
def test_confidence_delineates_each_beat_as_the_beats_source_does(ludb_dir, name):
    """`BeatResult.confidence()` (what `ecgwb measure --json` and the Data view show) reads
    each kept beat as the ``beats`` interval source measures it — its own RR, a paced beat
    from its spike — so the beats and their spread are the same whichever source reports
    the values."""
    from ecgcore.io import read_wfdb

    record = read_wfdb(ludb_dir / "data" / name)
    median = process_record(record)
    beats = process_record(record, PipelineConfig(intervals="beats"))
    assert median.beat_fiducials is None and beats.beat_fiducials is not None
    a, b = median.confidence(), beats.confidence()
    for key in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
        assert (a[key]["n_beats"], a[key]["iqr_ms"]) == (b[key]["n_beats"], b[key]["iqr_ms"])
    assert a["qrs_ms"]["n_beats"] >= 3
    assert (median.pacing is not None and median.pacing.paced) == (name == "93")
