"""The shared table writer of `ecgwb reproduce`: the paper's value beside ours, per row.

A :class:`Row` names the paper's table or figure it redoes, what is compared, the paper's
value as printed in the seed text (a string: transcribed, never computed) and ours (a
number computed from this run, or None with the reason in ``note``). :func:`write_report`
writes one Markdown file per seed: the rows grouped by table, the stand-ins, the command
and the wall time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    table: str  # the paper's table / figure / section redone, e.g. "Table 1"
    what: str  # the row: model and metric
    paper: str  # the paper's value, exactly as printed (or "—" when the paper gives none)
    ours: float | None  # computed from our run; None: not computed (why in ``note``)
    fmt: str = "{:.3f}"
    ci: tuple[float, float] | None = None  # our 95 % CI, where we have one
    note: str = ""

    def ours_text(self) -> str:
        if self.ours is None or not math.isfinite(self.ours):
            return "–"
        text = self.fmt.format(self.ours)
        if self.ci and all(v is not None and math.isfinite(v) for v in self.ci):
            text += f" ({self.fmt.format(self.ci[0])}–{self.fmt.format(self.ci[1])})"
        return text


@dataclass
class Report:
    seed: str
    title: str
    rows: list[Row] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)  # data, stand-ins, protocol (bullets)
    notes: list[str] = field(default_factory=list)  # what is not redone and why
    runs: dict[str, str] = field(default_factory=dict)  # label -> run folder


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report, command: str, wall_s: float) -> str:
    lines = [f"# Seed {report.seed}: {report.title}", "",
             f"Command: `{command}`  ", f"Wall time: {wall_s / 60:.1f} min ({wall_s:.0f} s)", ""]
    if report.setting:
        lines += ["## Setting", ""] + [f"- {s}" for s in report.setting] + [""]
    tables: list[str] = []
    for row in report.rows:
        if row.table not in tables:
            tables.append(row.table)
    for name in tables:
        lines += [f"## {name}", "", "| row | paper | ours | note |", "|---|---|---|---|"]
        for row in (r for r in report.rows if r.table == name):
            lines.append(f"| {_cell(row.what)} | {_cell(row.paper)} | {row.ours_text()} | "
                         f"{_cell(row.note)} |")
        lines.append("")
    if report.notes:
        lines += ["## Not redone", ""] + [f"- {n}" for n in report.notes] + [""]
    if report.runs:
        lines += ["## Runs", ""] + [f"- {k}: `{v}`" for k, v in report.runs.items()] + [""]
    return "\n".join(lines)


def write_report(report: Report, path: Path, command: str, wall_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(report, command, wall_s))
    return path
