"""The saliency beat figure shades the P, QRS, ST and T regions that the region bars sum
over (ecgcore.signal.regions, the one definition), above the attribution band; and the
latent map lets a click select a point (drag mode zoom) and names raw-unit axes."""

from __future__ import annotations

import numpy as np

from ecgcore.signal.fiducials import FIDUCIAL_KEYS
from ecgcore.signal.regions import region_masks
from ecgcore.viz.latent import latent_scatter_figure
from ecgcore.viz.saliency import saliency_beat_figure

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
FS, R, W = 500.0, 200, 400


def _fid(**points: float) -> np.ndarray:
    row = np.full(len(FIDUCIAL_KEYS), np.nan)
    for key, value in points.items():
        row[FIDUCIAL_KEYS.index(key)] = value
    return row


def _shaded_samples(fig, region: str, axis: str) -> np.ndarray:
    """Sample indices whose centre lies inside the figure's rectangle for ``region``."""
    (shape,) = [s for s in fig.layout.shapes if s.name == f"region {region}" and s.xref == axis]
    t = (np.arange(W) - R) * 1000.0 / FS
    return np.flatnonzero((t > shape.x0) & (t < shape.x1))


def test_regions_shaded_are_the_regions_summed():
    rng = np.random.default_rng(1)
    beat = (rng.standard_normal((12, W)) * 200).astype(np.float32)
    attr = rng.standard_normal((12, W))
    fid = _fid(r=R, qrs_on=R - 22, qrs_off=R + 24, p_on=R - 85, p_off=R - 35, t_peak=R + 120,
               t_off=R + 165)
    fig = saliency_beat_figure(beat, attr, FS, LEADS, R, show=["II", "V2", "V5"], fiducials=fid)
    masks = region_masks(fid, W)
    axes = sorted({s.xref for s in fig.layout.shapes if (s.name or "").startswith("region")})
    assert axes == ["x", "x2", "x3"]  # every panel shown
    for region in ("P", "QRS", "ST", "T"):
        for axis in axes:
            np.testing.assert_array_equal(_shaded_samples(fig, region, axis),
                                          np.flatnonzero(masks[region][0]))
    # shading stops above the band; names only on the first panel
    assert {s.y0 for s in fig.layout.shapes if (s.name or "").startswith("region")} == {0.1}
    named = [a for a in fig.layout.annotations if (a.name or "").startswith("region:")]
    assert sorted(a.text for a in named) == ["P", "QRS", "ST", "T"]
    assert {a.xref for a in named} == {"x"}


def test_a_missing_wave_is_not_shaded_and_no_fiducials_no_shading():
    beat = np.zeros((12, W), dtype=np.float32)
    attr = np.zeros((12, W))
    af = _fid(r=R, qrs_on=R - 20, qrs_off=R + 20, t_peak=R + 110, t_off=R + 160)  # no P
    fig = saliency_beat_figure(beat, attr, FS, LEADS, R, show=["II"], fiducials=af)
    names = sorted(s.name for s in fig.layout.shapes if (s.name or "").startswith("region"))
    assert names == ["region QRS", "region ST", "region T"]
    plain = saliency_beat_figure(beat, attr, FS, LEADS, R, show=["II"])
    assert not [s for s in plain.layout.shapes if (s.name or "").startswith("region")]


def test_latent_map_clicks_select_and_raw_axes_are_named():
    xy = np.random.default_rng(0).standard_normal((50, 2))
    fig = latent_scatter_figure(xy, ["a"] * 25 + ["b"] * 25, kind="categorical", label="g")
    # Streamlit makes a click select a point only while the drag mode is zoom or pan
    assert fig.layout.dragmode == "zoom"
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("PC 1", "PC 2")
    raw = latent_scatter_figure(xy, np.arange(50.0), kind="continuous", label="age",
                                method="units", axis_titles=("z3", "z0"))
    assert (raw.layout.xaxis.title.text, raw.layout.yaxis.title.text) == ("z3", "z0")
    assert raw.layout.uirevision != fig.layout.uirevision
    np.testing.assert_array_equal(np.asarray(raw.data[0].x), xy[:, 0].astype(np.float32))
