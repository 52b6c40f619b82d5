"""The learned per-lead wave segmenter: labels, decoding, checkpoints, the shipped weights
(the default per-lead method) and the k-fold bench."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.checkpoint import CheckpointError
from ecgcore.io import read_wfdb
from ecgcore.io.ludb import LUDB_ANNOTATORS, _lead_waves, list_ludb_records
from ecgcore.signal.clean import resample
from ecgcore.signal.learned_delineation import (
    BG,
    QRS,
    SHIPPED,
    P,
    QRSUNet,
    SegmenterEnsemble,
    T,
    TrainConfig,
    UNetConfig,
    global_qrs,
    lead_fiducials,
    lead_qrs,
    lead_waves,
    load_delineator,
    ludb_lead_labels,
    save_delineator,
    segment,
    shipped_segmenter,
    train_delineator,
    train_or_load,
)
from ecgcore.signal.pipeline import process_record
from ecgcore.signal.record_delineation import delineate_signal
from ecgwb.bench._delineation_cv import fold_assignment, score_lead_marks
from ecgwb.bench.delineation import learned_cv, learned_cv_table
from ecgwb.cli import main as ecgwb_main

TINY = UNetConfig(widths=(4, 8), kernel=5)


def test_lead_qrs_joins_notches_and_global_takes_kth_extremes():
    labels = np.zeros((3, 200), dtype=np.int8)
    labels[0, 50:70] = QRS
    labels[0, 75:90] = QRS  # a 5-sample notch inside the same QRS
    labels[1, 55:95] = QRS
    labels[1, 150:170] = QRS  # the next beat, out of reach of r=70
    on, off = lead_qrs(labels, r=70, fs=500.0)
    assert list(on) == [50, 55, -1] and list(off) == [89, 94, -1]
    assert global_qrs(on, off, k=1) == (50, 94)
    assert global_qrs(on, off, k=2) == (55, 89)
    assert global_qrs(np.array([-1]), np.array([-1])) is None


def test_ludb_labels_follow_the_expert_marks(ludb_dir):
    record = ludb_dir / "data" / "1"
    n = read_wfdb(record).signal.shape[1]
    labels = ludb_lead_labels(record, n)
    assert labels.shape == (12, n) and set(np.unique(labels)) == {-1, 0, 1, 2, 3}
    lead = list(LUDB_ANNOTATORS).index("II")
    waves = _lead_waves(record, LUDB_ANNOTATORS["II"])
    qrs = waves["qrs"]
    on, _, off = qrs[1]
    assert (labels[lead, on : off + 1] == QRS).all()
    assert labels[lead, on - 1] != QRS and labels[lead, off + 1] != QRS
    first = min(int(w[w >= 0].min()) for w in waves.values() if w.size)
    assert first > 0 and (labels[lead, :first] == -1).all()  # before the annotated span
    assert labels[lead, first] != -1


def test_train_save_load_round_trip_and_other_rates(tmp_path, ludb_dir):
    record = list_ludb_records(ludb_dir)[0]
    clean = process_record(read_wfdb(record)).signal
    labels = ludb_lead_labels(record, clean.shape[1])
    model = train_delineator([clean], [labels], TINY, TrainConfig(steps=3, batch=4))
    out = save_delineator(tmp_path / "m", model, {"k": 2}, training={"records": [record.name]})
    loaded, decode = load_delineator(out)
    assert decode == {"k": 2}
    x = clean[:2, :1000]
    assert np.array_equal(segment(model, x), segment(loaded, x))
    # At 250 Hz the net sees the lead resampled to 500 Hz; each sample gets the label of
    # its own instant.
    x250 = resample(x, 500.0, 250.0)
    got = segment(model, x250, 250.0)
    assert got.shape == x250.shape
    assert np.array_equal(got, segment(model, resample(x250, 250.0, 500.0))[:, ::2])


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
    out = save_delineator(tmp_path / "m", QRSUNet(TINY).eval(), {"k": 1})
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "model": "something_else"}))
    with pytest.raises(CheckpointError, match="expected 'qrs_unet'"):
        load_delineator(out)


def test_lead_waves_join_notches_and_drop_flicker():
    labels = np.full((1, 400), BG, dtype=np.int8)
    labels[0, 10:40] = P
    labels[0, 60:80] = QRS
    labels[0, 85:100] = QRS   # 4 background samples (8 ms) inside the QRS: one wave
    labels[0, 150:155] = T    # 10 ms of T: flicker, below the 20 ms shortest wave
    labels[0, 200:300] = T
    waves = lead_waves(labels, 500.0)
    assert list(waves[(0, "p_on")]) == [10] and list(waves[(0, "p_off")]) == [39]
    assert list(waves[(0, "qrs_on")]) == [60] and list(waves[(0, "qrs_off")]) == [99]
    assert list(waves[(0, "t_on")]) == [200] and list(waves[(0, "t_off")]) == [299]


def test_lead_fiducials_give_each_beat_its_own_waves():
    fs, n = 500.0, 1200
    labels = np.full((2, n), BG, dtype=np.int8)
    x = np.zeros((2, n))
    for r in (300, 800):  # two beats in lead 0: P, QRS around R, T with its peak at r + 150
        labels[0, r - 120: r - 60] = P
        labels[0, r - 40: r + 40] = QRS
        labels[0, r + 100: r + 200] = T
        x[0, r + 100: r + 200] = np.sin(np.linspace(0, np.pi, 100))
    labels[1, 280:330] = QRS  # lead 1: the first QRS only, no P or T
    got = lead_fiducials(labels, x, np.array([300, 800]), fs)
    a, b = got[0][0], got[1][0]
    assert (a.p_on, a.p_off, a.qrs_on, a.qrs_off, a.t_off) == (180, 239, 260, 339, 499)
    assert abs(a.t_peak - 450) <= 1 and a.r == 300
    assert (b.p_on, b.qrs_on, b.t_off) == (680, 760, 999)  # not the first beat's waves
    assert got[0][1].qrs_on == 280 and got[0][1].p_on is None and got[0][1].t_off is None
    assert got[1][1] is None  # no QRS within 100 ms of the second R in lead 1


def test_shipped_segmenter_is_the_default_per_lead_method(ludb_dir):
    """The shipped weights load, run through `delineate_signal`, and place LUDB's per-lead
    QRS boundaries where the experts do (record 1 is among its training records: this checks
    the weights and the wiring; held-out figures are `ecgwb bench delineation`'s)."""
    training = json.loads((SHIPPED / "config.json").read_text())["training"]
    assert len(training["records"]) == 100 and "1" in training["records"]
    path = ludb_dir / "data" / "1"
    rec = read_wfdb(path)
    d = delineate_signal(rec.signal, rec.fs, tuple(rec.leads))
    assert d.lead_method == "learned" and d.to_dict()["lead_method"] == "learned"
    found = {(i, a): np.array([getattr(pl[i], a) for pl in d.per_lead
                               if pl[i] is not None and getattr(pl[i], a) is not None], float)
             for i in range(12) for a in ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")}
    rows = [r for r in score_lead_marks(path, rec.fs, found) if r["kind"] == "mark"]
    for wave, side in (("QRS", "on"), ("QRS", "off")):
        mine = [r for r in rows if (r["wave"], r["side"]) == (wave, side)]
        hits = [abs(r["error_ms"]) for r in mine if r["hit"]]
        assert len(hits) >= 0.98 * len(mine) and np.median(hits) <= 6.0
    with pytest.raises(ValueError, match="unknown per-lead method"):
        delineate_signal(rec.signal, rec.fs, tuple(rec.leads), lead_method="nope")


def test_shipped_segmenter_agrees_with_the_rules_on_a_record_it_never_saw(ptbxl500):
    """PTB-XL record 9 (not LUDB): each lead's learned QRS lies within the beat's global QRS
    (the rules, on all leads) give or take 20 ms, in nearly every lead of every kept beat."""
    from ecgcore.io import read_wfdb as read

    rec = read(ptbxl500 / "records500" / "00000" / "00009_hr")
    d = delineate_signal(rec.signal, rec.fs, tuple(rec.leads))
    lead_of = dict(zip(d.lead_r.tolist(), d.per_lead))
    tol = round(0.020 * rec.fs)
    inside = total = 0
    for g, r in zip(d.beats, d.beat_r.tolist()):
        for lf in lead_of[r]:
            if g is None:
                continue
            total += 1
            inside += lf is not None and g.qrs_on - tol <= lf.qrs_on and lf.qrs_off <= g.qrs_off + tol
    assert total >= 60 and inside >= 0.9 * total


def test_segmenter_ensemble_averages_models_and_polarity(ptbxl500):
    """An ensemble of one model is that model; with ``flip`` a lead and its inversion get the
    same labels (each pass sees both); models of two shapes are refused."""
    rec = read_wfdb(ptbxl500 / "records500" / "00000" / "00009_hr")
    x = process_record(rec).signal[:, :2500]
    model = shipped_segmenter()
    alone = segment(model, x)
    assert np.mean(segment(SegmenterEnsemble([model]), x) == alone) > 0.999
    both = SegmenterEnsemble([model], flip=True)
    flipped = segment(both, x)
    assert np.array_equal(flipped, segment(both, -x))
    assert not np.array_equal(segment(model, -x), alone)  # the single model is not symmetric
    assert np.mean(flipped == alone) > 0.95  # and the average stays close to it
    d = delineate_signal(rec.signal, rec.fs, tuple(rec.leads), lead_model=both)
    assert sum(f is not None for pl in d.per_lead for f in pl) >= 0.9 * 12 * len(d.per_lead)
    with pytest.raises(ValueError, match="architecture"):
        SegmenterEnsemble([model, QRSUNet(UNetConfig(widths=(4, 8)))])
    with pytest.raises(ValueError, match="at least one"):
        SegmenterEnsemble([])


def test_train_or_load_reuses_only_a_matching_checkpoint(tmp_path, ludb_dir):
    record = list_ludb_records(ludb_dir)[0]
    clean = process_record(read_wfdb(record)).signal
    labels = ludb_lead_labels(record, clean.shape[1])
    cfg = TrainConfig(steps=2, batch=2)
    first = train_or_load(tmp_path / "m", [clean], [labels], {"records": ["1"]}, cfg)
    stamp = (tmp_path / "m" / "weights.safetensors").stat().st_mtime_ns
    again = train_or_load(tmp_path / "m", [clean], [labels], {"records": ["1"]}, cfg)
    assert (tmp_path / "m" / "weights.safetensors").stat().st_mtime_ns == stamp
    x = clean[:1, :800]
    assert np.array_equal(segment(first, x), segment(again, x))
    train_or_load(tmp_path / "m", [clean], [labels], {"records": ["1", "2"]}, cfg)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["training"] == {
        "records": ["1", "2"]}


def test_learned_cv_holds_each_record_out_of_its_own_model(tmp_path, ludb_dir):
    names = ["1", "3", "5", "7"]
    lead_rows, qrs_rows = learned_cv(ludb_dir, tmp_path, folds=2, steps=2, records=names)
    fold = fold_assignment(len(names), 2)
    for f in (0, 1):
        trained = json.loads((tmp_path / f"fold{f}" / "config.json").read_text())["training"]
        assert trained["records"] == [n for n, g in zip(names, fold) if g != f]
        held = {n for n, g in zip(names, fold) if g == f}
        assert set(qrs_rows.loc[qrs_rows["fold"] == f, "record"]) == held
        assert set(lead_rows.loc[lead_rows["fold"] == f, "record"]) == held
    assert len(qrs_rows) == 4 * 2 * 2  # records × (median, beats) × k in (1, 2)
    # a second seed trains beside the first and both score as one ensemble
    lead2, _ = learned_cv(ludb_dir, tmp_path, folds=2, steps=2, records=names, seeds=(0, 1))
    seed1 = json.loads((tmp_path / "fold0-seed1" / "config.json").read_text())["training"]
    assert seed1["seed"] == 1 and seed1["records"] == [n for n, g in zip(names, fold) if g != 0]
    assert set(lead2["record"]) == set(names)
    table = learned_cv_table(qrs_rows)
    assert set(table["decoding"]) == {"median, k=1", "median, k=2", "beats, k=1", "beats, k=2"}
    assert (table["n"] <= 4).all()


def test_segmenter_command_trains_on_a_ludb_folder(tmp_path, ludb_dir, capsys):
    data = tmp_path / "ludb" / "data"
    data.mkdir(parents=True)
    for f in (ludb_dir / "data").glob("1.*"):
        (data / f.name).symlink_to(f)
    assert ecgwb_main(["segmenter", "--data", str(tmp_path / "ludb"), "--steps", "2",
                       "--out", str(tmp_path / "m")]) == 0
    training = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert training["records"] == ["1"] and training["steps"] == 2
    load_delineator(tmp_path / "m")
    assert ecgwb_main(["segmenter", "--data", str(tmp_path / "empty"), "--steps", "2"]) != 0
    assert "empty" in capsys.readouterr().err


def test_acquisition_augmentation_keeps_the_crop_and_its_labels_aligned():
    from ecgcore.signal.learned_delineation import _acquired

    rng = np.random.default_rng(0)
    t = np.arange(1500) / 500.0
    x = np.where(np.abs(t - 1.5) < 0.04, 1.0, 0.0)  # a 80 ms "QRS" at 1.5 s
    changed = 0
    for _ in range(40):
        y = _acquired(x, rng)
        assert y.shape == x.shape and np.isfinite(y).all()
        changed += not np.array_equal(y, x)
        # the wave stays where its labels say it is (a band limit or noise, not a shift)
        assert abs(int(np.argmax(np.convolve(y, np.ones(40), "same"))) - 750) <= 5
    assert changed >= 30  # each of the four is drawn with probability 1/2 or 1/4


def test_augmented_training_runs(ludb_dir):
    record = list_ludb_records(ludb_dir)[0]
    clean = process_record(read_wfdb(record)).signal
    labels = ludb_lead_labels(record, clean.shape[1])
    model = train_delineator([clean], [labels], TINY, TrainConfig(steps=2, batch=4, augment=True))
    assert segment(model, clean[:1, :1000]).shape == (1, 1000)


def test_cli_lead_methods_are_the_library_ones():
    from ecgcore.signal.record_delineation import DEFAULT_LEAD_METHOD, LEAD_METHODS
    from ecgwb.cli import LEAD_METHODS_CLI

    assert LEAD_METHODS_CLI == LEAD_METHODS and LEAD_METHODS_CLI[0] == DEFAULT_LEAD_METHOD
