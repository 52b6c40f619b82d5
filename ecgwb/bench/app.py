"""`ecgwb bench app`: how quickly the workbench answers in a real browser.

For each case (each finished run of ``--runs``, default the demo runs, plus one run whose
embedding table has ``--synthetic`` rows) a real Streamlit server is driven by Debian's
Chromium through Playwright (:mod:`ecgwb.browser`, as the browser tests do):

* **Latent space, first draw**: from the click on "Latent space" in the sidebar (made
  once the Data view, the app's first page, has drawn its record, plus one second) to the
  WebGL scatter having drawn every point. ``cold`` is the first visit ever (the run's
  embedding and projection are computed and cached on disk); ``fresh server`` the first
  visit after restarting the server (disk caches present, nothing in memory);
  ``revisit`` the median of three later visits in the same session.
* **Factor traversal, slider step**: the figure's own Plotly slider, which restyles the
  figure in the browser (no server round trip): from a mouse click on the slider's rail at
  the next step's tick (its mousedown event time) to the first animation frame in which
  the SVG strokes that step's beat black in every panel, timed in the page with
  ``performance.now()`` (median and worst of six steps: 0σ → +3σ → 0σ), in a fresh server
  session once the traversal and its annotation are cached.

Targets: first draw under 3 s, slider step under 300 ms.

The synthetic case is made only for this timing, in a temporary folder that is deleted
afterwards: a copy of a demo run (its real weights) over a cache of the demo records
repeated to ``--synthetic`` rows (record ids ``syn…``), whose embedding table is the demo
run's latent means repeated with Gaussian jitter (0.1 SD per unit). It says nothing about
any model; it only puts that many points in the views.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.files import CONFIG, METRICS, PREPROCESSING, RUN_CONFIG, SPLIT, STATUS, WEIGHTS

ROOT = Path(__file__).resolve().parents[2]
TARGET_DRAW_S, TARGET_STEP_S = 3.0, 0.3
RUN_FILES = (RUN_CONFIG, CONFIG, PREPROCESSING, WEIGHTS, METRICS, STATUS, SPLIT)


# -- the synthetic 20,000-point case ----------------------------------------------------------

def _copy_run(run: Path, dest: Path) -> Path:
    """A copy of a run's checkpoint files (no view caches) at ``dest``."""
    dest.mkdir(parents=True)
    for name in RUN_FILES:
        if (run / name).exists():
            shutil.copy2(run / name, dest / name)
    return dest


def synthetic_cache(cache: Path, out: Path, n: int) -> Path:
    """The records of ``cache`` repeated to ``n`` rows (ids ``syn<row>-<original id>``):
    every per-record array tiled, the records table and manifest to match."""
    from numpy.lib.format import open_memmap

    from ecgcore.data.store import ECGCache

    src = ECGCache(cache)
    k = len(src)
    rows = np.arange(n) % k
    out.mkdir(parents=True)
    for path in sorted(cache.glob("*.npy")):
        arr = np.load(path, mmap_mode="r")
        if arr.shape[:1] != (k,):
            shutil.copy2(path, out / path.name)
            continue
        dst = open_memmap(out / path.name, mode="w+", dtype=arr.dtype, shape=(n, *arr.shape[1:]))
        for start in range(0, n, k):
            stop = min(n, start + k)
            dst[start:stop] = arr[: stop - start]
        dst.flush()
        del dst
    records = src.records.iloc[rows].reset_index(drop=True)
    records["record_id"] = [f"syn{i:05d}-{r}" for i, r in enumerate(records["record_id"].astype(str))]
    for col in ("patient_id", "ecg_id"):  # distinct synthetic patients
        if col in records.columns:
            records[col] = np.arange(n)
    records.to_parquet(out / "records.parquet", index=False)
    manifest = pd.DataFrame({"record_id": records["record_id"], "status": "ok", "reason": ""})
    manifest.to_csv(out / "manifest.csv", index=False)
    info = dict(src.info, n_records=n, n_ok=n, name=f"synthetic{n}",
                synthetic=f"{k} demo records repeated to {n} rows for `ecgwb bench app` only")
    (out / "cache.json").write_text(json.dumps(info, indent=1))
    return out


def synthetic_run(run: Path, work: Path, n: int, seed: int = 0) -> Path:
    """A run folder over :func:`synthetic_cache` whose embedding table (``n`` rows) is the
    run's own latent means repeated with jitter; its traversal decodes with the real weights."""
    import yaml

    from ecgcore.runs import Run

    source = Run(run)
    table = source.embedding  # computed and cached in the source run when missing
    cache = synthetic_cache(source.cache.path, work / f"synthetic{n}_cache", n)
    dest = _copy_run(run, work / "runs" / f"SYNTHETIC-{n}-points-{run.name}")
    cfg = yaml.safe_load((dest / "config.yaml").read_text())
    cfg["data"]["path"] = str(cache)
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (dest / "SYNTHETIC.txt").write_text(
        f"Synthetic, for `ecgwb bench app` only: {n} rows = the {len(table)} records of "
        f"{run.name} repeated, latent means jittered (0.1 SD). Not a trained model's output.\n")
    art = Run(dest)
    records = art.cache.records.reset_index(drop=True)
    rows = np.arange(n) % len(table)
    latent = [c for c in table.columns if c.startswith("z") and c[1:].split("_")[0].isdigit()]
    z = table[latent].to_numpy(dtype=np.float64)[rows]
    means = [c for c in latent if not c.endswith("_scale")]
    sd = table[means].std().to_numpy()
    rng = np.random.default_rng(seed)
    z[:, :len(means)] += rng.normal(0.0, 0.1, (n, len(means))) * sd
    emb = pd.concat([records[["record_id"]], pd.DataFrame(z, columns=latent),
                     records.drop(columns=["record_id"])], axis=1)
    emb.to_parquet(art.folder / "embedding.parquet", index=False)
    return dest


# -- browser timings ----------------------------------------------------------------------------

def _open_view(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()


def latent_draw(page, n: int, timeout_ms: float) -> float:
    """Seconds from the click on "Latent space" to all ``n`` points drawn."""
    from ecgwb.browser import POINTS_DRAWN

    _open_view(page, "Data")
    # the user's first sight of the app: the Data view drawn (its 12-lead record), then a
    # second to choose the next view; the app warms up the model stack meanwhile
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer "
                           ".trace').length >= 12", timeout=timeout_ms)
    page.wait_for_timeout(1000)
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Latent space", exact=True).click()
    page.wait_for_function(f"() => ({POINTS_DRAWN})() >= {n}", timeout=timeout_ms)
    return time.perf_counter() - t0


def slider_steps(page, n_steps: int, timeout_ms: float) -> list[float]:
    """Seconds per step of the traversal figure's own slider, each a mouse click on the rail
    at the next step's tick (right from 0σ to the end, then back left), from the click's
    mousedown to the first animation frame in which the SVG draws that step's beat black.
    Timed in the page (event time to ``performance.now()``); a step runs in the browser."""
    from ecgwb.browser import HIGHLIGHTED, STEP_TIMER, click_slider_step, slider_labels

    _open_view(page, "Factor traversal")
    page.wait_for_function(f"() => ({HIGHLIGHTED})()?.endsWith(' 0σ')", timeout=timeout_ms)
    unit = page.evaluate(HIGHLIGHTED).split()[0]
    labels = slider_labels(page)
    step = labels.index("0σ")
    times = []
    for i in range(n_steps):
        page.wait_for_timeout(250)  # a user's pace: the previous step has settled
        step += 1 if i < n_steps // 2 else -1
        page.evaluate(STEP_TIMER, f"{unit} {labels[step]}")
        click_slider_step(page, step)
        page.wait_for_function("() => window.__ecgwbStepMs !== null", timeout=timeout_ms)
        times.append(page.evaluate("window.__ecgwbStepMs") / 1000)
    return times


def _session(runs: Path, work: Path, tag: str, fn):
    """Run ``fn(page)`` against a fresh server on ``runs`` in a fresh browser."""
    from playwright.sync_api import sync_playwright

    from ecgwb.browser import chromium, streamlit_server

    log = work / f"streamlit-{tag}.log"
    with streamlit_server(runs, log, timeout=120) as url, sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_role("heading", name="Data").first.wait_for()
            return fn(page)
        finally:
            browser.close()


def case_folder(run: Path, work: Path) -> Path:
    """A runs folder holding only a copy of ``run`` (no view caches, so the first visit is
    cold) beside a link to its dataset caches (so nothing is preprocessed again)."""
    runs = work / f"case-{run.name}"
    _copy_run(run, runs / run.name)
    if (run.parent / ".cache").is_dir():
        (runs / ".cache").symlink_to(run.parent / ".cache", target_is_directory=True)
    return runs


def bench_case(runs: Path, n_points: int, work: Path, timeout_s: float) -> dict:
    """Timings of the one run in ``runs``: a first session (cold), then a fresh server."""
    t = timeout_s * 1000

    def first(page) -> dict:
        cold = latent_draw(page, n_points, t)
        slider_steps(page, 0, t)  # computes and caches the traversal and its annotation
        return {"cold_s": cold}

    def second(page) -> dict:
        fresh = latent_draw(page, n_points, t)
        revisits = [latent_draw(page, n_points, t) for _ in range(3)]
        steps = slider_steps(page, 6, t)
        return {"fresh_server_s": fresh, "revisit_s": statistics.median(revisits),
                "step_median_s": statistics.median(steps), "step_max_s": max(steps)}

    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    out = {"run": run.name, "points": n_points}
    out.update(_session(runs, work, f"{run.name}-1", first))
    out.update(_session(runs, work, f"{run.name}-2", second))
    return out


def _finished_runs(runs: Path) -> list[Path]:
    from ecgcore.runs import list_runs

    table = list_runs(runs)
    table = table[(table["status"] == "finished") & (table["problem"] == "")]
    return sorted(Path(p) for p in table["path"])


def main(argv: list[str] | None = None) -> int:
    from ecgcore.runs import Run
    from ecgwb.browser import chromium_missing

    ap = argparse.ArgumentParser(prog="ecgwb bench app", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default=str(ROOT / "runs" / "demo"),
                    help="folder of finished runs (default: runs/demo, made by `ecgwb demo`)")
    ap.add_argument("--only", nargs="*", default=None, help="run-name prefixes to time")
    ap.add_argument("--synthetic", type=int, default=20000,
                    help="rows of the synthetic embedding case (0: none)")
    ap.add_argument("--synthetic-from", default="beta_vae",
                    help="run-name prefix of the run whose weights the synthetic case uses")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per wait")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)

    problem = chromium_missing()
    if problem:
        print(f"ecgwb bench app: {problem}")
        return 2
    runs_dir = Path(args.runs).resolve()
    runs = _finished_runs(runs_dir)
    if not runs:
        print(f"ecgwb bench app: no finished run in {runs_dir}; train the demo runs with "
              "`ecgwb demo` first")
        return 2
    if args.only:
        runs = [r for r in runs if r.name.startswith(tuple(args.only))]
    results = []
    with tempfile.TemporaryDirectory(prefix="ecgwb-bench-app-") as tmp:
        work = Path(tmp)
        cases = [(case_folder(r, work), len(Run(r).cache)) for r in runs]
        if args.synthetic:
            base = [r for r in _finished_runs(runs_dir) if r.name.startswith(args.synthetic_from)]
            if not base:
                print(f"ecgwb bench app: no finished {args.synthetic_from} run in {runs_dir}")
                return 2
            cases.append((synthetic_run(base[0], work, args.synthetic).parent, args.synthetic))
        for folder, n in cases:
            print(f"timing {folder.name} ({n:,} points) …", flush=True)
            results.append(bench_case(folder, n, work, args.timeout))
    _print(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    ok = all(r["fresh_server_s"] < TARGET_DRAW_S and r["step_median_s"] < TARGET_STEP_S
             for r in results)
    return 0 if ok else 1


def _print(results: list[dict]) -> None:
    print()
    print("| run | points | latent first draw, cold (s) | fresh server (s) | revisit (s) "
          "| slider step median (ms) | slider step max (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['run']} | {r['points']:,} | {r['cold_s']:.2f} | {r['fresh_server_s']:.2f} "
              f"| {r['revisit_s']:.2f} | {1000 * r['step_median_s']:.0f} "
              f"| {1000 * r['step_max_s']:.0f} |")
    print(f"\ntargets: first draw < {TARGET_DRAW_S:g} s (fresh server), slider step "
          f"< {1000 * TARGET_STEP_S:.0f} ms (median; a mouse click on the figure's Plotly "
          "slider to the next step's beat drawn black, timed in the page)")
