"""From a dataset spec to its preprocessed cache: used as is, or built once and reused."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ecgcore.data.cache import CacheOptions, preprocess
from ecgcore.data.spec import ConfigError, DataConfig
from ecgcore.data.store import ECGCache
from ecgcore.signal.pipeline import PipelineConfig


def resolve_cache(data: DataConfig, array: str, cache_root: Path, progress: bool = True) -> ECGCache:
    """The cache for ``data.path``: used as is when it is a cache, else built (or reused)
    under ``cache_root``. ConfigError names the folder when it cannot serve ``array``."""
    if not data.path:
        raise ConfigError("data.path is not set: give --data DIR or set data.path in the config")
    path = Path(data.path)
    if not path.exists():
        raise ConfigError(f"data.path {path}: no such folder")
    if (path / "cache.json").exists():
        cache = ECGCache(path)
        pipe = cache.info["pipeline"]
        if data.train_on == "beats":
            cache.array("sequences")  # single beats live in the sequences array
        if pipe["window"] != data.window or float(cache.info["fs"]) != data.fs:
            raise ConfigError(f"{path}: cache has window {pipe['window']} at {cache.info['fs']} Hz, "
                              f"config asks for {data.window} at {data.fs} Hz")
        cache.array(array)  # fails clearly when the cache lacks this array
        return cache
    options = CacheOptions(sequences=array == "sequences" or data.train_on == "beats",
                           signals=array == "signals", lead_map=data.lead_map or ())
    pipeline = PipelineConfig(target_fs=data.fs, window=data.window)
    suffix = "".join(s for s, on in (("_seq", options.sequences), ("_sig", options.signals)) if on)
    if options.lead_map:  # the same folder read with another map is another cache
        pairs = ",".join(f"{a}={b}" for a, b in sorted(options.lead_map))
        suffix += "_map" + hashlib.sha1(pairs.encode()).hexdigest()[:8]
    out = Path(cache_root) / f"{path.resolve().name}_{data.window}_{data.fs:g}Hz{suffix}"
    summary = preprocess(path, out, pipeline, options, labels=data.labels, progress=progress)
    if summary.n_ok == 0:
        raise ConfigError(f"{path}: no record could be used ({dict(summary.reasons)})")
    return ECGCache(out)
