"""Strategy performance monitor: a live strategy's rolling mean trade return against the Monte Carlo
band of its backtest.

Once `window_trades` trades are in, the mean of the last window is checked after every closed trade.
The first time it is below the band's low edge, the strategy's allocation is cut to
`cut_allocation_to`. Each further full window (another `window_trades` trades) still below counts
as one more breach; at `demote_after_breaches` a demotion is requested on the bus (graduation acts
on it). Back inside the band, the allocation returns to 1 and the count restarts.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

from workstation.bus import EventBus
from workstation.core.events import StrategyAllocationChanged, StrategyDemotionRequested
from workstation.risk import fmt
from workstation.settings.models import MonitorSettings

log = logging.getLogger(__name__)


@dataclass
class _Track:
    band_low: float
    band_high: float
    returns: deque[float]
    allocation: float = 1.0
    breaches: int = 0
    since_breach: int = 0
    demoted: bool = False


class StrategyMonitor:
    def __init__(self, settings: MonitorSettings, bus: EventBus) -> None:
        self.settings = settings
        self.bus = bus
        self._tracks: dict[str, _Track] = {}

    def expect(self, strategy_id: str, band_low: float, band_high: float) -> None:
        """The backtest's Monte Carlo band for the mean trade return over `window_trades` trades."""
        if not band_low <= band_high:
            raise ValueError(f"band low {band_low} is above band high {band_high}")
        self._tracks[strategy_id] = _Track(band_low, band_high, deque(maxlen=self.settings.window_trades))

    def allocation(self, strategy_id: str) -> float:
        track = self._tracks.get(strategy_id)
        return 1.0 if track is None else track.allocation

    def breaches(self, strategy_id: str) -> int:
        track = self._tracks.get(strategy_id)
        return 0 if track is None else track.breaches

    def rolling_mean(self, strategy_id: str) -> float:
        track = self._tracks.get(strategy_id)
        if track is None or len(track.returns) < self.settings.window_trades:
            return math.nan
        return sum(track.returns) / len(track.returns)

    def record_trade(self, strategy_id: str, trade_return: float) -> None:
        """A closed trade's return (pnl / entry notional)."""
        track = self._tracks.get(strategy_id)
        if track is None:
            log.debug("monitor: no expectation for %s; trade ignored", strategy_id)
            return
        track.returns.append(trade_return)
        track.since_breach += 1
        if track.demoted or len(track.returns) < self.settings.window_trades:
            return
        mean = sum(track.returns) / len(track.returns)
        if mean >= track.band_low:
            if track.allocation < 1.0:
                self._set_allocation(
                    strategy_id, track, 1.0, f"rolling mean {fmt.pct(mean)} back inside the band", mean
                )
            track.breaches = 0
            return
        if track.breaches and track.since_breach < self.settings.window_trades:
            return  # the same breach, still being counted as one window
        track.breaches += 1
        track.since_breach = 0
        window = self.settings.window_trades
        why = (
            f"mean return over the last {window} trades {fmt.pct(mean)} is below the backtest's Monte Carlo band "
            f"low {fmt.pct(track.band_low)} (breach {track.breaches} of {self.settings.demote_after_breaches})"
        )
        if track.breaches >= self.settings.demote_after_breaches:
            track.demoted = True
            self._set_allocation(strategy_id, track, 0.0, why, mean)
            log.warning("monitor: demotion requested for %s: %s", strategy_id, why)
            self.bus.publish(
                StrategyDemotionRequested(
                    strategy_id=strategy_id,
                    reason=why,
                    rolling_mean_return=mean,
                    band_low=track.band_low,
                    breaches=track.breaches,
                )
            )
        else:
            self._set_allocation(strategy_id, track, self.settings.cut_allocation_to, why, mean)

    def _set_allocation(self, strategy_id: str, track: _Track, allocation: float, reason: str, mean: float) -> None:
        if allocation == track.allocation:
            return
        track.allocation = allocation
        log.warning("monitor: %s allocation -> %.2f: %s", strategy_id, allocation, reason)
        self.bus.publish(
            StrategyAllocationChanged(
                strategy_id=strategy_id,
                allocation=allocation,
                reason=reason,
                rolling_mean_return=mean,
                band_low=track.band_low,
            )
        )
