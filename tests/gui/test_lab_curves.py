"""The lab's plotted lines are min/max-decimated in the worker: a long run reaches the GUI as a few
thousand points per line with every bucket's extremes (so the deepest drawdown and the peak) intact."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from workstation.data.sample import SAMPLE_INTERVAL, SAMPLE_SYMBOL, SAMPLE_VENUE
from workstation.ui.decimate import CURVE_BUCKETS, drawdown, minmax_curve, minmax_indices
from workstation.ui.lab_job import LabRequest, run_lab


def test_minmax_curve_when_series_is_long_then_few_points_keep_every_bucket_extreme() -> None:
    rng = np.random.default_rng(3)
    y = np.cumsum(rng.normal(0, 1, 1_000_003))
    x = np.arange(len(y), dtype=np.int64)
    xs, ys = minmax_curve(x, y, buckets=1000)
    assert len(xs) <= 2 * 1000 + 2 and np.all(np.diff(xs) > 0)  # in time order, no repeats
    assert (xs[0], xs[-1]) == (0, len(y) - 1) and ys[-1] == y[-1]
    assert ys.min() == y.min() and ys.max() == y.max()
    size = -(-len(y) // 1000)
    for b in (0, 17, 999):  # each bucket's own extremes are there, at their own x
        chunk = slice(b * size, min((b + 1) * size, len(y)))
        assert y[chunk].min() in ys[(xs >= chunk.start) & (xs < chunk.stop)]
        assert y[chunk].max() in ys[(xs >= chunk.start) & (xs < chunk.stop)]


def test_minmax_indices_when_series_is_short_then_every_point_is_kept() -> None:
    assert list(minmax_indices(np.arange(10.0), buckets=8)) == list(range(10))


def test_lab_run_when_series_is_long_then_curves_are_decimated_and_metrics_exact(qtbot: QtBot, chart_panel) -> None:
    request = LabRequest(chart_panel.worker.path, SAMPLE_VENUE, SAMPLE_SYMBOL, SAMPLE_INTERVAL, "sma_cross",
                         {"fast": 10, "slow": 50})  # fmt: skip
    result = run_lab(request)  # here, not in a worker process: the same function
    bars = result.metrics["bars"]
    assert bars > 10 * CURVE_BUCKETS  # the 2-month 1m sample
    for name in ("equity", "benchmark", "drawdown"):
        x, y = result.curves[name]
        assert len(x) == len(y) <= 2 * CURVE_BUCKETS + 2
    x, equity = result.curves["equity"]
    assert equity[-1] == pytest.approx(result.metrics["final_equity"])
    _, dd = result.curves["drawdown"]
    assert dd.min() == pytest.approx(result.metrics["max_drawdown"], abs=1e-12)  # the deepest point survives
    assert np.all(dd <= 0) and drawdown(np.array([1.0, 2.0, 1.0]))[-1] == -0.5
