"""LUDB k-fold over records for `ecgwb bench delineation`: every choice inside training folds.

The ``"spatial"`` method has nine tuned numbers (:class:`ecgcore.signal.delineate.SpatialParams`).
For each of the k folds they are chosen again on the other folds' records only — each one
the grid value with the smallest mean absolute error of its own fiducial (QRS onset, QRS
offset, P onset, P offset, and T offset for the longest T peak → T end span; relative to
R, median over the record's beats) against the global reference of :mod:`ecgcore.io.ludb`
— and the held-out fold is delineated with them. Each fiducial depends on its own number
only (the P search also ends before the QRS onset, a second-order effect), so the grids are
searched one number at a time (the others at their shipped values, the P bridge included).
The two numbers of the P acceptance rule (isolation, locking across the record's beats) and
the width of the dips bridged inside a P bump are chosen together: the triple with the
fewest training records whose P wave is wrong (found where the experts mark none, not found
where they mark one, or with a PR 40 ms or more off theirs). The pair used instead where the
record's rhythm is regular (log item 35) is chosen by the same criterion on the training
records' regular rhythms, with other labelled records (PTB-XL's) joining when given.

The record's intervals of a held-out record come from each source asked for
(:data:`ecgcore.signal.record_delineation.INTERVAL_SOURCES`): the median beat, or the median
over its kept beats of each beat's interval, both with the fold's numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.io.ludb import ludb_expert_beats, ludb_expert_intervals
from ecgcore.signal.beats import DEFAULT_MEDIAN_OF
from ecgcore.signal.delineate import DEFAULT_PARAMS, SpatialParams, ecg_delineate
from ecgcore.signal.pacing import qrs_from_spike
from ecgcore.signal.record_delineation import (
    DEFAULT_INTERVALS,
    beat_context,
    check_interval_source,
    delineate_beats,
    record_intervals,
)

#: Candidate values of each tuned number.
GRIDS: dict[str, tuple[float, ...]] = {
    "qrs_on": (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08),
    "qrs_off": (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08),
    "p_on": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "p_off": (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6),
    "t_span_ms": (100.0, 120.0, 135.0, 150.0, 165.0, 200.0, 250.0),
}
#: The fiducial each tuned number is judged by.
_FID = {"qrs_on": "qrs_on", "qrs_off": "qrs_off", "p_on": "p_on", "p_off": "p_off",
        "t_span_ms": "t_off"}
#: Candidates of the P acceptance rule (isolation, locking across beats) and of the dip
#: width bridged inside a P bump (ms), chosen together: the fewest records whose P wave is
#: wrong (:func:`_p_presence_errors`). Keys in the order of the candidate tuples.
P_ACCEPT_GRID: dict[str, tuple[float, ...]] = {
    "p_isolation": (1.0, 1.25, 1.5, 1.75, 2.0, 2.5),
    "p_locked": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    "p_bridge_ms": (0.0, 10.0, 20.0, 30.0),
}


def p_accept_candidates() -> list[tuple[float, ...]]:
    """Every combination of :data:`P_ACCEPT_GRID`, as tuples in its key order."""
    return list(itertools.product(*P_ACCEPT_GRID.values()))


#: LUDB conditions as the issue groups them; a record may be in several, "sinus, none of
#: these" only when it is in no other.
CONDITIONS = ("BBB or hemiblock", "hypertrophy", "AV block", "AF / flutter", "paced")


def conditions(row: pd.Series) -> list[str]:
    """The condition classes of one row of LUDB's ``ludb.csv``."""
    def text(col: str) -> str:
        return str(row.get(col, "") if pd.notna(row.get(col)) else "").lower()

    cond, rhythm = text("Conduction abnormalities"), text("Rhythms")
    out = []
    if "bundle branch" in cond or "hemiblock" in cond:
        out.append("BBB or hemiblock")
    if text("Hypertrophies"):
        out.append("hypertrophy")
    if "av block" in cond or "av-block" in cond:
        out.append("AV block")
    if "fibrillation" in rhythm or "flutter" in rhythm:
        out.append("AF / flutter")
    if text("Cardiac pacing"):
        out.append("paced")
    if not out and "sinus" in rhythm:
        out.append("sinus, none of these")
    return out


def ludb_conditions(ludb_dir: str | Path) -> dict[str, list[str]]:
    """Record name → its condition classes (:func:`conditions`) from the folder's
    ``ludb.csv``; empty when the folder has no such table (a subset copied without it)."""
    table_path = Path(ludb_dir) / "ludb.csv"
    if not table_path.is_file():
        return {}
    table = pd.read_csv(table_path)
    return {str(int(row["ID"])): conditions(row) for _, row in table.iterrows()}


def median_beat_entry(res) -> dict:
    """What :func:`_delineate` needs of a record the pipeline processed (a ``BeatResult``):
    its analysis median beat, the beats it is of, rate, R sample, median RR, pacing and
    rhythm regularity."""
    from ecgcore.signal.beats import WINDOW_ANALYSIS

    return {"median": res.analysis_median, "median_beats": res.median_beats, "fs": res.fs,
            "r": WINDOW_ANALYSIS.offsets(res.fs)[0], "rr_ms": float(np.median(res.rr_ms)),
            "pacing": res.pacing, "rr_regular": res.rhythm_regular}


def load_ludb(ludb_dir: str | Path, records: list[str] | None = None,
              median_of: str = DEFAULT_MEDIAN_OF) -> list[dict]:
    """Per record (all, or the named ``records``): the pipeline's analysis median beat (of
    ``median_of`` beats: ``PipelineConfig.median_of``) and the experts' reference."""
    from ecgcore.io import read_wfdb
    from ecgcore.io.ludb import list_ludb_records
    from ecgcore.signal.beats import WINDOW_ANALYSIS
    from ecgcore.signal.pipeline import PipelineConfig, process_record

    ludb_dir = Path(ludb_dir)
    condition_of = ludb_conditions(ludb_dir)
    out = []
    for path in list_ludb_records(ludb_dir):
        if records is not None and path.name not in records:
            continue
        res = process_record(read_wfdb(path), PipelineConfig(median_of=median_of))
        before = WINDOW_ANALYSIS.offsets(res.fs)[0]
        rr_med = float(np.median(res.rr_ms))
        beat_rr, beat_spikes = beat_context(res.rpeaks, res.analysis_r, res.fs, before, rr_med,
                                            res.pacing)
        anchors = np.asarray(res.anchors)
        rel: dict[str, list[float]] = {k: [] for k in _FID.values()}
        for b in ludb_expert_beats(path):
            j = int(np.argmin(np.abs(anchors - (b.qrs_on + b.qrs_off) / 2)))
            if abs(anchors[j] - b.qrs_on) > 0.2 * res.fs:
                continue  # a beat the pipeline did not keep
            for key in rel:
                v = getattr(b, key)
                if v is not None:
                    rel[key].append((v - anchors[j]) * 1000.0 / res.fs)
        out.append({
            "record": path.name, "path": path, **median_beat_entry(res),
            "beats": res.analysis_beats,
            "beat_rr": beat_rr, "beat_spikes": beat_spikes,
            "ref_rel": {k: (float(np.median(v)) if v else None) for k, v in rel.items()},
            "expert": ludb_expert_intervals(path),
            "conditions": condition_of.get(path.name, []),
        })
    return out


def _delineate(d: dict, params: SpatialParams):
    try:
        fid = ecg_delineate(d["median"], d["fs"], d["r"], rr_ms=d["rr_ms"], params=params,
                            beats=d.get("median_beats", d.get("beats")),
                            rr_regular=d.get("rr_regular"))
    except ValueError:
        return None
    return qrs_from_spike(fid, d.get("pacing"))  # a paced QRS is measured from its spike


def _fiducial_errors(data: list[dict], key: str, value: float) -> np.ndarray:
    """Per record: (ours − reference) of one fiducial (ms) with one number changed; NaN if none."""
    params = replace(DEFAULT_PARAMS, **{key: value})
    errs = np.full(len(data), np.nan)
    for i, d in enumerate(data):
        ref = d["ref_rel"][_FID[key]]
        fid = _delineate(d, params)
        ours = None if fid is None else getattr(fid, _FID[key])
        if ref is not None and ours is not None:
            errs[i] = (ours - d["r"]) * 1000.0 / d["fs"] - ref
    return errs


#: A P wave whose PR interval is this far (ms) from the experts' is another wave, or a
#: broken one: as wrong as a P wave missed.
P_WRONG_PR_MS = 40.0


def _p_presence_errors(data: list[dict], *numbers: float) -> np.ndarray:
    """Per record: 1 where the P wave is wrong — found where the experts mark none, not
    found where they mark one, or found with a PR more than :data:`P_WRONG_PR_MS` off —
    with the P numbers ``numbers`` (in :data:`P_ACCEPT_GRID`'s key order)."""
    if len(numbers) != len(P_ACCEPT_GRID):
        raise ValueError(f"expected {len(P_ACCEPT_GRID)} numbers ({', '.join(P_ACCEPT_GRID)}), "
                         f"got {len(numbers)}")
    chosen = dict(zip(P_ACCEPT_GRID, numbers))
    # The same two acceptance numbers for a regular rhythm: the rule before log item 35,
    # chosen without knowing the regular pair (:func:`regular_pair_errors` chooses that).
    params = replace(DEFAULT_PARAMS, **chosen, p_isolation_regular=chosen["p_isolation"],
                     p_locked_regular=chosen["p_locked"])
    return np.array([_p_wrong(d, params) for d in data])


def _p_wrong(d: dict, params: SpatialParams) -> float:
    """1.0 where one record's P wave is wrong with ``params`` (:func:`_p_presence_errors`)."""
    fid = _delineate(d, params)
    found = fid is not None and fid.p_on is not None
    ref_pr = d["expert"]["pr_ms"]
    wrong_place = found and ref_pr is not None and fid.pr_ms is not None and \
        abs(fid.pr_ms - ref_pr) > P_WRONG_PR_MS
    return float(found != (d["expert"]["p_ms"] is not None) or wrong_place)


def regular_pair_candidates() -> list[tuple[float, ...]]:
    """Candidates of the P acceptance numbers of a regular rhythm (log item 35): every
    isolation × locking pair of :data:`P_ACCEPT_GRID`, as its tuples with the bridge at its
    shipped value (every LUDB fold chooses 20 ms), so that :func:`choose_p_acceptance`
    serves both choices."""
    return [(a, b, DEFAULT_PARAMS.p_bridge_ms) for a in P_ACCEPT_GRID["p_isolation"]
            for b in P_ACCEPT_GRID["p_locked"]]


def joined_errors(first: dict[tuple[float, ...], np.ndarray],
                  then: dict[tuple[float, ...], np.ndarray]) -> dict[tuple[float, ...], np.ndarray]:
    """Per candidate, ``first``'s records' errors followed by ``then``'s (one record set for
    :func:`choose_p_acceptance`; the candidates are ``then``'s)."""
    return {c: np.concatenate([first[c], e]) for c, e in then.items()}


def regular_pair_errors(data: list[dict], params: SpatialParams = DEFAULT_PARAMS
                        ) -> dict[tuple[float, ...], np.ndarray]:
    """Per :func:`regular_pair_candidates` tuple: per record, 1 where its P wave is wrong
    with that pair as ``p_isolation_regular`` / ``p_locked_regular`` (``params`` otherwise).
    Only the records whose rhythm is regular (``d["rr_regular"]``) depend on the pair; a
    record the pipeline refused (``median`` None) has no P found."""
    def wrong(d: dict, p: SpatialParams) -> float:
        return float(d["expert"]["p_ms"] is not None) if d["median"] is None else _p_wrong(d, p)

    base = np.array([wrong(d, params) for d in data])
    regular = [i for i, d in enumerate(data) if d.get("rr_regular") and d["median"] is not None]
    out = {}
    for cand in regular_pair_candidates():
        e = base.copy()
        p = replace(params, p_isolation_regular=cand[0], p_locked_regular=cand[1])
        for i in regular:
            e[i] = wrong(data[i], p)
        out[cand] = e
    return out


def choose_p_acceptance(errors: dict[tuple[float, ...], np.ndarray], train: np.ndarray
                        ) -> tuple[float, ...]:
    """The P numbers (a :func:`p_accept_candidates` tuple) with the fewest training records
    wrong about P; among ties the one nearest their centroid (in grid steps), away from the
    plateau's edges."""
    totals = {cand: float(e[train].sum()) for cand, e in errors.items()}
    best = min(totals.values())
    tied = [cand for cand, v in totals.items() if v == best]
    grids = list(P_ACCEPT_GRID.values())
    idx = np.array([[g.index(v) for g, v in zip(grids, cand)] for cand in tied], dtype=float)
    centre = idx.mean(axis=0)
    return tied[int(np.argmin(((idx - centre) ** 2).sum(axis=1)))]


def _held_out_intervals(d: dict, params: SpatialParams, sources: tuple[str, ...]
                        ) -> tuple[dict[str, dict], str | None]:
    """One record's intervals from each interval source with ``params``, and an error."""
    fid = _delineate(d, params)
    if fid is None:
        return {src: record_intervals(None, [], "median_beat") for src in sources}, \
            "delineation failed"
    beats = []
    if "beats" in sources:
        beats = delineate_beats(d["beats"], d["fs"], d["r"], d.get("beat_rr", d["rr_ms"]),
                                params=params, spikes=d.get("beat_spikes"))
    return {src: record_intervals(fid, beats, src) for src in sources}, None


def fold_assignment(n: int, k: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0…k−1) of each of ``n`` records: a seeded shuffle dealt round-robin, so
    every method of the bench is held out on the same folds."""
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return fold


def cross_validate(data: list[dict], k: int = 5, seed: int = 0,
                   interval_sources: tuple[str, ...] = (DEFAULT_INTERVALS,),
                   regular_extra: dict[tuple[float, ...], np.ndarray] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out intervals of every record and the numbers chosen in each fold.

    Returns (per_record, choices): per_record has the record, its fold, its interval source
    (one row per source in ``interval_sources``), conditions, the held-out
    ``p_ms``…``qt_ms`` and the experts' ``expert_p_ms``…; choices one row per fold.
    The P acceptance numbers of a regular rhythm (log item 35) are chosen on the training
    records together with ``regular_extra``'s (other records' :func:`regular_pair_errors`,
    e.g. PTB-XL's rhythm-labelled records, never scored here).
    """
    for src in interval_sources:
        check_interval_source(src)
    fold = fold_assignment(len(data), k, seed)
    # Error of every record under every candidate value (one number changed at a time).
    errors = {key: {v: _fiducial_errors(data, key, v) for v in grid} for key, grid in GRIDS.items()}
    p_errors = {cand: _p_presence_errors(data, *cand) for cand in p_accept_candidates()}
    reg_errors = regular_pair_errors(data)
    if regular_extra is not None:
        reg_errors = joined_errors(reg_errors, regular_extra)
    n_extra = len(reg_errors[next(iter(reg_errors))]) - len(data)
    rows, choices = [], []
    for f in range(k):
        train = fold != f
        chosen = {}
        for key, by_value in errors.items():
            scores = {v: float(np.nanmean(np.abs(e[train]))) for v, e in by_value.items()}
            chosen[key] = min(scores, key=scores.get)
        chosen.update(zip(P_ACCEPT_GRID, choose_p_acceptance(p_errors, train)))
        regular = choose_p_acceptance(reg_errors, np.concatenate([train, np.ones(n_extra, bool)]))
        chosen.update(p_isolation_regular=regular[0], p_locked_regular=regular[1])
        params = SpatialParams(**chosen)
        choices.append({"fold": f, **chosen})
        for i in np.flatnonzero(~train):
            d = data[i]
            by_source, error = _held_out_intervals(d, params, interval_sources)
            for src, iv in by_source.items():
                row = {"record": d["record"], "fold": f, "interval_source": src,
                       "conditions": "; ".join(d["conditions"]), "error": error}
                for m in ("p_ms", "pr_ms", "qrs_ms", "qt_ms"):
                    row[m] = iv[m]
                    row[f"expert_{m}"] = d["expert"][m]
                rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(choices)


def condition_table(per_record: pd.DataFrame, n_worst: int = 5) -> pd.DataFrame:
    """QRS-duration and QT errors (ms) per condition class, with the worst records."""
    rows = []
    for cls in (*CONDITIONS, "sinus, none of these"):
        part = per_record[per_record["conditions"].str.contains(cls, regex=False)]
        for m in ("qrs_ms", "qt_ms", "pr_ms"):
            diff = (pd.to_numeric(part[m]) - pd.to_numeric(part[f"expert_{m}"])).dropna()
            worst = diff.reindex(diff.abs().sort_values(ascending=False).index)[:n_worst]
            rows.append({
                "condition": cls, "interval": m.removesuffix("_ms").upper(), "n": len(diff),
                "mean_ms": round(float(diff.mean()), 1) if len(diff) else np.nan,
                "sd_ms": round(float(diff.std(ddof=1)), 1) if len(diff) > 1 else np.nan,
                "worst (record: error ms)": ", ".join(
                    f"{part.loc[i, 'record']}: {v:+.0f}" for i, v in worst.items()),
            })
    return pd.DataFrame(rows)


#: LUDB's matching window: a detected boundary within 150 ms of an expert's is a hit.
MATCH_MS = 150.0
_LEAD_WAVES = {"P": "p", "QRS": "qrs", "T": "t"}


#: Candidate per-lead QRS quiet durations (ms; ``delineate_signal(lead_qrs_quiet_ms=)``),
#: chosen per fold by :func:`per_lead_cv`.
LEAD_QUIET_GRID = (0.0, 4.0, 6.0, 8.0, 10.0, 16.0)


def per_lead_cv(ludb_dir: str | Path, params_of: dict[str, SpatialParams],
                fold_of: dict[str, int], grid: tuple[float, ...] = LEAD_QUIET_GRID
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out per-lead rows, the QRS quiet duration chosen in each fold's training records.

    Every record is scored under every candidate of ``grid``; each fold takes the value
    with the smallest mean of the QRS onset and offset error SDs over its training records
    (``fold_of``: record → fold) and keeps its held-out records' rows under that value.
    Returns (rows, choices: one row per fold with ``lead_qrs_quiet_ms``).
    """
    by_value = {v: per_lead_rows(ludb_dir, params_of, v) for v in grid}
    held, choices = [], []
    for f in sorted(set(fold_of.values())):
        scores = {}
        for v, rows in by_value.items():
            train = rows[(rows["record"].map(fold_of) != f) & (rows["wave"] == "QRS")]
            scores[v] = float(train.groupby("side")["error_ms"].std(ddof=1).mean())
        best = min(scores, key=scores.get)
        choices.append({"fold": f, "lead_qrs_quiet_ms": best})
        rows = by_value[best]
        held.append(rows[rows["record"].map(fold_of) == f])
    return pd.concat(held, ignore_index=True), pd.DataFrame(choices)


def per_lead_rows(ludb_dir: str | Path, params_of: dict[str, SpatialParams],
                  lead_qrs_quiet_ms: float | None = None, lead_method: str = "spatial",
                  lead_model: object | None = None, records: set[str] | None = None
                  ) -> pd.DataFrame:
    """Per lead and per expert mark of each record: hit or miss and error, as LUDB scores it.

    Each record (all, or those in ``records``) is delineated per beat and per lead
    (:func:`delineate_signal`) by ``lead_method``: ``spatial`` with the numbers of the
    fold it was held out in (``params_of[record]``; the per-lead QRS quiet duration
    ``lead_qrs_quiet_ms``, the shipped one when None), ``learned`` with ``lead_model`` (the
    shipped segmenter when None). Scored by :func:`score_lead_marks`.
    """
    from ecgcore.io.ludb import LUDB_ANNOTATORS, list_ludb_records
    from ecgcore.signal.delineate import LEAD_QRS_QUIET_MS
    from ecgcore.signal.record_delineation import delineate_signal

    quiet = LEAD_QRS_QUIET_MS if lead_qrs_quiet_ms is None else lead_qrs_quiet_ms
    rows = []
    for path in list_ludb_records(ludb_dir):
        if records is not None and path.name not in records:
            continue
        rec = wfdb_read(path)
        d = delineate_signal(rec["signal"], rec["fs"], rec["leads"],
                             params=params_of.get(path.name, DEFAULT_PARAMS),
                             lead_method=lead_method, lead_qrs_quiet_ms=quiet,
                             lead_model=lead_model)
        found = {(li, attr): np.array([getattr(pl[li], attr) for pl in d.per_lead
                                       if pl[li] is not None and getattr(pl[li], attr) is not None],
                                      dtype=float)
                 for li in range(len(LUDB_ANNOTATORS)) for attr in _LEAD_ATTRS}
        rows.extend(score_lead_marks(path, rec["fs"], found))
    return pd.DataFrame(rows)


#: The per-lead boundaries LUDB scores (the pipeline reports no T onset).
_LEAD_ATTRS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")


def score_lead_marks(path: Path, fs: float, found: dict[tuple[int, str], np.ndarray]) -> list[dict]:
    """One LUDB record's per-lead rows from detected boundaries, as LUDB scores them.

    ``found[(lead index, "qrs_on")]`` holds the samples a method places that boundary at in
    that lead (LUDB lead order). An expert mark is a hit when a detection lies within 150 ms
    (each detection matches one mark); detections outside the span the experts annotated
    are ignored, and the rest that match no mark are false positives ("extra" rows).
    """
    from ecgcore.io.ludb import LUDB_ANNOTATORS, _lead_waves

    tol = MATCH_MS * fs / 1000.0
    rows = []
    for li, ext in enumerate(LUDB_ANNOTATORS.values()):
        waves = _lead_waves(path, ext)
        for wave, key in _LEAD_WAVES.items():
            marks = waves[key]
            if marks.shape[0] == 0:
                continue
            lo, hi = marks[:, 1].min() - tol, marks[:, 1].max() + tol
            for side, col in (("on", 0), ("off", 2)):
                attr = f"{key}_{side}"
                if attr not in _LEAD_ATTRS:
                    continue
                det = np.asarray(found.get((li, attr), ()), dtype=float)
                det = det[(det >= lo) & (det <= hi)]
                ref = marks[:, col][marks[:, col] >= 0].astype(float)
                used = np.zeros(det.size, bool)
                for m in ref:
                    j = int(np.argmin(np.abs(det - m))) if det.size else -1
                    hit = j >= 0 and abs(det[j] - m) <= tol and not used[j]
                    if hit:
                        used[j] = True
                    rows.append({"record": path.name, "lead": ext, "wave": wave,
                                 "side": side, "kind": "mark", "hit": hit,
                                 "error_ms": (det[j] - m) * 1000.0 / fs if hit else np.nan})
                rows.extend({"record": path.name, "lead": ext, "wave": wave, "side": side,
                             "kind": "extra", "hit": False, "error_ms": np.nan}
                            for _ in range(int((~used).sum())))
    return rows


def wfdb_read(path: Path) -> dict:
    """A LUDB record as µV ``[leads, samples]`` with its rate and lead names."""
    import wfdb

    rec = wfdb.rdrecord(str(path), physical=True)
    return {"signal": (rec.p_signal.T * 1000.0).astype(np.float32), "fs": float(rec.fs),
            "leads": tuple(rec.sig_name)}


def per_lead_table(rows: pd.DataFrame) -> pd.DataFrame:
    """LUDB's per-lead scoring: sensitivity, PPV and mean / SD of the boundary errors (ms)."""
    out = []
    for (wave, side), df in rows.groupby(["wave", "side"], sort=False):
        marks, extra = df[df["kind"] == "mark"], int((df["kind"] == "extra").sum())
        tp = int(marks["hit"].sum())
        err = marks["error_ms"].dropna()
        out.append({"wave": wave, "boundary": side, "marks": len(marks), "hits": tp,
                    "sensitivity_pct": round(100.0 * tp / max(len(marks), 1), 1),
                    "ppv_pct": round(100.0 * tp / max(tp + extra, 1), 1),
                    "mean_ms": round(float(err.mean()), 1), "sd_ms": round(float(err.std(ddof=1)), 1)})
    return pd.DataFrame(out)
