"""A position open when a run ends: marked free by default, sold with fee and slippage at a walk-forward window's end."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.backtest.costs import CostModel
from workstation.backtest.metrics import trade_list
from workstation.backtest.simulator import simulate
from workstation.backtest.walkforward import walk_forward
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import Signals

DAY = 86_400_000
OPEN = [100.0, 100.0, 100.0, 100.0, 110.0, 120.0, 125.0, 130.0]
CLOSE = [100.0, 100.0, 100.0, 105.0, 112.0, 122.0, 128.0, 126.0]


def _days() -> CandleArrays:
    o, c = np.array(OPEN), np.array(CLOSE)
    ts = np.arange(len(o), dtype=np.int64) * DAY
    return CandleArrays.from_columns(ts, o, np.maximum(o, c) + 1, np.minimum(o, c) - 1, c, np.full(len(o), 1e6))


def test_simulate_when_close_at_end_then_sold_at_last_close_with_fee_and_slippage_else_marked_free() -> None:
    candles = _days().take(slice(0, 5))
    sig = Signals.from_target(np.ones(5))
    cost = CostModel(taker_fee=0.001, slippage_bps=10.0)
    marked = simulate(candles, sig, cost, cash=10_000.0)
    closed = simulate(candles, sig, cost, cash=10_000.0, close_at_end=True)
    # entry at bar 1's open 100 plus 10 bps slippage = 100.1, all in after the fee
    q = 10_000 / (100.1 * 1.001)
    entry_fee = q * 100.1 * 0.001
    assert marked.equity[-1] == pytest.approx(10_000 - entry_fee + q * (112 - 100.1), rel=1e-12)
    assert trade_list(marked)[0]["exit_reason"] == "end" and marked.fees_paid == pytest.approx(entry_fee)
    exit_px = 112 * (1 - 0.001)  # a sell at the last close, slipped against us
    exit_fee = q * exit_px * 0.001
    assert closed.equity[-1] == pytest.approx(10_000 - entry_fee + q * (exit_px - 100.1) - exit_fee, rel=1e-12)
    t = trade_list(closed)[0]
    assert (t["exit_reason"], t["exit_price"]) == ("window_end", pytest.approx(exit_px, rel=1e-12))
    assert t["fees"] == pytest.approx(entry_fee + exit_fee, rel=1e-12)
    assert closed.position[-1] == 0.0 and closed.fees_paid == pytest.approx(entry_fee + exit_fee, rel=1e-12)
    np.testing.assert_array_equal(closed.equity[:-1], marked.equity[:-1])


def test_walk_forward_when_long_across_window_ends_then_each_window_pays_the_taker_fee_on_its_exit() -> None:
    # two test windows of three daily bars: [2, 5) and [5, 8); buy and hold is long in both
    wf = walk_forward(
        "buy_and_hold", [{}], _days(), train_ms=2 * DAY, test_ms=3 * DAY, objective="total_return",
        cost=CostModel(taker_fee=0.001), cash=10_000.0,
    )  # fmt: skip
    assert [(w.window.test_start, w.window.test_end) for w in wf.windows] == [(2, 5), (5, 8)]
    # window 1: signal on bar 2's close, buy at bar 3's open 100, sold at bar 4's close 112
    q1 = 10_000 / (100 * 1.001)
    fees1 = q1 * 100 * 0.001 + q1 * 112 * 0.001
    e1 = 10_000 + q1 * (112 - 100) - fees1
    # window 2 starts flat with e1: buy at bar 6's open 125, sold at bar 7's close 126
    q2 = e1 / (125 * 1.001)
    fees2 = q2 * 125 * 0.001 + q2 * 126 * 0.001
    e2 = e1 + q2 * (126 - 125) - fees2
    eq = wf.result.equity
    assert eq[2] == pytest.approx(e1, rel=1e-12) and eq[3] == pytest.approx(e1, rel=1e-12)
    assert eq[-1] == pytest.approx(e2, rel=1e-12) and wf.metrics["final_equity"] == pytest.approx(e2, rel=1e-12)
    assert wf.metrics["fees_paid"] == pytest.approx(fees1 + fees2, rel=1e-12)
    trades = trade_list(wf.result)
    assert [t["exit_reason"] for t in trades] == ["window_end", "window_end"]
    assert [t["pnl"] for t in trades] == [pytest.approx(e1 - 10_000, rel=1e-12), pytest.approx(e2 - e1, rel=1e-12)]
    assert wf.metrics["trade_count"] == 2 and wf.metrics["open_trades"] == 0
    assert [w.out_of_sample["fees_paid"] for w in wf.windows] == [
        pytest.approx(fees1, rel=1e-12),
        pytest.approx(fees2, rel=1e-12),
    ]
