"""Mean reversion: RSI extremes and Bollinger band touches, entered with limit orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.strategies import indicators as ind
from workstation.strategies.base import OrderKind, Signals, Strategy, param


@dataclass(frozen=True)
class RsiReversion(Strategy):
    name = "rsi_reversion"
    description = "Buy when RSI is oversold, sell when it recovers; optional stop-loss and take-profit."
    period: int = param(14, 2, 100, 1, "RSI period (bars)")
    oversold: float = param(30.0, 5.0, 50.0, 5.0, "enter long below this RSI")
    exit_level: float = param(55.0, 40.0, 95.0, 5.0, "exit above this RSI")
    stop_pct: float = param(0.0, 0.0, 0.5, 0.01, "stop-loss below the close, as a fraction (0 = none)")
    take_pct: float = param(0.0, 0.0, 1.0, 0.01, "take-profit above the close, as a fraction (0 = none)")

    def check(self) -> None:
        if self.oversold >= self.exit_level:
            raise ValueError("oversold must be below exit_level")

    @property
    def warmup(self) -> int:
        return self.period + 1

    def compute(self, candles: CandleArrays) -> Signals:
        r = ind.rsi(candles.close, self.period)
        events = np.full(len(candles), np.nan)
        events[r < self.oversold] = 1.0
        events[r > self.exit_level] = 0.0
        target = ind.hold(events)
        c = candles.close
        stop = c * (1 - self.stop_pct) if self.stop_pct > 0 else None
        take = c * (1 + self.take_pct) if self.take_pct > 0 else None
        return Signals.from_target(target, stop_loss=stop, take_profit=take)


@dataclass(frozen=True)
class BollingerReversion(Strategy):
    name = "bollinger_reversion"
    description = "Buy with a limit at the lower band after a close below it; exit at the middle band."
    period: int = param(20, 5, 200, 1, "band length (bars)")
    width: float = param(2.0, 0.5, 4.0, 0.25, "band width in standard deviations")

    @property
    def warmup(self) -> int:
        return self.period

    def compute(self, candles: CandleArrays) -> Signals:
        c = candles.close
        mid = ind.sma(c, self.period)
        lower = mid - self.width * ind.rolling_std(c, self.period)
        events = np.full(len(candles), np.nan)
        events[c < lower] = 1.0
        events[c > mid] = 0.0
        target = ind.hold(events)
        entry = np.where(np.isnan(lower), c, lower)
        return Signals.from_target(target, order_kind=OrderKind.LIMIT, entry_price=np.maximum(entry, 1e-12))
