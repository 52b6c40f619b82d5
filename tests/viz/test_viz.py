"""ECG-paper figures on a real demo record: the grid's scale, labels, R peaks, wave shading."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ecgcore.io.wfdb_reader import read_wfdb
from ecgcore.leads import STANDARD_LEADS
from ecgcore.signal.fiducials import Fiducials
from ecgcore.signal.pipeline import process_record
from ecgcore.viz import (
    THEME,
    ecg_paper_figure,
    median_beat_figure,
    sigma_label,
    traversal_figure,
    wave_regions,
)
from ecgcore.viz.beats import SLIDER_PX

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "ptbxl100"


@pytest.fixture(scope="module")
def beat():
    return process_record(read_wfdb(DEMO / "records100" / "00000" / "00001_lr"))


@pytest.fixture(scope="module")
def paper(beat):
    return ecg_paper_figure(beat.signal, beat.fs, beat.leads, beat.rpeaks, title="ECG 1")


def _grid(axis) -> tuple[float, float]:
    """(minor, major) grid spacing of a layout axis, in data units."""
    major = np.diff(np.asarray(axis.tickvals, dtype=float))
    assert major.size > 0 and np.allclose(major, major[0])
    assert axis.showgrid and axis.minor.showgrid
    assert axis.minor.tickmode == "linear" and axis.minor.tick0 == 0
    return float(axis.minor.dtick), float(major[0])


def _lead_traces(fig, leads):
    return [t for t in fig.data if t.name in leads]


def test_paper_grid_is_25mm_per_s_and_10mm_per_mv(paper):
    assert _grid(paper.layout.xaxis) == (40.0, 200.0)  # ms: 1 mm and 5 mm at 25 mm/s
    assert _grid(paper.layout.yaxis) == (100.0, 500.0)  # µV: 1 mm and 5 mm at 10 mm/mV
    # A millimetre is square: 1 µV spans 40/100 of the pixels of 1 ms.
    assert paper.layout.yaxis.scaleanchor == "x"
    assert paper.layout.yaxis.scaleratio == pytest.approx(0.4)
    # Bold lines are aligned on 0 so that baselines fall on them.
    assert np.allclose(np.mod(paper.layout.xaxis.tickvals, 200.0), 0.0)
    assert np.allclose(np.mod(paper.layout.yaxis.tickvals, 500.0), 0.0)


def test_paper_traces_are_the_signal_in_ms_and_uv(beat, paper):
    traces = _lead_traces(paper, beat.leads)
    assert [t.name for t in traces] == list(STANDARD_LEADS)
    offsets = []
    for row, trace in enumerate(traces):
        assert trace.x0 == 0 and trace.dx == pytest.approx(1000.0 / beat.fs)
        y = np.asarray(trace.y, dtype=float)
        expected = beat.signal[row] - np.median(beat.signal[row])
        offset = float(np.median(y - expected))
        np.testing.assert_allclose(y - offset, expected, atol=0.5)
        offsets.append(round(offset))
    # Leads stacked downwards in order, each baseline on a bold (5 mm) line.
    assert np.all(np.diff(offsets) < 0)
    assert np.allclose(np.mod(offsets, 500.0), 0.0)
    # Hover amplitude is the trace's own µV value.
    np.testing.assert_allclose(np.asarray(traces[1].customdata, dtype=float),
                               np.round(beat.signal[1] - np.median(beat.signal[1])), atol=1)


def test_paper_labels_rpeaks_and_calibration(beat, paper):
    texts = " ".join(a.text for a in paper.layout.annotations)
    for lead in STANDARD_LEADS:
        assert f"<b>{lead}</b>" in texts
    assert "25 mm/s" in texts and "10 mm/mV" in texts
    (r,) = [t for t in paper.data if t.name == "R peaks"]
    np.testing.assert_allclose(r.x, beat.rpeaks * 1000.0 / beat.fs)
    (cal,) = [t for t in paper.data if t.name == "1 mV calibration"]
    ys = np.array([v for v in cal.y if v is not None], dtype=float)
    xs = np.array([v for v in cal.x if v is not None], dtype=float)
    assert np.ptp(ys[:6]) == 1000.0  # 1 mV = 10 mm
    assert np.ptp(xs[2:4]) == 200.0  # 200 ms = 5 mm wide
    assert paper.layout.title.text == "ECG 1"


def test_paper_3x4_layout(beat):
    fig = ecg_paper_figure(beat.signal, beat.fs, beat.leads, beat.rpeaks, layout="3x4")
    traces = _lead_traces(fig, beat.leads)
    assert len(traces) == 13  # 12 segments of 2.5 s and the lead II rhythm strip
    assert sorted({t.name for t in traces}) == sorted(STANDARD_LEADS)
    v4 = next(t for t in traces if t.name == "V4")
    assert v4.x0 == pytest.approx(7500.0)
    assert _grid(fig.layout.xaxis) == (40.0, 200.0)
    with pytest.raises(ValueError, match="3x4"):
        ecg_paper_figure(beat.signal[:3], beat.fs, beat.leads[:3], layout="3x4")


def test_median_beat_panels_on_paper(beat):
    fig = median_beat_figure(beat.analysis_median, beat.fs, beat.leads, beat.analysis_fiducials)
    traces = [t for t in fig.data if t.name in beat.leads]
    assert len(traces) == 12
    layout = fig.layout.to_plotly_json()
    for k in range(1, 13):
        sfx = "" if k == 1 else str(k)
        xa, ya = fig.layout[f"xaxis{sfx}"], fig.layout[f"yaxis{sfx}"]
        assert _grid(xa) == (40.0, 200.0) and _grid(ya) == (100.0, 500.0)
        assert ya.scaleanchor == f"x{sfx}" and ya.scaleratio == pytest.approx(0.4)
    assert layout["yaxis"]["range"] == layout["yaxis12"]["range"]  # one amplitude scale
    # Time relative to R: sample r is at 0 ms.
    ii = next(t for t in traces if t.name == "II")
    x = np.asarray(ii.x, dtype=float)
    assert x[beat.analysis_fiducials.r] == 0.0
    np.testing.assert_allclose(np.diff(x), 1000.0 / beat.fs)
    np.testing.assert_allclose(ii.y, beat.analysis_median[1], atol=1e-3)
    labels = {a.text for a in fig.layout.annotations}
    assert {f"<b>{lead}</b>" for lead in STANDARD_LEADS} <= labels


def test_median_shading_matches_fiducials(beat):
    fid = beat.analysis_fiducials
    fig = median_beat_figure(beat.analysis_median, beat.fs, beat.leads, fid)
    ms = 1000.0 / beat.fs
    shapes = {s.name: s for s in fig.layout.shapes}

    def edges(first: float, last: float) -> tuple[float, float]:  # samples, inclusive
        return ((first - 0.5 - fid.r) * ms, (last + 0.5 - fid.r) * ms)

    qrs = shapes["QRS:V1"]
    assert (qrs.x0, qrs.x1) == pytest.approx(edges(fid.qrs_on, fid.qrs_off))
    # ST: J point to midway to the T peak; T from there to the T end; they touch.
    mid = (fid.qrs_off + fid.t_peak) // 2
    st = shapes["ST:V1"]
    assert (st.x0, st.x1) == pytest.approx(edges(fid.qrs_off + 1, mid - 1))
    t = shapes["T:V1"]
    assert (t.x0, t.x1) == pytest.approx((st.x1, edges(mid, fid.t_off)[1]))
    # Every panel is shaded alike, in its own axes, over the full panel height.
    for lead in STANDARD_LEADS:
        s = shapes[f"QRS:{lead}"]
        assert s.yref.endswith(" domain") and (s.y0, s.y1) == (0, 1)
        assert s.fillcolor == THEME.wave_colors["QRS"]


def test_wave_regions_rules():
    fid = Fiducials(fs=500.0, r=250, qrs_on=230, qrs_off=280, p_on=150, p_off=200,
                    t_peak=380, t_off=430)
    reg = wave_regions(fid)
    # Samples [start, stop) drawn from start − ½ to stop − ½ (1 ms at 500 Hz): midpoint
    # between J (280) and T peak (380) is 330.
    assert reg == {"P": (-201.0, -99.0), "QRS": (-41.0, 61.0), "ST": (61.0, 159.0),
                   "T": (159.0, 361.0)}
    # No P, no T end: those waves are left out; without a T peak there is no ST/T border.
    short = dataclasses.replace(fid, p_on=None, p_off=None, t_peak=300, t_off=None)
    assert wave_regions(short) == {"QRS": (-41.0, 61.0), "ST": (61.0, 79.0)}
    no_t = dataclasses.replace(fid, t_peak=None, t_off=None)
    assert set(wave_regions(no_t)) == {"P", "QRS"}


def test_median_shading_clipped_to_window(beat):
    # P onset before the window's start: shaded from the first sample only.
    fid = dataclasses.replace(beat.analysis_fiducials, p_on=-20, p_off=120)
    fig = median_beat_figure(beat.analysis_median, beat.fs, beat.leads, fid)
    p = next(s for s in fig.layout.shapes if s.name == "P:I")
    assert p.x0 == pytest.approx(-fid.r * 1000.0 / beat.fs)
    assert any(t.name == "P wave" and t.showlegend for t in fig.data)


SIGMAS = np.linspace(-3.0, 3.0, 7)
SIGMA_LABELS = ["−3σ", "−2σ", "−1σ", "0σ", "+1σ", "+2σ", "+3σ"]


def traversal_beats() -> np.ndarray:
    """``[7, 12, 300]`` µV: an R wave whose height grows with σ."""
    t = np.arange(300)
    r = np.exp(-0.5 * ((t - 100) / 5.0) ** 2)
    return np.stack([np.tile(800 * (1 + 0.1 * s) * r, (12, 1)) for s in SIGMAS])


def _traversal(**kw):
    return traversal_figure(traversal_beats(), SIGMAS, 500.0, list(STANDARD_LEADS), 100,
                            unit_name="z3", **kw)


def test_sigma_label_uses_a_typographic_minus():
    assert [sigma_label(s) for s in SIGMAS] == SIGMA_LABELS
    assert sigma_label(1e-12) == "0σ" and sigma_label(-1.5) == "−1.5σ"


def test_traversal_highlight_is_black_thick_and_on_top():
    fig = _traversal(highlight=2)
    assert not fig.layout.sliders  # no slider unless asked
    beats = fig.data[:-1]  # the last trace carries the σ colour bar
    assert len(beats) == 3 * 7  # II, V2, V5, the steps in order in each panel
    assert [t.name for t in beats[:7]] == [f"z3 {label}" for label in SIGMA_LABELS]
    black = [i for i, t in enumerate(beats) if t.line.color == THEME.trace_color]
    assert black == [2, 9, 16]
    for i, t in enumerate(beats):
        assert t.zorder == (1 if i in black else 0)
        assert (t.line.width > THEME.trace_width + 1) == (i in black)
    (note,) = [a for a in fig.layout.annotations if a.name == "highlight"]
    assert note.text == "black: z3 at −1σ"


def test_traversal_slider_step_k_restyles_step_k_black():
    fig = _traversal(highlight=3, slider=True)
    (slider,) = fig.layout.sliders
    assert slider.active == 3
    assert [step.label for step in slider.steps] == SIGMA_LABELS
    n_beats = len(fig.data) - 1
    note = next(i for i, a in enumerate(fig.layout.annotations) if a.name == "highlight")
    for k, step in enumerate(slider.steps):
        assert step.method == "update"  # in the browser: no server round trip
        style, layout, traces = step.args
        assert list(traces) == list(range(n_beats))  # not the colour-bar trace
        for i, trace in zip(traces, range(n_beats)):
            is_k = fig.data[trace].name == f"z3 {SIGMA_LABELS[k]}"
            assert (style["line.color"][i] == THEME.trace_color) == is_k
            assert style["zorder"][i] == int(is_k)
            assert style["opacity"][i] == (1.0 if is_k else 0.55)
        assert sum(c == THEME.trace_color for c in style["line.color"]) == 3  # one per panel
        assert layout == {f"annotations[{note}].text": f"black: z3 at {SIGMA_LABELS[k]}"}
    # the active step's restyle is the figure as drawn
    active = slider.steps[3].args[0]
    assert active["line.color"] == [t.line.color for t in fig.data[:n_beats]]
    assert active["line.width"] == [t.line.width for t in fig.data[:n_beats]]
    plain = _traversal(highlight=3)
    assert fig.layout.height == plain.layout.height + SLIDER_PX
    assert fig.layout.margin.b == plain.layout.margin.b + SLIDER_PX


def test_traversal_slider_starts_at_0_sigma_without_a_highlight():
    fig = _traversal(slider=True)
    assert fig.layout.sliders[0].active == 3
    assert {t.name for t in fig.data if t.line.color == THEME.trace_color} == {"z3 0σ"}
