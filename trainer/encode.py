"""`ecgwb encode`: every record of a dataset through a trained model → one Parquet table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ecgcore.checkpoint import load_model
from ecgcore.data.datasets import CachedDataset
from ecgcore.models.triplet import call_encode
from trainer.config import validate_config
from trainer.data import resolve_cache


@torch.no_grad()
def encode_cache(model: torch.nn.Module, ds: CachedDataset, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent means [N, L] and scales [N, L] (or None) of a dataset, in order."""
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)
    means, scales = [], []
    for batch in loader:  # beat masks (sequence models) and scalar inputs (hybrid models)
        enc = call_encode(model, batch["x"], batch.get("mask"), batch.get("extra"))
        means.append(np.asarray(enc.mean))
        if enc.scale is not None:
            scales.append(np.asarray(enc.scale))
    return np.concatenate(means), (np.concatenate(scales) if scales else None)


def encode_run(run: Path, data: Path | None, out: Path) -> Path:
    model, prep = load_model(run)
    cfg = validate_config(yaml.safe_load((run / "config.yaml").read_text()), str(run / "config.yaml"))
    if data is not None:
        cfg.data.path = str(Path(data).resolve())
    cache = resolve_cache(cfg.data, prep["array"], run.parent / ".cache")
    ds = CachedDataset(cache, array=prep["array"], leads=prep["lead_set"], scale_uv=prep["scaler"]["scale_uv"],
                       extra_columns=prep.get("extra", ()))
    mean, scale = encode_cache(model, ds)
    table = pd.DataFrame(mean, columns=[f"z{i}" for i in range(mean.shape[1])])
    if scale is not None:
        table = pd.concat([table, pd.DataFrame(scale, columns=[f"z{i}_scale" for i in range(scale.shape[1])])], axis=1)
    records = cache.records.reset_index(drop=True)
    table = pd.concat([records[["record_id"]], table, records.drop(columns=["record_id"])], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    return out
