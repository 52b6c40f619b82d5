"""`ecgwb bench mutation`: how many deliberately wrong versions of a module its tests catch.

Cosmic Ray (a mutation-testing tool) makes every small change an operator defines — ``<``
for ``<=``, ``+`` for ``-``, a constant off by one, a ``break`` for a ``continue`` — to the
module, one at a time, and runs the module's tests on each "mutant": killed when a test
fails (or times out), survived when all pass. The score is killed / tested. A survivor is
either a test gap or an equivalent change (same behaviour); read them with ``--show``.

It works on a copy of ``ecgcore`` and the named tests in a temporary folder, so the
working tree is never mutated. Each mutant costs a pytest start (~5 s here), so
``--sample N`` tests N mutants drawn at random (``--seed``; the same seed draws the same
mutants from the same source) and reports the score with its 95% Wilson interval;
``--sample 0`` tests them all.

``--target`` names a preset (module, tests, and for ``encode`` the functions mutated):
``stats``, ``delineation`` (``ecgcore/signal/delineate.py``), ``encode`` (the run object's
encode path: the ``Run`` methods that open the checkpoint, build the dataset and encode, and
``ecgcore/preprocessing.py``), ``evaluate`` (every module of ``ecgcore/evaluate`` judged by
``tests/evaluate`` less its one slow test, which builds the demo cache). With several
modules ``--sample N`` draws N from all their mutants together (``--draw pooled``), so a
module's share follows its number of mutants, and the score is given per module and for
all; ``--draw per-module`` draws N from each (the ``encode`` preset's default, as its
documented figures were measured). ``--only QUALNAME`` keeps the mutants inside the named
functions (``Run.encode``); a mutant elsewhere in the file is not drawn. ``--tests`` given
with ``--target`` replaces the preset's tests (e.g. the tests as they were, for a before
score).

Cosmic Ray is not a dependency of the project: install it apart, e.g.
``pip install --target /tmp/cosmic cosmic-ray==8.7.0``, and give ``--tool-path /tmp/cosmic``
(the tests themselves run with this interpreter and without that folder).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The encode path of the run object: what opens the checkpoint, builds the model's input
#: from the cache and encodes it (ecgcore/runs/run.py), beside the whole input transform.
ENCODE_PATH = ("Run._loaded", "Run.model", "Run.preprocessing", "Run.fs", "Run.leads",
               "Run.scale_uv", "Run.data_config", "Run.cache", "Run.n_records", "Run.dataset",
               "Run.window", "Run.r_index", "Run.encode", "Run.embedding_table")

#: Every module of ecgcore/evaluate (the package's __init__ only re-exports).
EVALUATE_MODULES = [f"ecgcore/evaluate/{m}.py" for m in (
    "clustering", "downstream", "glossary", "reconstruction", "report", "shift", "stats")]

#: Presets: modules to mutate, the tests that judge them, the functions mutated (None: all).
TARGETS: dict[str, dict] = {
    "stats": {"modules": ["ecgcore/evaluate/stats.py"], "tests": ["tests/evaluate/test_stats.py"],
              "only": None},
    "delineation": {"modules": ["ecgcore/signal/delineate.py"],
                    "tests": ["tests/signal/test_delineate.py",
                              "tests/signal/test_record_delineation.py",
                              "tests/signal/test_delineate_mutants.py",
                              "tests/signal/test_delineate_answers.py"], "only": None},
    "encode": {"modules": ["ecgcore/runs/run.py", "ecgcore/preprocessing.py"],
               "tests": ["tests/runs/test_encode_mutants.py"],
               "only": {"ecgcore/runs/run.py": list(ENCODE_PATH)},
               # its documented figures drew --sample N from each module apart
               "draw": "per-module"},
    # the whole package; the one slow test (it builds the demo cache, ~20 s) is left out
    "evaluate": {"modules": EVALUATE_MODULES,
                 "tests": ["tests/evaluate/test_evaluate_mutants.py",
                           "tests/evaluate/test_stats.py",
                           "tests/evaluate/test_clustering_report.py",
                           "tests/evaluate/test_reconstruction.py",
                           "tests/evaluate/test_shift.py",
                           "tests/evaluate/test_glossary.py",
                           "tests/evaluate/test_downstream.py",
                           "tests/evaluate/test_downstream_answers.py",
                           "tests/evaluate/test_stats_shift_answers.py",
                           "tests/evaluate/test_evaluate_seed3_gaps.py"],
                 "deselect": [("tests/evaluate/test_downstream.py::"
                               "test_mi_vs_rest_from_classical_features_on_the_demo_cache")],
                 "only": None},
}


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _copy_tree(repo: Path, work: Path, tests: list[str]) -> None:
    """The packages and the whole tests folder (helpers such as tests/e2e/tiny_runs.py);
    the bundled demo data linked, not copied. Only ``ecgcore`` is mutated."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("ecgcore", "trainer", "ecgwb"):
        shutil.copytree(repo / package, work / package, ignore=ignore)
    shutil.copy(repo / "pyproject.toml", work / "pyproject.toml")
    shutil.copytree(repo / "tests", work / "tests", ignore=ignore)
    (work / "assets").symlink_to((repo / "assets").resolve(), target_is_directory=True)
    missing = [t for t in tests if not (work / t).exists()]
    if missing:
        raise FileNotFoundError(f"tests {missing} are not in {repo}")
    # the tests find the real data beside the repository, as in the working tree
    shared = ROOT.parent / "shared"
    if shared.exists() and not (work.parent / "shared").exists():
        (work.parent / "shared").symlink_to(shared, target_is_directory=True)


def function_lines(source: str, names: list[str]) -> list[tuple[int, int]]:
    """First and last line of each named function or method (``name`` or ``Class.name``),
    decorators included; KeyError for a name that is not there."""
    found: dict[str, tuple[int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                if not isinstance(child, ast.ClassDef):
                    found[name] = (first, child.end_lineno or child.lineno)
                visit(child, name + ".")

    visit(ast.parse(source), "")
    missing = [n for n in names if n not in found]
    if missing:
        raise KeyError(f"no function(s) {missing} in the module")
    return [found[n] for n in names]


def _local_nodes(func: ast.AST) -> list[ast.AST]:
    """The statements of a function's body, nested blocks included, not nested classes'
    or functions' (their own)."""
    out, todo = [], list(ast.iter_child_nodes(func))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) (row, col) of every function argument and return annotation and every
    local variable annotation (``x: T = v`` in a function body), when the
    module has ``from __future__ import annotations`` (then they are strings never
    evaluated at run time, unless something calls ``typing.get_type_hints`` on them, which
    nothing in ecgcore does for plain functions); else none."""
    tree = ast.parse(source)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            notes = [arg.annotation for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs,
                                                a.vararg, a.kwarg) if arg is not None]
            for note in [*notes, node.returns]:
                if note is not None:
                    spans.append(((note.lineno, note.col_offset),
                                  (note.end_lineno or note.lineno, note.end_col_offset or 0)))
            # a local variable's annotation (`x: T = v` in a body) is never evaluated
            # (PEP 526); a class field's may be (dataclass, pydantic), so it is not listed
            for sub in _local_nodes(node):
                if isinstance(sub, ast.AnnAssign):
                    note = sub.annotation
                    spans.append(((note.lineno, note.col_offset),
                                  (note.end_lineno or note.lineno, note.end_col_offset or 0)))
    return spans


def _restrict(db: Path, lines: list[tuple[int, int]]) -> None:
    """Drop the mutants whose first line lies outside ``lines`` (inclusive ranges)."""
    con = sqlite3.connect(db)
    rows = con.execute("select job_id, start_pos_row from mutation_specs").fetchall()
    drop = [(j,) for j, row in rows if not any(a <= row <= b for a, b in lines)]
    con.executemany("delete from mutation_specs where job_id = ?", drop)
    con.executemany("delete from work_items where job_id = ?", drop)
    con.commit()
    con.close()


def _draw(dbs: dict[str, Path], n: int, seed: int, pooled: bool = True) -> dict[str, int]:
    """Keep ``n`` work items drawn at random, from all the modules' mutants together
    (``pooled``: a module gets its share of the sample in proportion to its mutants) or
    ``n`` from each module apart; the number of mutants each module had."""
    # job ids are fresh UUIDs at every init: order by what the mutation is, so that a seed
    # draws the same mutants from the same source
    order = ("select job_id from mutation_specs order by module_path, operator_name, "
             "occurrence, start_pos_row, start_pos_col")
    ids: dict[str, list[str]] = {}
    for module, db in dbs.items():
        con = sqlite3.connect(db)
        ids[module] = [r[0] for r in con.execute(order)]
        con.close()
    if pooled:
        # modules in the order given; within one, by mutation (the order a single module
        # always had, so one module's draw is what it was before pooling)
        union = [(m, i) for m in dbs for i in ids[m]]
        keep = set(random.Random(seed).sample(union, n)) if n and n < len(union) else set(union)
    else:
        keep = {(m, i) for m in dbs for i in (
            random.Random(seed).sample(ids[m], n) if n and n < len(ids[m]) else ids[m])}
    for module, db in dbs.items():
        drop = [(i,) for i in ids[module] if (module, i) not in keep]
        if drop:
            con = sqlite3.connect(db)
            con.executemany("delete from mutation_specs where job_id = ?", drop)
            con.executemany("delete from work_items where job_id = ?", drop)
            con.commit()
            con.close()
    return {m: len(v) for m, v in ids.items()}


def _results(db: Path, source: str) -> list[dict]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select s.module_path, s.operator_name, s.start_pos_row, s.start_pos_col, "
        "r.worker_outcome, r.test_outcome, r.diff from work_results r "
        "join mutation_specs s using (job_id)").fetchall()
    con.close()
    spans = annotation_spans(source)
    out = [dict(zip(("module", "operator", "line", "col", "worker", "test", "diff"), r))
           for r in rows]
    for r in out:  # cosmic-ray 8 stores the outcomes upper case ('NORMAL', 'KILLED')
        r["worker"], r["test"] = str(r["worker"]).lower(), str(r["test"]).lower()
        at = (r.pop("line"), r.pop("col"))
        r["line"] = at[0]
        r["annotation"] = any(a <= at < b for a, b in spans)
    return out


def _total(per_module: dict[str, dict]) -> dict:
    """The package's figures: the modules' counts summed, with the score's Wilson interval."""
    keys = ("mutants", "tested", "killed", "survived", "seconds", "other_outcomes",
            "in_annotations", "killed_outside_annotations")
    t = {k: sum(m[k] for m in per_module.values()) for k in keys}
    t["score"] = t["killed"] / t["tested"] if t["tested"] else None
    t["ci95"] = list(wilson(t["killed"], t["tested"]))
    real = t["tested"] - t["in_annotations"]
    t["score_outside_annotations"] = t["killed_outside_annotations"] / real if real else None
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ecgwb bench mutation", description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", choices=sorted(TARGETS), default=None,
                    help="a preset: modules, tests and mutated functions (default: stats)")
    ap.add_argument("--module", action="append", default=None,
                    help="module file to mutate, relative to the repository (repeatable; "
                    "replaces the target's; a target module keeps its --only functions)")
    ap.add_argument("--tests", action="append", default=None,
                    help="test file or folder that judges the mutants (repeatable; replaces "
                    "the target's)")
    ap.add_argument("--only", action="append", default=None,
                    help="mutate only inside this function or Class.method of the (single) "
                    "module (repeatable)")
    ap.add_argument("--sample", type=int, default=60, help="mutants to test, drawn at random "
                    "(0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draw", choices=("pooled", "per-module"), default=None,
                    help="with several modules, draw --sample from all their mutants together "
                    "(pooled, the default) or --sample from each (the encode preset's default)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds before a mutant's "
                    "tests count as hung (killed)")
    ap.add_argument("--tool-path", help="folder where cosmic-ray is installed (pip --target)")
    ap.add_argument("--show", type=int, default=10, help="surviving mutants to print")
    ap.add_argument("--json", help="write the figures and survivors here")
    ap.add_argument("--repo", type=Path, default=ROOT, help="the source tree to copy (default: "
                    "this one; e.g. an exported older commit, for a before/after score)")
    args = ap.parse_args(argv)
    preset = TARGETS[args.target or "stats"]
    modules = args.module or preset["modules"]
    tests = args.tests or preset["tests"]
    only = {m: names for m, names in (preset["only"] or {}).items() if m in modules}
    if args.only:
        if len(modules) != 1:
            ap.error("--only needs exactly one module")
        only = {modules[0]: args.only}

    tool_env = dict(os.environ)
    if args.tool_path:
        tool_env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.tool_path, tool_env.get("PYTHONPATH")]))
    probe = subprocess.run([sys.executable, "-c", "import cosmic_ray"], env=tool_env,
                           capture_output=True, check=False)
    if probe.returncode:
        print("cosmic-ray is not importable: install it apart (pip install --target DIR "
              "cosmic-ray==8.7.0) and give --tool-path DIR", file=sys.stderr)
        return 2

    summary: dict = {"target": args.target, "modules": {}, "tests": tests, "sample": args.sample,
                     "seed": args.seed, "only": only}
    with tempfile.TemporaryDirectory(prefix="ecgwb-mutation-") as tmp:
        work = Path(tmp) / "repo"
        work.mkdir()
        _copy_tree(args.repo.resolve(), work, tests)
        test_env = " ".join([f"PYTHONPATH={work}", "OMP_NUM_THREADS=1"])
        deselect = [d for d in preset.get("deselect", []) if d.split("::")[0] in tests]
        command = (f"env -u PYTHONPATH {test_env} {sys.executable} -m pytest -x -q "
                   f"-p no:cacheprovider {' '.join(tests)}"
                   + "".join(f" --deselect {d}" for d in deselect))
        summary["deselected"] = deselect
        print(f"judge: {' '.join(tests)}" + "".join(f" --deselect {d}" for d in deselect),
              flush=True)
        base = subprocess.run(command, shell=True, cwd=work, capture_output=True, text=True,
                              check=False)
        if base.returncode:
            print(f"the unmutated tests fail; fix them first\n{base.stdout[-2000:]}",
                  file=sys.stderr)
            return 1
        cr = [sys.executable, "-m", "cosmic_ray.cli"]
        configs, dbs = {}, {}
        for module in modules:
            name = Path(module).stem
            config, db = work / f"{name}.toml", work / f"{name}.sqlite"
            config.write_text(
                "[cosmic-ray]\n"
                f'module-path = "{module}"\n'
                f"timeout = {args.timeout}\n"
                "excluded-modules = []\n"
                f"test-command = {json.dumps(command)}\n\n"
                '[cosmic-ray.distributor]\nname = "local"\n')
            subprocess.run([*cr, "init", str(config), str(db)], cwd=work, env=tool_env, check=True,
                           stdout=subprocess.DEVNULL)
            if module in only:
                _restrict(db, function_lines((work / module).read_text(), only[module]))
            configs[module], dbs[module] = config, db
        draw = args.draw or preset.get("draw", "pooled")
        summary["draw"] = draw
        totals = _draw(dbs, args.sample, args.seed, pooled=draw == "pooled")
        for module in modules:
            config, db, total = configs[module], dbs[module], totals[module]
            t0 = time.perf_counter()
            subprocess.run([*cr, "exec", str(config), str(db)], cwd=work, env=tool_env, check=True)
            seconds = time.perf_counter() - t0
            res = _results(db, (work / module).read_text())
            tested = [r for r in res if r["worker"] == "normal"]
            killed = [r for r in tested if r["test"] == "killed"]
            survived = [r for r in tested if r["test"] == "survived"]
            low, high = wilson(len(killed), len(tested))
            notes = [r for r in tested if r["annotation"]]
            real = [r for r in tested if not r["annotation"]]
            real_killed = [r for r in real if r["test"] == "killed"]
            summary["modules"][module] = {
                "mutants": total, "tested": len(tested), "killed": len(killed),
                "survived": len(survived), "score": len(killed) / len(tested) if tested else None,
                "ci95": [low, high], "seconds": round(seconds, 1),
                "other_outcomes": len(res) - len(tested),
                "in_annotations": len(notes), "killed_outside_annotations": len(real_killed),
                "score_outside_annotations": len(real_killed) / len(real) if real else None,
                "survivors": [{k: r[k] for k in ("operator", "line", "annotation", "diff")}
                              for r in survived],
            }
            print(f"{module}: {len(killed)}/{len(tested)} mutants killed "
                  f"({100 * len(killed) / max(1, len(tested)):.0f}%, 95% CI {100 * low:.0f}–"
                  f"{100 * high:.0f}%) of {total}, in {seconds:.0f} s", flush=True)
            if notes:
                print(f"  {len(notes)} of them change a function annotation (equivalent under "
                      f"`from __future__ import annotations`); the others: {len(real_killed)}/"
                      f"{len(real)} killed ({100 * len(real_killed) / max(1, len(real)):.0f}%)")
            for r in survived[: args.show]:
                diff = "\n".join(line for line in (r["diff"] or "").splitlines()
                                 if line[:1] in "+-" and line[:3] not in ("+++", "---"))
                tag = " (annotation: equivalent)" if r["annotation"] else ""
                print(f"  survived: line {r['line']} {r['operator']}{tag}\n    "
                      + diff.replace("\n", "\n    "))
        if len(modules) > 1:
            summary["total"] = _total(summary["modules"])
            t = summary["total"]
            print(f"all {len(modules)} modules: {t['killed']}/{t['tested']} killed "
                  f"({100 * (t['score'] or 0):.0f}%, 95% CI {100 * t['ci95'][0]:.0f}–"
                  f"{100 * t['ci95'][1]:.0f}%) of {t['mutants']}; outside annotations "
                  f"{t['killed_outside_annotations']}/{t['tested'] - t['in_annotations']}; "
                  f"{t['seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0
