"""Run-level saliency of a model of 10-s signals (a tiny cnn_baseline): maps over the whole
signal, cached next to the run, summed over the median beat's regions placed at every beat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ecgcore.explain.saliency import attribute, region_attribution
from ecgcore.runs import Run
from ecgcore.runs import saliency as rs

REGIONS = ["P", "QRS", "ST", "T", "other"]


@pytest.fixture(scope="module")
def art(cnn_run) -> Run:
    return Run(cnn_run)


def test_signal_model_heads_maps_and_cache(art):
    assert rs.is_signal_model(art) and rs.map_width(art) == 1000  # 10 s at 100 Hz
    preds = rs.predictors(art)
    assert [p.key for p in preds[:5]] == ["head0", "head1", "head2", "head3", "head4"]
    assert preds[5].key == "unit0"
    head = preds[0]
    a = rs.record_saliency(art, head, "integrated_gradients", 3)
    assert a.shape == (12, 1000) and np.isfinite(a).all() and np.abs(a).sum() > 0
    assert rs.has_record_saliency(art, head, "integrated_gradients", 3)
    assert np.array_equal(rs.record_saliency(art, head, "integrated_gradients", 3), a)

    # IG of head 0 on the record's model-scale signal, from the zero signal: it sums to the
    # logit's change (completeness, up to the 50-step integral's error)
    x = art.dataset([3])[0]["x"][None]
    assert np.allclose(a, attribute(art.model, x, "integrated_gradients", target=0)[0],
                       atol=1e-7)
    with torch.no_grad():
        logit = float(art.model.predict_logits(x)[0, 0] - art.model.predict_logits(0 * x)[0, 0])
    table = rs.region_table(art, a[None], [3], absolute=False)
    assert abs(table["total"].iloc[0] - logit) < 0.05 * np.abs(a).sum()
    assert np.allclose(table[REGIONS].sum(axis=1), table["total"])
    assert np.allclose(table[[f"lead_{n}" for n in art.leads]].sum(axis=1), table["total"])
    # the same columns as a median-beat model's table
    fid = np.asarray(art.cache.fiducials)[[3]]
    assert list(table.columns) == list(region_attribution(a[None, :, :80], fid, art.leads).columns)
    assert table["QRS"].iloc[0] != 0 and table["T"].iloc[0] != 0

    # the signal drawn under the map is the cached cleaned signal in µV
    assert np.allclose(rs.record_signal(art, 3), art.cache.array("signals")[3])
    unit = rs.record_saliency(art, preds[5], "saliency", 3)
    assert unit.shape == (12, 1000) and (unit >= 0).all()


def test_signal_model_class_average_keeps_its_r_peaks(art):
    head = rs.predictor_by_key(art, "head1")
    labels = art.cache.records["superclass_NORM"].reset_index(drop=True).map({0: "no", 1: "yes"})
    result = rs.class_saliency(art, head, "saliency", labels, "superclass_NORM", max_records=8)
    assert result.maps.shape == (8, 12, 1000) and len(result.rpeaks) == 8
    means = result.regions(art)
    assert set(means.index) == {"no", "yes"} and means["n"].sum() == 8
    assert np.allclose(means[REGIONS].sum(axis=1), means["total"])
    # read back from disk (R peaks included): the same numbers
    again = rs.class_saliency(art, head, "saliency", labels, "superclass_NORM", max_records=8)
    assert [p.tolist() for p in again.rpeaks] == [p.tolist() for p in result.rpeaks]
    pd.testing.assert_frame_equal(again.regions(art), means)
    peaks = rs.record_rpeaks(art, result.rows)
    assert [p.tolist() for p in peaks] == [p.tolist() for p in result.rpeaks]


def test_signal_figure_colours_the_drawn_trace(art):
    from ecgcore.viz import saliency_signal_figure

    a = rs.record_saliency(art, rs.predictor_by_key(art, "head0"), "saliency", 3)
    signal = rs.record_signal(art, 3)
    fig = saliency_signal_figure(signal, a, art.fs, art.leads, rs.record_rpeaks(art, [3])[0],
                                 show=["V5", "II"], label="Saliency")
    lines = {t.name: t for t in fig.data if t.mode == "lines" and t.name in art.leads}
    dots = {t.name.split()[-1]: t for t in fig.data if t.name.startswith("Saliency ")}
    assert list(lines) == list(dots) == ["V5", "II"]  # the order asked for
    for lead, dot in dots.items():
        assert np.array_equal(dot.y, lines[lead].y) and dot.x0 == lines[lead].x0  # on the trace
        assert np.allclose(dot.customdata, a[art.leads.index(lead)])
    assert [t.marker.showscale for t in dots.values()] == [True, False]  # one colour bar
    with pytest.raises(ValueError, match="must both be"):
        saliency_signal_figure(signal, a[:, :500], art.fs, art.leads)
