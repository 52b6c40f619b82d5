"""The one :class:`ecgcore.runs.Run` per run that every view shares (loaded model,
encodings, cached results)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from ecgcore.runs import Run, RunError, run_stamp
from ui.lead_map import current_lead_map


@st.cache_resource(show_spinner=False, max_entries=16)
def _open(run: str, data: str | None, stamp: tuple[int, int],
          lead_map: tuple[tuple[str, str], ...] = ()) -> Run:
    return Run(run, data, lead_map=dict(lead_map) or None)


def open_run(run: str, data: str | None = None) -> Run:
    """The Run of ``run`` on ``data`` (None: the run's own dataset), shared by every
    view and session; a retrained run (new weights) gets a fresh one. A folder given as
    ``data`` is read through the lead map the sidebar holds for it (``ui/lead_map.py``)."""
    return _open(run, data, run_stamp(run), current_lead_map(data) if data else ())


def open_runs(runs: Sequence[str], need: Callable[[Run], Any], spinner: str | None = None
              ) -> dict[str, Run]:
    """``{path: Run}`` of the runs for which ``need(run)`` (what the view uses first: the
    embedding, the model…) succeeds; a warning naming each run that fails. ``spinner``:
    the text shown meanwhile (``{name}`` is the run's name)."""
    loaded: dict[str, Run] = {}
    for path in runs:
        run = open_run(path)
        try:
            if spinner:
                with st.spinner(spinner.format(name=Path(path).name)):
                    need(run)
            else:
                need(run)
        except RunError as exc:
            st.warning(f"{Path(path).name}: {exc}", icon=":material/warning:")
            continue
        loaded[path] = run
    return loaded
