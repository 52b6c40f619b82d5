"""The run object's encode path against an input built here (issue 19's mutation target).

`Run.encode` must feed the model exactly what its ``preprocessing.json`` says: the cache
array it names, the lead subset in its order, µV divided by ``scale_uv``, NaN as 0, the
records' scalar inputs for hybrid models. Here the run folders are written by hand (weights
as safetensors, ``config.json``, ``preprocessing.json``, ``config.yaml``), the input is
built independently from the cache's arrays, and the latents must be the model's on that
input. The ``Preprocessing`` file format and its errors are checked on their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from ecgcore.checkpoint import write_checkpoint_files
from ecgcore.data.cache import CacheOptions, preprocess
from ecgcore.data.store import ECGCache
from ecgcore.files import PREPROCESSING, RUN_CONFIG
from ecgcore.models import create_model
from ecgcore.preprocessing import Preprocessing, PreprocessingError
from ecgcore.runs import Run, RunError
from ecgcore.signal.beats import WINDOWS
from ecgcore.signal.pipeline import PipelineConfig

FS = 100.0
N_RECORDS = 16
LEADS = ("V5", "II")  # a named subset, not in the cache's order
SCALE = 1234.5
EXTRA = ("rr_mean_ms", "qrs_ms")


@pytest.fixture(scope="module")
def cache(demo_dir, tmp_path_factory) -> ECGCache:
    root = tmp_path_factory.mktemp("encode_path")
    data = root / "demo16"
    data.mkdir()
    pd.read_csv(demo_dir / "ptbxl_database.csv").head(N_RECORDS).to_csv(
        data / "ptbxl_database.csv", index=False)
    (data / "scp_statements.csv").write_bytes((demo_dir / "scp_statements.csv").read_bytes())
    (data / "records100").symlink_to(demo_dir / "records100")
    out = root / "cache"
    preprocess(data, out, PipelineConfig(target_fs=FS), CacheOptions(signals=True), workers=1,
               progress=False)
    cache = ECGCache(out)
    assert len(cache) >= N_RECORDS - 2
    return cache


def _write_run(folder: Path, model: torch.nn.Module, prep: Preprocessing, cache: ECGCache) -> Path:
    write_checkpoint_files(folder, model.state_dict(), {"model": model.config.model_dump()},
                           prep.to_dict())
    (folder / RUN_CONFIG).write_text(yaml.safe_dump({"data": {"path": str(cache.path),
                                                              "fs": FS}}))
    return folder


def _prep(cache: ECGCache, **kw) -> Preprocessing:
    args = {"fs": FS, "window": "r400", "array": "median", "lead_set": list(LEADS),
            "cache_leads": cache.leads, "scale_uv": SCALE}
    args.update(kw)
    return Preprocessing.fitted(**args)


@pytest.fixture(scope="module")
def vae_run(cache, tmp_path_factory) -> Path:
    """A β-VAE (untrained, seeded) on two named leads of the median beats."""
    torch.manual_seed(0)
    width = cache.median.shape[-1]
    model = create_model("beta_vae", input_shape=(len(LEADS), width), latent_dim=3,
                         backbone={"kind": "small", "width": 0.25}).eval()
    return _write_run(tmp_path_factory.mktemp("vae_run"), model, _prep(cache), cache)


@pytest.fixture(scope="module")
def hybrid_run(cache, tmp_path_factory) -> Path:
    """A hybrid ECG-JEPA (untrained, seeded) on the 10-s signals with two scalar inputs."""
    torch.manual_seed(1)
    n = cache.array("signals").shape[-1]
    model = create_model("ecg_jepa", input_shape=(12, n), dim=16, depth=1, heads=2,
                         predictor_dim=8, patch_seconds=0.5, hybrid_features=2, fs=FS)
    stats = {c: (float(cache.records[c].mean()), float(cache.records[c].std())) for c in EXTRA}
    model.set_extra_normalization([stats[c][0] for c in EXTRA], [stats[c][1] for c in EXTRA])
    prep = _prep(cache, array="signals", lead_set="all", scale_uv=2000.0, extra=EXTRA,
                 extra_stats=stats)
    return _write_run(tmp_path_factory.mktemp("jepa_run"), model.eval(), prep, cache)


def _input_here(cache: ECGCache, array: str, leads: tuple[str, ...] | None, scale: float,
                rows: np.ndarray) -> torch.Tensor:
    x = np.asarray(cache.array(array)[rows], dtype=np.float32)
    if leads is not None:
        x = x[:, [list(cache.leads).index(name) for name in leads], :]
    return torch.from_numpy(np.nan_to_num(x) / np.float32(scale))


def test_encode_feeds_the_named_leads_scaled(vae_run, cache):
    from ecgcore.checkpoint import load_model

    run = Run(vae_run)
    model, _ = load_model(vae_run)
    assert run.leads == list(LEADS) and run.scale_uv == SCALE and run.fs == FS
    rows = np.array([5, 0, 9, 3])  # any order: the latents follow it
    mean, scale = run.encode(rows)
    with torch.no_grad():
        enc = model.encode(_input_here(cache, "median", LEADS, SCALE, rows))
    np.testing.assert_allclose(mean, enc.mean.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(scale, enc.scale.numpy(), rtol=0, atol=1e-6)
    # every record when rows is None, in the cache's order; batches do not change a latent
    all_mean, _ = run.encode(batch_size=3)
    assert all_mean.shape == (len(cache), 3)
    np.testing.assert_allclose(all_mean[rows], mean, rtol=0, atol=1e-6)
    # the input is not µV: the same model on unscaled beats gives other latents
    with torch.no_grad():
        raw = model.encode(_input_here(cache, "median", LEADS, 1.0, rows)).mean.numpy()
    assert np.abs(raw - mean).max() > 1e-3


def test_the_dataset_is_the_models_input(vae_run, cache):
    run = Run(vae_run)
    rows = np.array([2, 7])
    ds = run.dataset(rows)
    assert len(ds) == 2 and list(ds.record_rows) == [2, 7]
    np.testing.assert_array_equal(np.stack([ds[i]["x"].numpy() for i in range(2)]),
                                  _input_here(cache, "median", LEADS, SCALE, rows).numpy())
    # overrides for display: µV of another array
    ds = run.dataset(rows, array="signals", scale_uv=1.0)
    np.testing.assert_array_equal(ds[1]["x"].numpy(),
                                  _input_here(cache, "signals", LEADS, 1.0, rows[1:]).numpy()[0])
    ds = run.dataset([4], label_columns=["superclass_MI"])
    assert float(ds[0]["y"][0]) == float(cache.records["superclass_MI"].iloc[4])
    assert "extra" not in ds[0]
    assert run.window == cache.median.shape[-1] and run.n_records == len(cache)
    assert run.r_index == WINDOWS["r400"].offsets(FS)[0] == 40


def test_hybrid_encode_reads_the_records_scalar_inputs(hybrid_run, cache):
    from ecgcore.checkpoint import load_model

    run = Run(hybrid_run)
    model, _ = load_model(hybrid_run)
    rows = np.arange(len(cache))[::-1]
    mean, scale = run.encode(rows)
    assert scale is None and mean.shape == (len(rows), 18)
    extra = cache.records[list(EXTRA)].to_numpy(dtype=np.float32)[rows]
    x = _input_here(cache, "signals", None, 2000.0, rows)
    with torch.no_grad():
        want = model.encode(x, extra=torch.from_numpy(np.nan_to_num(extra))).mean.numpy()
    np.testing.assert_allclose(mean, want, rtol=0, atol=1e-5)
    # the last two latents are the standardised extras themselves
    stats = run.preprocessing.extra_stats
    loc = np.array([stats[c][0] for c in EXTRA])
    sd = np.array([stats[c][1] for c in EXTRA])
    np.testing.assert_allclose(mean[:, -2:], (extra - loc) / sd, rtol=1e-5, atol=1e-5)


def test_embedding_table_columns_and_order(vae_run, cache):
    table = Run(vae_run).embedding_table()
    n_rec = list(cache.records.columns)
    assert list(table.columns[:7]) == ["record_id", "z0", "z1", "z2", "z0_scale", "z1_scale",
                                       "z2_scale"]
    assert list(table.columns[7:]) == [c for c in n_rec if c != "record_id"]
    assert table["record_id"].tolist() == cache.records["record_id"].tolist()
    mean, scale = Run(vae_run).encode()
    np.testing.assert_allclose(table[["z0", "z1", "z2"]].to_numpy(), mean, atol=1e-6)
    np.testing.assert_allclose(table[["z0_scale", "z2_scale"]].to_numpy(), scale[:, [0, 2]],
                               atol=1e-6)


def test_encode_errors_name_the_run(vae_run, cache, tmp_path):
    import shutil

    bad = tmp_path / "nan_run"
    shutil.copytree(vae_run, bad)
    from ecgcore.checkpoint import load_model

    model, _ = load_model(bad)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    _write_run(bad, model, Preprocessing.read(vae_run), cache)
    with pytest.raises(RunError, match="nan_run: the encoder gave NaN or inf latent means"):
        Run(bad).encode()
    # a lead the cache does not have: the dataset cannot be built
    wrong = tmp_path / "wrong_leads"
    shutil.copytree(vae_run, wrong)
    prep = json.loads((wrong / PREPROCESSING).read_text())
    prep["lead_set"] = ["II", "X9"]
    (wrong / PREPROCESSING).write_text(json.dumps(prep))
    with pytest.raises((RunError, ValueError), match="X9"):
        Run(wrong).encode()
    with pytest.raises(RunError, match="no such run folder"):
        _ = Run(tmp_path / "absent").model
    gone = tmp_path / "no_yaml"
    shutil.copytree(vae_run, gone)
    (gone / RUN_CONFIG).unlink()
    with pytest.raises(RunError, match=f"no_yaml: missing {RUN_CONFIG}"):
        _ = Run(gone).cache


def test_a_cache_at_another_rate_is_refused(vae_run, cache, tmp_path):
    prep = Preprocessing.read(vae_run)
    other = Preprocessing(**{**prep.__dict__, "fs": 500.0})
    with pytest.raises(PreprocessingError, match="cache at 100 Hz, the model reads 500 Hz"):
        other.check(cache)
    other = Preprocessing(**{**prep.__dict__, "window": "qrs750"})
    with pytest.raises(PreprocessingError, match="cache has beat window r400, the model reads "
                                                 "qrs750"):
        other.check(cache)
    other = Preprocessing(**{**prep.__dict__, "extra": ("rr_mean_ms", "no_such")})
    with pytest.raises(PreprocessingError, match=r"no column\(s\) \['no_such'\]"):
        other.dataset(cache)
    prep.check(cache)  # its own cache passes


# --------------------------------------------------------------------- preprocessing.json


def test_preprocessing_json_round_trip(cache):
    stats = {"rr_mean_ms": (800.0, 120.0)}
    prep = _prep(cache, extra=["rr_mean_ms"], extra_stats={"rr_mean_ms": [800, 120]},
                 task=["superclass_MI"], pipeline={"window": "r400"}, source="/data/x")
    assert prep.leads == LEADS and prep.lead_set == LEADS and prep.extra_stats == stats
    d = prep.to_dict()
    assert d["window_ms"] == [400.0, 400.0] and d["anchor"] == "r" and d["anchor_index"] == 40
    assert d["scaler"] == {"kind": "global_max", "scale_uv": SCALE}
    assert d["lead_set"] == list(LEADS) and d["leads"] == list(LEADS)
    assert d["extra_stats"] == {"rr_mean_ms": [800.0, 120.0]} and d["task"] == ["superclass_MI"]
    assert d["units"] == "µV / scale_uv" and d["fs"] == FS and d["array"] == "median"
    back = Preprocessing.from_dict(json.loads(json.dumps(d)))
    assert back == prep
    assert prep.anchor == "r" and prep.anchor_index == 40 and prep.window_samples == 80
    q = _prep(cache, window="qrs750", lead_set="all")
    assert q.anchor == "qrs_onset" and q.anchor_index == 28 and q.window_samples == 75
    assert q.leads == tuple(cache.leads) and q.to_dict()["lead_set"] == "all"
    assert Preprocessing.from_dict(q.to_dict()) == q
    # an older file without the optional fields
    minimal = {k: d[k] for k in ("fs", "window", "array", "lead_set", "leads")}
    old = Preprocessing.from_dict({**minimal, "scaler": {"scale_uv": 2.0}})
    assert old.extra == () and old.extra_stats == {} and old.task == () and old.source is None


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("fs"), r"where\.json: missing field 'fs'"),
    (lambda d: d.pop("scaler"), r"where\.json: missing field 'scaler'"),
    (lambda d: d["scaler"].pop("scale_uv"), r"where\.json: missing field 'scale_uv'"),
    (lambda d: d["scaler"].update(kind="robust"), r"where\.json: unknown scaler kind 'robust'"),
    # a kind that sorts before "global_max" too: the check is equality, not an order
    (lambda d: d["scaler"].update(kind="abs_max"), r"where\.json: unknown scaler kind 'abs_max'"),
    (lambda d: d["scaler"].update(scale_uv=0), r"where\.json: scale_uv must be positive, got 0"),
    (lambda d: d["scaler"].update(scale_uv=-3), r"where\.json: scale_uv must be positive"),
    (lambda d: d.update(window="r999"), (r"where\.json: unknown beat window 'r999'; known: "
                                         r"\['qrs750', 'r400'\]")),
    (lambda d: d.update(fs="fast"), r"where\.json: bad value"),
    (lambda d: d.update(scaler="global_max"), r"where\.json: bad value"),
])
def test_preprocessing_errors_name_the_file_and_field(cache, change, match):
    d = _prep(cache).to_dict()
    change(d)
    with pytest.raises(PreprocessingError, match=match):
        Preprocessing.from_dict(d, "where.json")


def test_preprocessing_read_errors(tmp_path, cache):
    with pytest.raises(PreprocessingError, match=rf"{PREPROCESSING}: missing"):
        Preprocessing.read(tmp_path)
    (tmp_path / PREPROCESSING).write_text("{not json")
    with pytest.raises(PreprocessingError, match="not valid JSON"):
        Preprocessing.read(tmp_path)
    (tmp_path / PREPROCESSING).write_text("[1, 2]")
    with pytest.raises(PreprocessingError, match=rf"{PREPROCESSING}: not a JSON object"):
        Preprocessing.read(tmp_path)
    (tmp_path / PREPROCESSING).write_text(json.dumps(_prep(cache).to_dict()))
    assert Preprocessing.read(tmp_path) == _prep(cache)
    assert Preprocessing(fs=FS, window="r400", array="median", lead_set="all", leads=("I",),
                         scale_uv=1e-9).scale_uv == 1e-9  # any positive scale


def test_the_mutation_benchs_encode_target_names_real_functions():
    """`ecgwb bench mutation --target encode` mutates these functions of run.py: each
    must exist (a rename would silently shrink the target), with its own lines."""
    from ecgwb.bench.mutation import ENCODE_PATH, TARGETS, function_lines

    source = (Path(__file__).resolve().parents[2] / "ecgcore" / "runs" / "run.py").read_text()
    spans = function_lines(source, list(ENCODE_PATH))
    lines = source.splitlines()
    for name, (first, last) in zip(ENCODE_PATH, spans):
        body = "\n".join(lines[first - 1 : last])
        assert f"def {name.split('.')[-1]}(" in body and first <= last
    (first, last), = function_lines(source, ["Run.encode"])
    assert "encode_dataset(self.model, self.dataset(rows)" in "\n".join(lines[first - 1 : last])
    assert TARGETS["encode"]["only"]["ecgcore/runs/run.py"] == list(ENCODE_PATH)
    with pytest.raises(KeyError, match="Run.no_such"):
        function_lines(source, ["Run.no_such"])


def test_the_mutation_bench_recognises_function_annotations():
    """Mutants inside a function's annotations are equivalent only under postponed
    evaluation; a dataclass or pydantic field annotation is not a function annotation."""
    from ecgwb.bench.mutation import annotation_spans

    src = ("from __future__ import annotations\n"
           "class A:\n"
           "    x: int | None = None\n"
           "    def f(self, a: int | None, *b: str, c: float = 1.0) -> list[int] | None:\n"
           "        return a | 1\n")
    spans = sorted(annotation_spans(src))
    assert spans == [((4, 19), (4, 29)), ((4, 35), (4, 38)), ((4, 43), (4, 48)),
                     ((4, 59), (4, 75))]
    assert not any(a <= (5, 17) < b for a, b in spans)  # `a | 1` is code
    assert not any(a <= (3, 11) < b for a, b in spans)  # the field's annotation is not
    assert annotation_spans(src.split("\n", 1)[1]) == []  # evaluated without the import
