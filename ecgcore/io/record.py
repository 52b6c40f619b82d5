"""The in-memory ECG record that every stage after ``ecgcore.io`` receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgcore.leads import STANDARD_LEADS


class RecordError(ValueError):
    """A record that cannot be used; the message names the file and the problem."""

    def __init__(self, source: str | Path | None, problem: str):
        self.source = None if source is None else str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


@dataclass
class Record:
    """One ECG recording.

    ``signal`` is float32 microvolts shaped ``[leads, samples]`` in the order of ``leads``
    (the standard 12-lead order for everything the readers return). Leads that the file
    lacks are listed in ``missing_leads`` and filled with NaN so that shapes stay fixed.
    A record with none of the 12-lead names keeps its own leads (``('ECG',)``). Leads left
    out for their content (flat, saturated, spiking…) are NaN rows named in ``bad_leads``
    with the reason; they are not in ``missing_leads``.
    """

    record_id: str
    signal: np.ndarray
    fs: float
    leads: tuple[str, ...] = STANDARD_LEADS
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    missing_leads: tuple[str, ...] = ()
    bad_leads: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.signal.ndim != 2:
            raise RecordError(self.source, f"signal must be 2-D [leads, samples], got {self.signal.shape}")
        if self.signal.shape[0] != len(self.leads):
            raise RecordError(
                self.source, f"{self.signal.shape[0]} signal rows but {len(self.leads)} lead names"
            )
        if not self.fs > 0:
            raise RecordError(self.source, f"sampling rate must be positive, got {self.fs}")

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    @property
    def usable_leads(self) -> tuple[str, ...]:
        """Leads neither missing nor left out as bad."""
        return tuple(
            lead for lead in self.leads if lead not in self.missing_leads and lead not in self.bad_leads
        )

    def lead(self, name: str) -> np.ndarray:
        return self.signal[list(self.leads).index(name)]
