"""Layers point down: ecgcore (the library) → trainer → ecgwb (command line, benchmarks) →
app, pages, ui. Read from the source with ast, so that imports inside functions count too.

- nothing under ``ecgcore/`` imports ``trainer``, ``ecgwb``, ``streamlit``, ``app``,
  ``pages`` or ``ui``;
- nothing under ``trainer/`` imports ``ecgwb``, ``streamlit``, ``app``, ``pages`` or ``ui``;
- the parts of ecgcore (its sub-packages io, signal, data, models, evaluate, explain, viz,
  runs, … and its top-level modules checkpoint, leads, files, preprocessing) import each
  other without a cycle. ``if TYPE_CHECKING:`` blocks count like any other import.
"""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "ecgcore": {"trainer", "ecgwb", "streamlit", "app", "pages", "ui"},
    "trainer": {"ecgwb", "streamlit", "app", "pages", "ui"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved
    against ``module`` (default: the file's module in this repository)."""
    tree = ast.parse(path.read_text(), str(path))
    package = (module or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from ecgcore import bench` imports the module ecgcore.bench
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
            out.append((node.lineno, name))
    return out


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def forbidden_imports(package: str) -> list[str]:
    bad = []
    for path in _files(package):
        for line, name in imports_of(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(set(bad))


def part_of(name: str) -> str | None:
    """The part of ecgcore a module belongs to: ``ecgcore.data.cache`` → ``data``,
    ``ecgcore.checkpoint`` → ``checkpoint``; None outside ecgcore or for ecgcore itself."""
    parts = name.split(".")
    if parts[0] != "ecgcore" or len(parts) < 2:
        return None
    return parts[1]


def part_graph() -> dict[str, dict[str, str]]:
    """``{part: {imported part: 'file:line' of one such import}}`` within ecgcore."""
    known = {p.name for p in (ROOT / "ecgcore").iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    known = {p.removesuffix(".py") for p in known} - {"__init__"}
    graph: dict[str, dict[str, str]] = {}
    for path in _files("ecgcore"):
        src = part_of(_module_name(path))
        if src is None:
            continue
        for line, name in imports_of(path):
            dst = part_of(name)
            if dst is not None and dst != src and dst in known:
                graph.setdefault(src, {}).setdefault(dst, f"{path.relative_to(ROOT)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str]:
    """One cycle of the graph as [a, b, …, a], or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    bad = forbidden_imports(package)
    assert not bad, f"{package} must not import {sorted(FORBIDDEN[package])}:\n" + "\n".join(bad)


def test_no_cycle_between_the_parts_of_ecgcore():
    graph = part_graph()
    cycle = find_cycle(graph)
    where = [graph[a][b] for a, b in pairwise(cycle)]
    assert not cycle, "import cycle " + " → ".join(cycle) + ":\n" + "\n".join(where)


def test_the_checks_see_what_they_must(tmp_path):
    """The parser finds imports inside functions and relative ones; the cycle finder finds
    a cycle of three and none in a chain (answers written out by hand)."""
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    import trainer.run\n    from streamlit import cache_data\n"
                   "from ..runs import Run\n")
    names = {n for _, n in imports_of(src, "ecgcore.explain.mod")}
    assert {"trainer.run", "streamlit", "streamlit.cache_data", "ecgcore.runs.Run"} <= names
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {}}) == []
