"""Loss curves on a log axis (the first epoch's spike no longer flattens the rest)."""

from __future__ import annotations

from ecgcore.viz.training import loss_curves_figure

ROWS = [{"epoch": "0", "train/loss": "900.0", "val/loss": "400"},
        {"epoch": "1", "train/loss": "12.5", "val/loss": "11"},
        {"epoch": "2", "train/loss": "10.0", "val/loss": ""}]


def test_positive_losses_on_a_log_axis():
    fig = loss_curves_figure(ROWS)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "loss (log scale)"
    assert [list(t.y) for t in fig.data] == [[900.0, 12.5, 10.0], [400.0, 11.0]]
    assert [list(t.x) for t in fig.data] == [[1, 2, 3], [1, 2]]


def test_a_negative_term_keeps_a_linear_axis():
    rows = [{"epoch": "0", "train/loss": "-3.0"}, {"epoch": "1", "train/loss": "-4.0"}]
    assert loss_curves_figure(rows).layout.yaxis.type == "linear"
    assert loss_curves_figure(ROWS, log_y=False).layout.yaxis.type == "linear"
