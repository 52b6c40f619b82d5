"""`ecgwb preprocess`: a dataset folder → cached arrays plus a manifest.

Layout of a cache folder::

    cache.json          pipeline config, source, fs, leads, window, counts
    manifest.csv        one row per record: record_id, status (ok / skipped), reason,
                        n_beats, n_kept, quality, row (index into the arrays), bad_leads
                        (leads left out of a measured record: "V1: reason; V4: reason")
    records.parquet     one row per ok record: metadata, labels, classical features,
                        fiducials (samples in the beat window)
    median.npy          [N, leads, W] float32 µV median beats
    fiducials.npy       [N, 7] float32 (FIDUCIAL_KEYS; NaN = absent)
    sequences.npy       [N, max_beats, leads, W] and sequence_mask.npy [N, max_beats] (optional)
    signals.npy         [N, leads, seconds × fs] cleaned 10-s signals (optional)
    shards/             one file per record, so an interrupted or repeated run reuses work

Records are processed on all cores; a bad record is skipped with its reason and never
stops the dataset. Records may have any leads: the arrays hold the union of the records'
leads (see :func:`ecgcore.io.lead_layout`), NaN rows (zeros in ``signals``) where a record
lacks a lead or left it out.

Several processes may preprocess into the same folder at once (two trainings on one data
folder): the folder's lock (:mod:`ecgcore.data.locking`) lets one build while the others
wait and then reuse its work, and the assembled files are staged and moved into place
atomically, so a process reading the cache never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ecgcore.data.locking import folder_lock, publish, remove_stale_staging, staging_folder
from ecgcore.io import lead_layout, open_source
from ecgcore.io.record import RecordError
from ecgcore.signal.fiducials import FIDUCIAL_KEYS  # the order the cache stores them in
from ecgcore.signal.pipeline import PipelineConfig, process_record
from ecgcore.signal.sequences import beat_sequence

CACHE_VERSION = 8  # 8: a regular rhythm's P acceptance (fiducials; DELINEATION log item 35);
# 7: a one-lead record's QRS duration from the learned segmenter (features); 6: two-lead QRS
# quiet duration, P locking over leads (fiducials); 5: one-lead records delineated as one
# lead (fiducials change); 4: P isolation 1.75 (fiducials change); 3: any leads, per-lead
# quality
#: The lead axis of each per-record array (absent: the array has none).
_LEAD_AXIS = {"median": 0, "signals": 0, "sequences": 1}


@dataclass(frozen=True)
class CacheOptions:
    """What to store besides median beats, and how to read the records.

    ``lead_map`` says what the records' lead names mean (``{'ECG': 'I'}`` or pairs; see
    :func:`ecgcore.leads.parse_lead_map`).
    """

    sequences: bool = False
    signals: bool = False
    signal_seconds: float = 10.0
    lead_map: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        pairs = self.lead_map.items() if isinstance(self.lead_map, dict) else self.lead_map
        object.__setattr__(self, "lead_map", tuple((str(a), str(b)) for a, b in pairs))

    def to_dict(self) -> dict:
        out = {"sequences": self.sequences, "signals": self.signals,
               "signal_seconds": self.signal_seconds}
        if self.lead_map:  # only when given, so that caches without one keep their key
            out["lead_map"] = dict(self.lead_map)
        return out


@dataclass
class PreprocessSummary:
    out_dir: Path
    n_records: int
    n_ok: int
    n_reused: int
    seconds: float
    reasons: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        lines = [f"{self.n_ok}/{self.n_records} records ok ({self.n_reused} reused from cache) "
                 f"in {self.seconds:.1f} s → {self.out_dir}"]
        for reason, n in self.reasons.most_common():
            lines.append(f"  skipped {n:>5}  {reason}")
        return "\n".join(lines)


def _config_hash(config: PipelineConfig, options: CacheOptions) -> str:
    blob = json.dumps({"pipeline": config.to_dict(), "options": options.to_dict(),
                       "version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _shard_name(record_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", record_id)


def _reason_class(message: str) -> str:
    """The reason without the file name and numbers, for the summary's counts."""
    problem = message.split(": ", 1)[-1]
    return re.sub(r"\d+(\.\d+)?", "N", problem)[:80]


# --- worker side -------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(source_path: str, labels: str | None, config: PipelineConfig,
                 options: CacheOptions, shard_dir: str, key: str, blas_threads: int | None = None
                 ) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    if blas_threads is not None:
        # Each pool process gets its share of the cores: OpenBLAS's own threads in every
        # process oversubscribe them (2 processes on 2 cores were slower than one:
        # docs/BENCHMARKS.md "Preprocessing processes and BLAS threads"). Kept for the
        # process's life in _WORKER.
        from threadpoolctl import threadpool_limits

        _WORKER["blas_limit"] = threadpool_limits(limits=blas_threads)
    source = open_source(source_path, labels=labels, lead_map=dict(options.lead_map) or None)
    _WORKER.update(source=source, config=config,
                   options=options, shard_dir=Path(shard_dir), key=key)


def _process_one(record_id: str) -> dict:
    src, config, options = _WORKER["source"], _WORKER["config"], _WORKER["options"]
    shard = _WORKER["shard_dir"] / _shard_name(record_id)
    try:
        record = src.read(record_id)
        res = process_record(record, config)
    except RecordError as exc:
        info = {"record_id": record_id, "status": "skipped", "reason": str(exc), "key": _WORKER["key"]}
        Path(f"{shard}.skip.json").write_text(json.dumps(info))
        return info
    except Exception as exc:  # a bug or an unforeseen file problem must not stop the dataset
        info = {"record_id": record_id, "status": "skipped",
                "reason": f"{record_id}: unexpected {type(exc).__name__}: {exc}", "key": _WORKER["key"]}
        Path(f"{shard}.skip.json").write_text(json.dumps(info))
        return info
    fid = np.array([np.nan if getattr(res.fiducials, k) is None else getattr(res.fiducials, k)
                    for k in FIDUCIAL_KEYS], dtype=np.float32)
    arrays = {"median": res.median, "fiducials": fid}
    if options.sequences:
        seq, mask = beat_sequence(res.signal, res.anchors, res.fs, config.beat_window, config.max_beats)
        arrays.update(sequences=seq, sequence_mask=mask)
    if options.signals:
        n = int(round(options.signal_seconds * res.fs))
        sig = np.zeros((res.signal.shape[0], n), dtype=np.float32)
        m = min(n, res.signal.shape[1])
        sig[:, :m] = np.nan_to_num(res.signal[:, :m])
        arrays["signals"] = sig
    info = {
        "record_id": record_id, "status": "ok", "reason": "",
        "n_beats": int(res.quality.keep.size), "n_kept": res.quality.n_kept,
        "quality": round(res.quality.score, 4), "key": _WORKER["key"],
        "fs": res.fs, "leads": list(res.leads), "missing_leads": list(record.missing_leads),
        "bad_leads": res.bad_leads, "features": res.features,
    }
    tmp = Path(f"{shard}.tmp.npz")
    np.savez(tmp, **arrays, info=np.frombuffer(json.dumps(info).encode(), dtype=np.uint8))
    os.replace(tmp, f"{shard}.npz")  # atomic: a killed run never leaves half a shard
    return info


def _read_shard(shard_dir: Path, record_id: str, key: str) -> dict | None:
    base = shard_dir / _shard_name(record_id)
    skip = Path(f"{base}.skip.json")
    if skip.exists():
        info = json.loads(skip.read_text())
        return info if info.get("key") == key else None
    npz = Path(f"{base}.npz")
    if npz.exists():
        with np.load(npz) as z:
            info = json.loads(z["info"].tobytes().decode())
        return info if info.get("key") == key else None
    return None


# --- main side ---------------------------------------------------------------------

def preprocess(
    source_path: str | Path,
    out_dir: str | Path,
    config: PipelineConfig = PipelineConfig(),
    options: CacheOptions = CacheOptions(),
    labels: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> PreprocessSummary:
    """Build (or refresh) the cache of ``source_path`` in ``out_dir``."""
    t0 = time.perf_counter()
    source = open_source(source_path, labels=labels)  # fails clearly on a missing/empty folder
    out = Path(out_dir)
    with folder_lock(out, message=f"{out}: another process is preprocessing into it; waiting"):
        remove_stale_staging(out)
        return _preprocess_locked(source_path, source, out, config, options, labels, workers,
                                  progress, t0)


def _preprocess_locked(source_path: str | Path, source, out: Path, config: PipelineConfig,
                       options: CacheOptions, labels: str | Path | None, workers: int | None,
                       progress: bool, t0: float) -> PreprocessSummary:
    shard_dir = out / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    key = _config_hash(config, options)
    ids = list(source.record_ids)

    infos: dict[str, dict] = {}
    for rid in ids:
        cached = _read_shard(shard_dir, rid, key)
        if cached is not None:
            infos[rid] = cached
    n_reused = len(infos)
    todo = [rid for rid in ids if rid not in infos]
    workers = workers or os.cpu_count() or 1
    init = (str(source_path), None if labels is None else str(labels), config, options, str(shard_dir), key)
    bar = tqdm(total=len(todo), desc="preprocess", unit="rec", disable=not progress or not todo)
    if todo and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(*init, threads)) as pool:
            for info in pool.map(_process_one, todo, chunksize=8):
                infos[info["record_id"]] = info
                bar.update()
    elif todo:
        _init_worker(*init)
        for rid in todo:
            infos[rid] = _process_one(rid)
            bar.update()
    bar.close()

    # A complete cache with the same labels stays untouched (other processes may be reading it).
    assembly_key = f"{key}:{_labels_fingerprint(labels)}"
    if not (n_reused == len(ids) and _cache_key(out) == assembly_key):
        with staging_folder(out) as stage:
            _assemble(out, stage, source, ids, infos, config, options, assembly_key)
            publish(stage, out, last="cache.json")
    reasons = Counter(_reason_class(i["reason"]) for i in infos.values() if i["status"] != "ok")
    n_ok = sum(i["status"] == "ok" for i in infos.values())
    return PreprocessSummary(out, len(ids), n_ok, n_reused, time.perf_counter() - t0, reasons)


def _labels_fingerprint(labels: str | Path | None) -> str:
    if labels is None:
        return "none"
    st = Path(labels).stat()
    return f"{Path(labels).resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _cache_key(out: Path) -> str | None:
    try:
        return json.loads((out / "cache.json").read_text()).get("key")
    except (OSError, ValueError):
        return None


def _bad_leads_text(info: dict) -> str:
    return "; ".join(f"{lead}: {why}" for lead, why in (info.get("bad_leads") or {}).items())


def _to_layout(name: str, value: np.ndarray, leads: list[str], layout: list[str]) -> np.ndarray:
    """A record's array with its lead axis in the cache's lead layout (absent leads: NaN,
    or 0 in ``signals``, which hold no NaN)."""
    axis = _LEAD_AXIS.get(name)
    if axis is None or list(leads) == layout:
        return value
    shape = list(value.shape)
    shape[axis] = len(layout)
    out = np.full(shape, 0.0 if name == "signals" else np.nan, dtype=value.dtype)
    for k, lead in enumerate(leads):
        index = [slice(None)] * value.ndim
        target = list(index)
        index[axis], target[axis] = k, layout.index(lead)
        out[tuple(target)] = value[tuple(index)]
    return out


def _assemble(out: Path, stage: Path, source, ids: list[str], infos: dict[str, dict],
              config: PipelineConfig, options: CacheOptions, key: str) -> None:
    """Write the arrays, tables and cache.json of ``out``'s shards into ``stage``."""
    from numpy.lib.format import open_memmap

    ok_ids = [rid for rid in ids if infos[rid]["status"] == "ok"]
    row_of = {rid: row for row, rid in enumerate(ok_ids)}
    manifest = pd.DataFrame([
        {"record_id": rid, "status": infos[rid]["status"], "reason": infos[rid].get("reason", ""),
         "n_beats": infos[rid].get("n_beats", 0), "n_kept": infos[rid].get("n_kept", 0),
         "quality": infos[rid].get("quality", np.nan),
         "row": row_of.get(rid, -1), "bad_leads": _bad_leads_text(infos[rid])}
        for rid in ids
    ])
    leads = list(lead_layout([lead for rid in ok_ids for lead in infos[rid]["leads"]]))
    shard_dir = out / "shards"
    arrays: dict[str, np.memmap] = {}
    rows = []
    for row, rid in enumerate(tqdm(ok_ids, desc="assemble", unit="rec", disable=len(ok_ids) < 2000)):
        info = infos[rid]
        with np.load(shard_dir / f"{_shard_name(rid)}.npz") as z:
            for name in z.files:
                if name == "info":
                    continue
                value = _to_layout(name, z[name], info["leads"], leads)
                if name not in arrays:
                    arrays[name] = open_memmap(stage / f"{name}.npy", mode="w+",
                                               dtype=value.dtype, shape=(len(ok_ids),) + value.shape)
                arrays[name][row] = value
        rows.append({"record_id": rid, **info["features"],
                     "missing_leads": ",".join(info.get("missing_leads", [])),
                     "bad_leads": _bad_leads_text(info)})
    for arr in arrays.values():
        arr.flush()
    fid = np.load(stage / "fiducials.npy") if ok_ids else np.zeros((0, len(FIDUCIAL_KEYS)))
    table = pd.DataFrame(rows)
    for j, k in enumerate(FIDUCIAL_KEYS):
        table[f"fid_{k}"] = fid[:, j] if len(table) else []
    meta = source.metadata
    if len(table) and meta is not None and len(meta):
        meta = meta.copy()
        meta.index = meta.index.astype(str)
        overlap = [c for c in meta.columns if c in table.columns]
        table = table.join(meta.drop(columns=overlap), on="record_id")
    table.to_parquet(stage / "records.parquet", index=False)
    manifest.to_csv(stage / "manifest.csv", index=False)
    first = infos[ok_ids[0]] if ok_ids else {}
    cache_info = {
        "version": CACHE_VERSION, "key": key, "source": str(Path(getattr(source, "root", "")) or ""),
        "name": getattr(source, "name", ""), "pipeline": config.to_dict(),
        "options": options.to_dict(), "fs": first.get("fs"), "leads": leads if ok_ids else None,
        "window_samples": int(arrays["median"].shape[-1]) if "median" in arrays else None,
        "fiducial_keys": list(FIDUCIAL_KEYS), "n_records": len(ids), "n_ok": len(ok_ids),
    }
    (stage / "cache.json").write_text(json.dumps(cache_info, indent=2, default=str))
    arrays.clear()  # close the memory maps before the files are moved
