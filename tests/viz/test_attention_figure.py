"""ECG-SL attention drawn on the record (ecgcore.viz.attention) at the beats the model read
(ecgcore.runs.patient.attention_beats), on real PTB-XL demo records of the family cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.data.store import ECGCache
from ecgcore.models import create_model
from ecgcore.runs.patient import attention_beats
from ecgcore.signal.pipeline import PipelineConfig
from ecgcore.viz.attention import MAX_OPACITY, attention_strip_figure, attention_table


def _bands(fig):
    return [s for s in fig.layout.shapes if (s.name or "").startswith("attention:")]


@pytest.fixture(scope="module")
def beats(family_cache):
    """(cache, signal, spans, anchors, the library's ECG-SL attention) for record 0."""
    cache = ECGCache(family_cache)
    signal, spans, anchors = attention_beats(cache, 0)
    seq = torch.as_tensor(np.nan_to_num(np.asarray(cache.array("sequences")[0])))[None]
    mask = torch.as_tensor(np.array(cache.array("sequence_mask")[0]))[None]
    torch.manual_seed(0)
    model = create_model("ecg_sl", input_shape=tuple(seq.shape[2:]),
                         beat_backbone={"kind": "small", "width": 0.25}, dim=16, heads=2,
                         depth=1, head_hidden=8, n_outputs=1, dropout=0.0).eval()
    with torch.inference_mode():
        w = model.attention(seq, mask)[0].numpy()[mask[0].numpy()]
    return cache, signal, spans, anchors, w.astype(np.float64)


def test_spans_are_the_stored_beat_sequence(beats) -> None:
    cache, signal, spans, anchors, w = beats
    mask = np.asarray(cache.array("sequence_mask")[0])
    stored = np.asarray(cache.array("sequences")[0])[mask]
    assert len(spans) == len(w) == int(mask.sum()) >= 3
    before, after = PipelineConfig(**cache.info["pipeline"]).beat_window.offsets(cache.fs)
    assert np.all(spans[:, 1] - spans[:, 0] == before + after)
    np.testing.assert_array_equal(anchors, spans[:, 0] + before)
    assert np.all(np.diff(spans[:, 0]) > 0)  # temporal order
    for k, (a, b) in enumerate(spans):  # each band covers exactly the beat the model read
        np.testing.assert_allclose(signal[:, a:b], stored[k], atol=1e-3)


def test_bands_cover_the_beats_and_follow_the_weights(beats) -> None:
    cache, signal, spans, _, w = beats
    leads = list(cache.leads)
    assert w.sum() == pytest.approx(1.0, abs=1e-5)
    for weights in (w, np.linspace(0.05, 0.3, len(spans))[::-1]):
        fig = attention_strip_figure(signal[:2], cache.fs, leads[:2], spans, weights)
        bands = _bands(fig)
        assert len(bands) == len(spans)
        x = np.array([[b.x0, b.x1] for b in bands])
        np.testing.assert_allclose(x, spans * 1000.0 / cache.fs)  # paper x is ms
        opacity = np.array([b.opacity for b in bands])
        np.testing.assert_allclose(opacity, MAX_OPACITY * weights / weights.max())
        assert np.array_equal(np.argsort(opacity, kind="stable"), np.argsort(weights, kind="stable"))
        labels = [a.text for a in fig.layout.annotations if (a.name or "").startswith("attention:")]
        assert labels == [f"{v:.2f}" for v in weights]
    table = attention_table(spans, w, cache.fs)
    assert list(table["beat"]) == list(range(1, len(spans) + 1))
    np.testing.assert_allclose(table[["start_s", "end_s"]].to_numpy(), spans / cache.fs)


def test_bad_input_is_refused(beats) -> None:
    cache, signal, spans, _, w = beats
    leads = list(cache.leads)
    with pytest.raises(ValueError, match="spans but"):
        attention_strip_figure(signal, cache.fs, leads, spans, w[:-1])
    late = spans + signal.shape[1]
    with pytest.raises(ValueError, match="within the signal"):
        attention_strip_figure(signal, cache.fs, leads, late, w)
    with pytest.raises(ValueError, match="non-negative"):
        attention_strip_figure(signal, cache.fs, leads, spans, -w)
