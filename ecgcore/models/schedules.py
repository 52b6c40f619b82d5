"""β schedules: the weight of the KL term as a function of training progress.

Each schedule is a frozen pydantic model (so it travels inside a model's config.json) and
a callable ``schedule(t) -> float``, where ``t`` counts from 0 in the schedule's ``unit``
(epochs or optimiser steps). ``schedule.at(step=..., epoch=...)`` picks the right counter,
so a trainer can pass both without knowing which one the schedule uses.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Unit = Literal["epoch", "step"]


class BetaSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    unit: Unit = "epoch"

    def __call__(self, t: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def at(self, *, step: int = 0, epoch: int = 0) -> float:
        """β at this point of training, read from the counter named by ``unit``."""
        return self(epoch if self.unit == "epoch" else step)


class ConstantBeta(BetaSchedule):
    """β = ``value`` throughout."""

    kind: Literal["constant"] = "constant"
    value: float = Field(1.0, ge=0)

    def __call__(self, t: float) -> float:
        return float(self.value)


class CyclicalBeta(BetaSchedule):
    """Cyclical annealing after Fu et al. (2019), "Cyclical Annealing Schedule", eq. 1.

    The ``length`` units are split into ``n_cycles`` cycles of ``period = length / n_cycles``.
    With ``tau = (t mod ceil(period)) / period`` (0-based ``t``; the paper's ``t-1``):
    ``beta = max_beta * tau / ratio`` while ``tau <= ratio``, else ``max_beta``. So each cycle
    ramps 0 → max_beta over the first ``ratio`` of the cycle, holds, then drops back to 0.
    Past ``length``, β stays at ``max_beta`` (the last cycle's hold).
    """

    kind: Literal["cyclical"] = "cyclical"
    length: int = Field(100, ge=1, description="total epochs/steps covered by the cycles")
    n_cycles: int = Field(4, ge=1)
    max_beta: float = Field(5.0, ge=0)
    ratio: float = Field(0.5, gt=0, le=1, description="fraction of each cycle spent ramping")

    def __call__(self, t: float) -> float:
        if t < 0:
            raise ValueError(f"schedule position must be >= 0, got {t}")
        if t >= self.length:
            return float(self.max_beta)
        period = self.length / self.n_cycles
        tau = (t % math.ceil(period)) / period
        return float(self.max_beta * min(1.0, tau / self.ratio))


class AnnealedBeta(BetaSchedule):
    """Monotone annealing from ``start`` to ``end`` over ``length`` units, then ``end``.

    linear: ``start + (end - start) * t / length``;
    cosine: ``end + (start - end) * (1 + cos(pi * t / length)) / 2``.
    Seed 000's Aβ-VAE anneals 10 → 0 (structure first, fidelity last).
    """

    kind: Literal["annealed"] = "annealed"
    start: float = Field(10.0, ge=0)
    end: float = Field(0.0, ge=0)
    length: int = Field(100, ge=1)
    shape: Literal["linear", "cosine"] = "linear"

    def __call__(self, t: float) -> float:
        if t < 0:
            raise ValueError(f"schedule position must be >= 0, got {t}")
        frac = min(1.0, t / self.length)
        if self.shape == "linear":
            return float(self.start + (self.end - self.start) * frac)
        return float(self.end + (self.start - self.end) * (1 + math.cos(math.pi * frac)) / 2)


ScheduleSpec = Annotated[ConstantBeta | CyclicalBeta | AnnealedBeta, Field(discriminator="kind")]
