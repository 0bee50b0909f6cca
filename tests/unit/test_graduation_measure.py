"""A stage's Performance from the round trips a venue made: returns over the realised equity before
each entry, daily equity from realised P&L, open trades left out."""

from __future__ import annotations

import pytest

from workstation.graduation.compare import Trade
from workstation.graduation.measure import DAY_MS, stage_performance


def trade(entry_day: float, exit_day: float | None, pnl: float | None) -> Trade:
    exit_ts = None if exit_day is None else int(exit_day * DAY_MS)
    return Trade(int(entry_day * DAY_MS), exit_ts, 1, 1.0, 100.0, None if pnl is None else 101.0, 0.1, 0.0, pnl, "x")


def test_stage_performance_when_trades_closed_then_returns_use_the_equity_before_each_entry() -> None:
    trades = [trade(0.1, 0.2, 100.0), trade(1.1, 1.2, -220.0), trade(2.1, 2.2, 110.0), trade(3.0, None, None)]
    perf = stage_performance(trades, cash=1000.0, window=3, slippage_bps=1.5, fill_ratio=0.75)
    assert perf.trades == 3  # the open one is not counted
    assert perf.mean_trade_return == pytest.approx((0.1 - 0.2 + 0.125) / 3)
    assert perf.win_rate == pytest.approx(2 / 3)
    assert perf.max_drawdown == pytest.approx(220 / 1100)  # daily equity 1000, 1100, 880, 990
    assert perf.total_return == pytest.approx(-0.01)
    assert (perf.slippage_bps, perf.fill_ratio) == (1.5, 0.75)


def test_stage_performance_when_nothing_closed_then_zero_trades_and_no_ratios() -> None:
    perf = stage_performance([trade(0.1, None, None)], cash=1000.0, window=2)
    assert perf.trades == 0 and perf.sharpe is None and perf.max_drawdown is None
