"""`ecgwb bench cnn --time-steps`: real batches of the fold-0 training records through the
configured model, and an estimate that is the arithmetic of what it timed."""

import argparse
import math

from ecgwb.bench.cnn import time_steps


def test_time_steps_times_real_batches_and_estimates_the_run(family_cache, one_thread, capsys):
    args = argparse.Namespace(folds=5, epochs=3, variant="small", batch_size=8, time_steps=2,
                              set=["model.width=4"])
    out = time_steps(args, family_cache)
    assert out["variant"] == "small" and out["input"] == [12, 1000] and out["crop"] == 250
    assert out["steps_per_epoch"] == math.ceil(out["train_records"] / 8) and out["train_records"] > 20
    assert out["s_per_step"] > 0 and out["s_per_val_record"] > 0
    epoch = out["steps_per_epoch"] * out["s_per_step"] + out["val_records"] * out["s_per_val_record"]
    assert math.isclose(out["s_per_epoch"], epoch)
    assert out["epochs"] == 3 and out["s_per_fold"] > 3 * epoch and math.isclose(out["s_run"], 5 * out["s_per_fold"])
    assert "s per training step" in capsys.readouterr().out


def test_fold_scores_read_the_inner_validation_split_when_asked(cnn_run, family_cache):
    """`bench cnn --score val` (recipe trials) scores the run's validation records, never its test fold."""
    import json

    from ecgcore.data.store import ECGCache
    from ecgwb.bench.families import SUPERCLASSES, _fold_scores

    split = json.loads((cnn_run / "split.json").read_text())
    records = ECGCache(family_cache).records
    records = records.set_index(records["record_id"].astype(str))
    for name in ("val", "test"):
        p, y, ids = _fold_scores(cnn_run, family_cache, name)
        assert sorted(ids) == sorted(map(str, split[name])) and p.shape == (len(ids), len(SUPERCLASSES))
        assert (y == records.loc[ids, SUPERCLASSES].to_numpy(dtype=float)).all()
    assert not set(split["val"]) & set(split["test"])
