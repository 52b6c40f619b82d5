"""The one RunArtifacts per run that every view shares (loaded model, encodings, caches)."""

from __future__ import annotations

import streamlit as st

from ecgcore.explain.runs import RunArtifacts, run_stamp


@st.cache_resource(show_spinner=False, max_entries=16)
def _artifacts(run: str, data: str | None, stamp: tuple[int, int]) -> RunArtifacts:
    return RunArtifacts(run, data)


def run_artifacts(run: str, data: str | None = None) -> RunArtifacts:
    """The RunArtifacts of ``run`` on ``data`` (None: the run's own dataset), shared by every
    view and session; a retrained run (new weights) gets a fresh one."""
    return _artifacts(run, data, run_stamp(run))
