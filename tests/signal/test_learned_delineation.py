"""The learned per-lead QRS segmenter: labels, decoding, checkpoints and the cross-validation bench."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgwb.bench.delineation import learned_cv, learned_cv_table
from ecgcore.checkpoint import CheckpointError
from ecgcore.io import read_wfdb
from ecgcore.io.ludb import LUDB_ANNOTATORS, _lead_waves, list_ludb_records
from ecgcore.signal.clean import resample
from ecgcore.signal.learned_delineation import (
    QRS,
    QRSUNet,
    TrainConfig,
    UNetConfig,
    global_qrs,
    lead_qrs,
    load_delineator,
    ludb_lead_labels,
    save_delineator,
    segment,
    train_delineator,
)
from ecgcore.signal.pipeline import process_record

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


def test_learned_cv_scores_each_record_only_with_the_other_half(tmp_path, ludb_dir):
    names = ["1", "3", "5", "7"]
    per_record = learned_cv(ludb_dir, tmp_path, steps=2, records=names)
    # Every record is held out exactly once, by the model trained on the other half.
    for fold, keep in (("odd_positions", names[0::2]), ("even_positions", names[1::2])):
        trained = json.loads((tmp_path / f"train_{fold}" / "config.json").read_text())
        assert trained["training"]["records"] == keep
        scored = set(per_record.loc[per_record["trained_on"] == fold, "record"])
        assert scored == set(names) - set(keep)
    assert len(per_record) == 4 * 2 * 2  # records × (median, beats) × k in (1, 2)
    table = learned_cv_table(per_record)
    assert set(table["decoding"]) == {"median, k=1", "median, k=2", "beats, k=1", "beats, k=2"}
    pooled = table[table["subset"] == "pooled"]
    assert len(pooled) == 4 and (pooled["n"] <= 4).all()
