"""The backtester's stop-distance sizer (CostModel(sizer=Sizer.STOP_DISTANCE, size=risk fraction)):
a fixed fraction of equity is lost at the strategy's stop, the notional held under equity x leverage;
no stop, no position. The batch kernel and the event-by-event simulator agree on real candles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles
from workstation.backtest import events as E
from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel, Sizer
from workstation.backtest.simulator import simulate
from workstation.core.types import Candle
from workstation.data.arrays import CandleArrays
from workstation.risk.sizing import atr
from workstation.strategies.base import Signals

NAN = math.nan
BARS = [(100, 101, 99, 100), (100, 101, 99, 100), (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106)]


def _candles(rows: list[tuple[float, float, float, float]]) -> CandleArrays:
    ts = np.arange(len(rows)) * 3_600_000 + 1_700_000_000_000 // 3_600_000 * 3_600_000
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    return CandleArrays.from_columns(ts, o, h, lo, c, np.full(len(rows), 10.0))


def _long_with_stop(stop: float) -> Signals:
    return Signals.from_target(
        np.array([0.0, 1.0, 1.0, 0.0, 0.0]), stop_loss=np.array([NAN, stop, NAN, NAN, NAN], dtype=float)
    )


def test_simulate_when_stop_distance_sizer_then_qty_risks_the_fraction_at_the_stop() -> None:
    cost = CostModel(taker_fee=0.001, maintenance_margin=0.0, sizer=Sizer.STOP_DISTANCE, size=0.01)
    (t,) = simulate(_candles(BARS), _long_with_stop(99.0), cost, cash=1000.0).trades
    assert t[S.T_ENTRY_PX] == 102  # bar 2 open; the stop 99 is 3 away: 1000 x 1% / 3
    assert t[S.T_QTY] == pytest.approx(10.0 / 3)


def test_simulate_when_stop_is_tight_then_notional_capped_by_equity_times_leverage() -> None:
    cost = CostModel(taker_fee=0.001, maintenance_margin=0.0, leverage=2, sizer=Sizer.STOP_DISTANCE, size=0.5)
    (t,) = simulate(_candles(BARS), _long_with_stop(99.0), cost, cash=1000.0).trades
    assert t[S.T_QTY] == pytest.approx(1000.0 * 2 / (102 * 1.001))  # 500 / 3 would be 166


def test_simulate_when_no_stop_with_stop_distance_sizer_then_no_position() -> None:
    cost = CostModel(sizer=Sizer.STOP_DISTANCE, size=0.01)
    r = simulate(_candles(BARS), Signals.from_target(np.array([0.0, 1.0, 1.0, 0.0, 0.0])), cost, cash=1000.0)
    assert len(r.trades) == 0 and r.equity[-1] == 1000.0


def _atr_stop_signals(c: CandleArrays) -> Signals:
    """SMA 10/40 cross, long/short, with a 2-ATR(14) stop set at each entry signal."""
    close = c.close
    fast = np.convolve(close, np.ones(10) / 10)[: len(close)]
    slow = np.convolve(close, np.ones(40) / 40)[: len(close)]
    target = np.where(np.arange(len(close)) < 40, 0.0, np.sign(fast - slow))
    stop = np.full(len(close), NAN)
    for i in range(41, len(close)):
        if target[i] != target[i - 1] and target[i] != 0:
            a = atr(c.high[: i + 1], c.low[: i + 1], close[: i + 1], 14)
            stop[i] = close[i] - target[i] * 2 * a
    return Signals.from_target(target, stop_loss=stop)


def test_simulate_when_stop_distance_sizer_on_real_candles_then_kernel_and_events_agree_and_stops_lose_the_budget() -> (
    None
):
    c = candles(BTC_1H, 0, 24 * 60)
    sig = _atr_stop_signals(c)
    cost = CostModel(leverage=3, sizer=Sizer.STOP_DISTANCE, size=0.01, qty_step=0.001)
    batch = simulate(c, sig, cost, cash=10_000.0)
    bars = [Candle(int(t), *map(float, x)) for t, *x in zip(*c.columns(), strict=True)]
    rows = [
        E.SignalRow(*(float(col[i]) if k != 1 else int(col[i]) for k, col in enumerate(sig.columns())))
        for i in range(len(c))
    ]
    events, curve = E.replay(bars, rows, cost=cost, cash=10_000.0, pure=True)
    assert len(batch.trades) == len(events.trades) >= 10
    for row, rec in zip(batch.trades, events.trades, strict=True):
        assert row[S.T_QTY] == pytest.approx(rec.qty, rel=1e-12)
        assert row[S.T_ENTRY_PX] == pytest.approx(rec.entry_price, rel=1e-12)
    assert batch.equity[-1] == pytest.approx(curve[-1], rel=1e-9)
    stopped = [row for row in batch.trades if int(row[S.T_REASON]) == F.EXIT_STOP_LOSS]
    assert len(stopped) >= 3
    for row in stopped:  # the loss before fees is the 1% budget of the equity before entry (less the step)
        equity_before = batch.equity[int(row[S.T_ENTRY_I]) - 1]
        loss = abs(row[S.T_EXIT_PX] - row[S.T_ENTRY_PX]) * row[S.T_QTY]
        assert loss <= equity_before * 0.01 * 1.05  # stop fills gap a little past the level
