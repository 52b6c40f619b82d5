"""Global fiducial points of a median beat and the intervals they define."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The order of the fiducial columns wherever they are stored as an array (the cache's
#: ``fiducials`` ``[N, 7]``, sample indices into the beat window, NaN = absent).
FIDUCIAL_KEYS = ("r", "qrs_on", "qrs_off", "p_on", "p_off", "t_peak", "t_off")


@dataclass(frozen=True)
class Fiducials:
    """Global fiducial points as sample indices into one median beat.

    Global means taken across all leads: the earliest onset and the latest offset seen in
    any lead. ``p_on``/``p_off`` are None when no P wave is found (atrial fibrillation,
    junctional rhythm); ``t_off`` is None when the T wave end cannot be found.
    """

    fs: float
    r: int
    qrs_on: int
    qrs_off: int
    p_on: int | None = None
    p_off: int | None = None
    t_peak: int | None = None
    t_off: int | None = None
    #: The T end hangs on which lobe of the T wave is its peak
    #: (:data:`ecgcore.signal.delineate.T_AMBIGUOUS_MS`): the QT is uncertain.
    t_ambiguous: bool = False

    def _ms(self, a: int | None, b: int | None) -> float | None:
        if a is None or b is None:
            return None
        return (b - a) * 1000.0 / self.fs

    @property
    def p_ms(self) -> float | None:
        return self._ms(self.p_on, self.p_off)

    @property
    def pr_ms(self) -> float | None:
        return self._ms(self.p_on, self.qrs_on)

    @property
    def qrs_ms(self) -> float:
        return self._ms(self.qrs_on, self.qrs_off)  # type: ignore[return-value]

    @property
    def qt_ms(self) -> float | None:
        return self._ms(self.qrs_on, self.t_off)

    def intervals(self) -> dict[str, float | None]:
        """P duration, PR, QRS duration and QT (ms); None where a boundary is absent."""
        return {"p_ms": self.p_ms, "pr_ms": self.pr_ms, "qrs_ms": self.qrs_ms, "qt_ms": self.qt_ms}

    def shifted(self, offset: int) -> Fiducials:
        """The same points in a window that starts ``offset`` samples later."""
        d = asdict(self)
        for key in ("r", "qrs_on", "qrs_off", "p_on", "p_off", "t_peak", "t_off"):
            if d[key] is not None:
                d[key] = d[key] - offset
        return Fiducials(**d)

    def to_dict(self) -> dict:
        return asdict(self)
