"""The saliency beat figure keeps the beat black and whole: the attribution is a strip of
colour at the foot of each panel (or, on request, dots on the beat)."""

from __future__ import annotations

import numpy as np

from ecgcore.viz.saliency import saliency_beat_figure

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_attribution_is_a_band_under_the_beat():
    rng = np.random.default_rng(0)
    beat = (rng.standard_normal((12, 400)) * 300).astype(np.float32)
    attr = rng.standard_normal((12, 400))
    fig = saliency_beat_figure(beat, attr, 500.0, LEADS, 200, show=["II", "V2", "V5"])
    lines = [t for t in fig.data if t.mode == "lines"]
    bands = [t for t in fig.data if t.mode == "markers"]
    assert len(bands) == 3
    for band, lead in zip(bands, ["II", "V2", "V5"]):
        axis = "yaxis" + ("" if band.yaxis in (None, "y") else band.yaxis[1:])
        lo, hi = sorted(fig.layout[axis].range)
        assert np.all(np.asarray(band.y) == np.float32(lo + 0.05 * (hi - lo)))
        assert band.marker.symbol == "square"
        np.testing.assert_array_equal(band.customdata, attr[LEADS.index(lead)])
    assert all(t.line.color == lines[0].line.color for t in lines)  # the beat, one colour

    dots = saliency_beat_figure(beat, attr, 500.0, LEADS, 200, show=["II"], band=False)
    (marker,) = [t for t in dots.data if t.mode == "markers"]
    np.testing.assert_array_equal(marker.y, beat[1])
