"""Our sma_cross against backtesting.py 0.6.6 on its own bundled GOOG data, with identical rules.

Rules on both sides: fee 0.2 % on each fill, no slippage, market orders at the next bar's open,
all-in long-only sized in whole shares, flat on a cross down, open trade left open at the end.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel
from workstation.backtest.simulator import simulate
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import signals
from workstation.strategies.builtin import SmaCross

GOOG = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "backtesting_py" / "GOOG.csv"
backtesting = pytest.importorskip("backtesting", reason="backtesting.py is a bench/dev peer (setup.sh --with-bench)")


def _sma_cross_long(fast: int, slow: int) -> type:
    """backtesting.py's own SMA-cross example: all in on a cross up, flat on a cross down."""
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCrossLong(Strategy):
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, fast)
            self.slow = self.I(SMA, self.data.Close, slow)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    return SmaCrossLong


def _peer(frame: pd.DataFrame, fast: int, slow: int, commission: float) -> tuple[pd.DataFrame, float]:
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(frame, _sma_cross_long(fast, slow), cash=10_000, commission=commission).run()
    return stats["_trades"], float(stats["Equity Final [$]"])


@pytest.mark.parametrize(("fast", "slow"), [(10, 20), (5, 50)])
def test_sma_cross_when_run_like_backtesting_py_on_goog_then_same_trades_and_equity_within_1bp(
    fast: int, slow: int
) -> None:
    frame = pd.read_csv(GOOG, index_col=0, parse_dates=True)
    peer_trades, peer_equity = _peer(frame, fast, slow, 0.002)
    candles = CandleArrays.from_frame(frame.rename(columns=str.lower).tz_localize("UTC"))
    cost = CostModel(taker_fee=0.002, maker_fee=0.002, maintenance_margin=0.0, qty_step=1.0)
    result = simulate(candles, signals(SmaCross(fast=fast, slow=slow), candles), cost, cash=10_000)
    closed = result.trades[result.trades[:, S.T_REASON] != F.EXIT_END]
    times = candles.to_frame().index
    assert len(closed) == len(peer_trades) > 10
    np.testing.assert_array_equal(
        times[closed[:, S.T_ENTRY_I].astype(int)], peer_trades["EntryTime"].dt.tz_localize("UTC")
    )
    np.testing.assert_array_equal(
        times[closed[:, S.T_EXIT_I].astype(int)], peer_trades["ExitTime"].dt.tz_localize("UTC")
    )
    np.testing.assert_array_equal(closed[:, S.T_QTY], peer_trades["Size"].to_numpy(float))
    np.testing.assert_allclose(closed[:, S.T_PNL], peer_trades["PnL"].to_numpy(float), rtol=1e-9, atol=1e-6)
    assert result.equity[-1] == pytest.approx(peer_equity, rel=1e-4)


BTC_1M = (
    Path(__file__).resolve().parents[3]
    / "shared" / "data" / "ohlcv" / "binance_spot" / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
)  # fmt: skip


def test_sma_cross_when_run_like_backtesting_py_on_btc_1m_then_same_trades_and_equity_within_1bp() -> None:
    """The shared Binance BTCUSDT 1m series (first 30 days), sized in satoshis on both sides:
    backtesting.py's FractionalBacktest trades units of 1e-8 BTC; our quantity step is 1e-8."""
    from backtesting.lib import FractionalBacktest

    raw = pd.read_csv(BTC_1M, nrows=30 * 1440)
    frame = raw.rename(columns=str.capitalize).set_index(pd.to_datetime(raw["open_time"], unit="ms"))
    frame = frame[["Open", "High", "Low", "Close", "Volume"]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = FractionalBacktest(
            frame, _sma_cross_long(10, 50), cash=10_000, commission=0.0006, fractional_unit=1e-8
        ).run()
    peer_trades, peer_equity = stats["_trades"], float(stats["Equity Final [$]"])

    candles = CandleArrays.from_frame(frame.rename(columns=str.lower).tz_localize("UTC"))
    cost = CostModel(taker_fee=0.0006, maker_fee=0.0006, maintenance_margin=0.0, qty_step=1e-8)
    result = simulate(candles, signals(SmaCross(fast=10, slow=50), candles), cost, cash=10_000)
    closed = result.trades[result.trades[:, S.T_REASON] != F.EXIT_END]
    times = candles.to_frame().index
    assert len(closed) == len(peer_trades) > 100
    np.testing.assert_array_equal(
        times[closed[:, S.T_ENTRY_I].astype(int)], peer_trades["EntryTime"].dt.tz_localize("UTC")
    )
    np.testing.assert_array_equal(
        times[closed[:, S.T_EXIT_I].astype(int)], peer_trades["ExitTime"].dt.tz_localize("UTC")
    )
    assert result.equity[-1] == pytest.approx(peer_equity, rel=1e-4)
