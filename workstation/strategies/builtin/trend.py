"""Trend followers: moving-average crosses and the Donchian channel breakout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.strategies import indicators as ind
from workstation.strategies.base import Signals, Strategy, param


@dataclass(frozen=True)
class CrossRule(Strategy):
    """Long from a cross of a fast line above a slow one, flat (or short) from a cross below; holds
    between crosses. Subclasses give the lines; sweeps run `cross_lines` through a fused compiled
    kernel (backtest.fused) with the same numbers as `compute`, so override `cross_lines` only."""

    # Subclasses declare `fast` and `slow` as parameters (each with its own defaults and help).
    def check(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")

    @property
    def warmup(self) -> int:
        return self.slow + 1

    def cross_lines(self, candles: CandleArrays) -> tuple[np.ndarray, np.ndarray, float]:
        """(fast line, slow line, target after a cross down)."""
        raise NotImplementedError

    def compute(self, candles: CandleArrays) -> Signals:
        fast, slow, down = self.cross_lines(candles)
        return Signals.from_target(ind.cross_state(fast, slow, down))


@dataclass(frozen=True)
class SmaCross(CrossRule):
    name = "sma_cross"
    description = "Long when the fast simple moving average crosses above the slow one."
    fast: int = param(10, 2, 200, 1, "fast SMA length (bars)")
    slow: int = param(50, 3, 500, 1, "slow SMA length (bars)")
    short: int = param(0, 0, 1, 1, "1 = go short on a cross down instead of flat")

    def cross_lines(self, candles: CandleArrays) -> tuple[np.ndarray, np.ndarray, float]:
        c = candles.close
        return ind.sma(c, self.fast), ind.sma(c, self.slow), -1.0 if self.short else 0.0


@dataclass(frozen=True)
class EmaCross(CrossRule):
    name = "ema_cross"
    description = "Long when the fast exponential moving average crosses above the slow one."
    fast: int = param(12, 2, 200, 1, "fast EMA span (bars)")
    slow: int = param(26, 3, 500, 1, "slow EMA span (bars)")
    short: int = param(0, 0, 1, 1, "1 = go short on a cross down instead of flat")

    def cross_lines(self, candles: CandleArrays) -> tuple[np.ndarray, np.ndarray, float]:
        c = candles.close
        return ind.ema(c, self.fast), ind.ema(c, self.slow), -1.0 if self.short else 0.0


@dataclass(frozen=True)
class DonchianBreakout(Strategy):
    name = "donchian"
    description = "Enter on a stop order above the prior N-bar high; exit below the prior M-bar low."
    entry: int = param(20, 2, 400, 1, "breakout channel length (bars)")
    exit: int = param(10, 2, 400, 1, "exit channel length (bars)")
    stop_atr: float = param(0.0, 0.0, 10.0, 0.5, "stop-loss distance in average ranges (0 = none)")

    @property
    def warmup(self) -> int:
        return max(self.entry, self.exit) + 1

    def compute(self, candles: CandleArrays) -> Signals:
        upper = ind.rolling_max(candles.high, self.entry)
        lower = ind.rolling_min(candles.low, self.exit)
        events = np.full(len(candles), np.nan)
        # the close broke the channel of the bars before it
        prev_upper = np.concatenate([[np.nan], upper[:-1]])
        prev_lower = np.concatenate([[np.nan], lower[:-1]])
        events[candles.close > prev_upper] = 1.0
        events[candles.close < prev_lower] = 0.0
        target = ind.hold(events)
        stop = np.full(len(candles), np.nan)
        if self.stop_atr > 0:
            avg_range = ind.sma(candles.high - candles.low, self.entry)
            stop = candles.close - self.stop_atr * avg_range
        return Signals.from_target(target, stop_loss=stop)
