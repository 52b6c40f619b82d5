"""`ecgwb bench cnn --time-steps`: real batches of the fold-0 training records through the
configured model, and an estimate that is the arithmetic of what it timed."""

import argparse
import math

from ecgwb.bench.cnn import time_steps


def test_time_steps_times_real_batches_and_estimates_the_run(family_cache, one_thread, capsys):
    args = argparse.Namespace(folds=5, epochs=3, variant="small", batch_size=8, time_steps=2, score="test",
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


def test_sl_vs_cnn_trains_the_cnn_at_its_shipped_recipe(tmp_path):
    """`bench families --only sl_vs_cnn` must not weaken the comparator: without --cnn-epochs
    its cnn_baseline optimiser settings are the shipped config's; with it, every epoch runs."""
    from ecgwb.bench.families import CONFIGS, _model_sets
    from trainer.config import load_config

    shipped = load_config(CONFIGS / "cnn_baseline.yaml", [])
    sets = _model_sets(tmp_path, 100.0, (10, 10, 30), None, 10)
    cnn = load_config(CONFIGS / "cnn_baseline.yaml", sets["cnn_baseline"])
    assert cnn.optim == shipped.optim and cnn.model == shipped.model
    assert cnn.data.model_dump(exclude={"path"}) == shipped.data.model_dump(exclude={"path"})
    shorter = load_config(CONFIGS / "cnn_baseline.yaml", _model_sets(tmp_path, 100.0, (10, 10, 30), 7, 10)["cnn_baseline"])
    assert (shorter.optim.max_epochs, shorter.optim.patience) == (7, 7)
    sl = load_config(CONFIGS / "ecg_sl.yaml", sets["ecg_sl"])
    assert [(s.name, s.max_epochs, s.uses_labels) for s in sl.stages] == [
        ("beat_ae", 10, False), ("masked", 10, False), ("finetune", 30, True)]
    assert sl.optim.patience == 10


def test_recipe_trials_keep_the_validation_records_out_of_training(tmp_path):
    """The recipe trains on its validation records (data.val_in_train); `--score val` scores
    them, so a trial must train without them, whatever else it sets."""
    import argparse

    from ecgwb.bench.cnn import _config

    args = argparse.Namespace(folds=5, epochs=None, variant=None, batch_size=None,
                              set=["data.val_in_train=true"], score="val")
    assert not _config(args, tmp_path, fold=1).data.val_in_train
    args.score = "test"
    assert _config(args, tmp_path, fold=1).data.val_in_train
