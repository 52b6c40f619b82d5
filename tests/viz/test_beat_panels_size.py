"""Overlaid beats keep their panels' size: the amplitude range can be fitted to a reference
beat (a wild reconstruction is clipped, not allowed to stretch the panels), and a long
legend gets a margin of its own instead of shrinking the plot area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgcore.io.wfdb_reader import read_wfdb
from ecgcore.signal.pipeline import process_record
from ecgcore.viz import beat_panels_figure

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "ptbxl100"


@pytest.fixture(scope="module")
def beat():
    return process_record(read_wfdb(DEMO / "records100" / "00000" / "00001_lr"))


def _plot_area(fig) -> tuple[float, float]:
    m = fig.layout.margin
    return fig.layout.height - m.t - m.b, fig.layout.width - m.l - m.r


def test_range_beats_fit_the_panels_to_the_reference(beat):
    median = beat.median.astype(np.float32)
    r = int(np.argmax(np.abs(median[1])))
    wild = median * 6.0  # a reconstruction six times too large
    kw = {"show": ["II", "V5"], "px_per_mm": 10.0, "max_height_px": 520}
    alone = beat_panels_figure(median[None], beat.fs, beat.leads, r, names=["beat"],
                               colors=["#000"], **kw)
    fitted = beat_panels_figure(np.stack([median, wild]), beat.fs, beat.leads, r,
                                names=["beat", "wild"], colors=["#000", "#00f"],
                                range_beats=median[None], **kw)
    free = beat_panels_figure(np.stack([median, wild]), beat.fs, beat.leads, r,
                              names=["beat", "wild"], colors=["#000", "#00f"], **kw)
    assert tuple(fitted.layout.yaxis.range) == tuple(alone.layout.yaxis.range)
    assert _plot_area(fitted) == _plot_area(alone)
    lo, hi = free.layout.yaxis.range
    shown = median[[beat.leads.index("II"), beat.leads.index("V5")]] * 6.0
    assert lo <= shown.min() and shown.max() <= hi  # without: the range follows the wild beat
    with pytest.raises(ValueError, match="range_beats"):
        beat_panels_figure(median[None], beat.fs, beat.leads, r, names=["b"], colors=["#000"],
                           range_beats=median[None, :3])


def test_a_long_legend_adds_margin_not_smaller_panels(beat):
    median = beat.median.astype(np.float32)
    r = int(np.argmax(np.abs(median[1])))
    names = [f"a-run-with-a-long-name-20261206-{i:06d}" for i in range(5)]
    one = beat_panels_figure(median[None], beat.fs, beat.leads, r, names=["median beat"],
                             colors=["#000"], show=["II", "V5"], range_beats=median[None])
    many = beat_panels_figure(np.stack([median] * 6), beat.fs, beat.leads, r,
                              names=["median beat", *names], colors=["#000"] * 6,
                              show=["II", "V5"], range_beats=median[None])
    assert _plot_area(many) == _plot_area(one)
    assert many.layout.margin.t > one.layout.margin.t
    assert many.layout.height - one.layout.height == many.layout.margin.t - one.layout.margin.t
