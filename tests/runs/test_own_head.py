"""A supervised run's own head in `ecgwb evaluate`, with and without extra inputs (issue 19).

Two tiny ECG-JEPA runs (dim 16, one block; one pre-training and one head epoch) on the same
160 PTB-XL demo records and task ``superclass_NORM``: one plain, one hybrid whose embedding
(and so its head) also reads two classical features (``rr_mean_ms``, ``qrs_ms``) as extra
inputs. The own-head AUROC of ``evaluation.json`` must equal scikit-learn's
``roc_auc_score`` on the head's probabilities computed here from the checkpoint and the
cache (signals / scale_uv, the extras from the records table), on the test split's labelled
records. The runs are plumbing checks at tiny width, never findings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from ecgcore.checkpoint import load_model
from ecgcore.data.store import ECGCache
from ecgcore.runs.evaluation import evaluate_run
from trainer.config import load_config
from trainer.run import train

REPO = Path(__file__).resolve().parents[2]
N_RECORDS = 160
LABEL = "superclass_NORM"
EXTRA = ["rr_mean_ms", "qrs_ms"]
TINY = ["model.dim=16", "model.depth=1", "model.heads=2", "model.predictor_dim=8",
        "model.patch_seconds=0.5", "optim.lr=0.003", "data.batch_size=32", "optim.patience=50",
        ("stages=[{name: pretrain, max_epochs: 1}, {name: finetune, uses_labels: true, "
         "freeze_backbone: true, max_epochs: 1}]")]


@pytest.fixture(scope="module")
def runs(demo_dir, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("own_head")
    data = root / "demo160"
    data.mkdir()
    pd.read_csv(demo_dir / "ptbxl_database.csv").head(N_RECORDS).to_csv(
        data / "ptbxl_database.csv", index=False)
    (data / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (data / "records100").symlink_to(demo_dir / "records100")
    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, extra in (("plain", []), ("hybrid", EXTRA)):
            sets = [f"data.path={data}", "data.fs=100", f"data.task=[{LABEL}]", *TINY]
            if extra:
                sets += [f"model.hybrid_features={len(extra)}", f"data.extra=[{', '.join(extra)}]"]
            cfg = load_config(REPO / "trainer" / "configs" / "ecg_jepa.yaml", sets)
            out[name] = train(cfg, root / f"runs_{name}", progress=False)
    finally:
        torch.set_num_threads(threads)
    return out


def _head_auroc_here(run: Path, dataset: str) -> tuple[float, int, np.ndarray]:
    """The head's AUROC on the run's labelled test records, computed from the files."""
    model, prep = load_model(run)
    cache = ECGCache(Path(dataset))
    records = cache.records.reset_index(drop=True)
    test = set(json.loads((run / "split.json").read_text())["test"])
    rows = np.flatnonzero(records["record_id"].astype(str).isin(test).to_numpy())
    y = records.loc[rows, LABEL].astype(float).to_numpy()
    signals = np.nan_to_num(np.asarray(cache.array("signals")[rows], dtype=np.float32))
    x = torch.from_numpy(signals / np.float32(prep["scaler"]["scale_uv"]))
    extra = None
    if prep["extra"]:
        values = records.loc[rows, prep["extra"]].astype(float).to_numpy(dtype=np.float32)
        extra = torch.from_numpy(np.nan_to_num(values))
    with torch.no_grad():
        p = torch.sigmoid(model.predict_logits(x, extra=extra)).numpy()[:, 0]
    ok = np.isfinite(y)
    return float(roc_auc_score(y[ok], p[ok])), int(ok.sum()), p


@pytest.mark.parametrize("name", ["plain", "hybrid"])
def test_own_head_auroc_is_sklearns_on_the_heads_probabilities(runs, name):
    run = runs[name]
    ev = evaluate_run(run, n_boot=20, models=("logreg_l2",))
    down = ev["downstream"]
    assert down["scope"] == "test" and down["label"] == [LABEL]
    own = [r for r in down["rows"] if r["input"] == "own_head"]
    assert len(own) == 1, f"{name}: no own-head row in {[r['input'] for r in down['rows']]}"
    want, n, _ = _head_auroc_here(run, ev["dataset"])
    assert own[0]["n"] == n
    assert own[0]["auroc"] == pytest.approx(want, abs=1e-9)
    # the report's main row is the model's own head (a supervised model judged as trained)
    assert down["main"]["input"] == "own_head" and down["main"]["auroc"] == own[0]["auroc"]


def test_the_hybrid_head_reads_its_extra_inputs(runs):
    """The extras matter to the hybrid's probabilities (so scoring without them, or with
    zeros, would be a different head), and the run stores what it reads."""
    model, prep = load_model(runs["hybrid"])
    assert prep["extra"] == EXTRA and set(prep["extra_stats"]) == set(EXTRA)
    assert not load_model(runs["plain"])[1]["extra"]
    x = torch.zeros(4, *model.input_shape)
    extra = torch.tensor([[600.0, 80.0], [900.0, 80.0], [1200.0, 120.0], [700.0, 100.0]])
    with torch.no_grad():
        a = model.predict_logits(x, extra=extra)
        b = model.predict_logits(x, extra=torch.zeros_like(extra))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="needs extra"):
        model.predict_logits(x)
