"""Trained runs: one :class:`Run` object opens a run folder, rebuilds its dataset the way it
was trained, loads and runs its model, and caches every result next to the run.

- ``run``:        :class:`Run`, :class:`RunError`
- ``listing``:    :func:`list_runs`, :func:`run_problem`, :func:`run_stamp` (small files only)
- ``evaluation``: :func:`evaluate_run` (``ecgwb evaluate``), :func:`report_rows`
- ``clustering``, ``saliency``: the views' cluster scores and saliency maps of a run
- ``weights_check``, ``atomic``, ``annotation_files``: file-level helpers

Nothing here imports torch until a model is loaded.
"""

from ecgcore.runs.listing import RUN_COLUMNS, list_runs, run_problem, run_stamp
from ecgcore.runs.run import PROJECTIONS, Run, RunError

__all__ = ["PROJECTIONS", "RUN_COLUMNS", "Run", "RunError", "list_runs", "run_problem", "run_stamp"]
