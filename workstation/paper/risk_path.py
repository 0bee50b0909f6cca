"""The risk manager on the runner's order path: Strategy -> RiskEngine -> SafetyGate -> venue.

`RiskPath` is what a StrategyRunner needs to put every change of target through a RiskEngine:
the engine, the instrument it sizes for, the clock the engine's limits read (a replay sets it to
each candle's time, so a daily-loss halt lifts at the replay's next UTC day) and how to find a stop
and a volatility when the strategy gives none. `build_risk_path` wires one from a runtime's settings
and the paper account's own persisted trading state, <home>/state/paper/risk.json beside its journal
(dated in replay time: a replay's halt never stops live trading, whose state is <home>/state/risk.json,
and a live halt never stops a replay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from workstation.backtest.costs import CostModel
from workstation.core.enums import Category, Side
from workstation.core.types import Instrument
from workstation.data.arrays import CandleArrays
from workstation.data.intervals import interval_ms
from workstation.graduation.tagging import order_prefix, trading_candidate
from workstation.paper.store import paper_dir
from workstation.risk.engine import RiskEngine
from workstation.risk.growth import GrowthPlan, rate_source
from workstation.risk.limits import RiskLimits
from workstation.risk.monitor import StrategyMonitor
from workstation.risk.rates import ccxt_ticker
from workstation.risk.sizing import atr, realized_volatility
from workstation.risk.state import RiskStateStore
from workstation.runtime import Runtime

YEAR_MS = 365 * 86_400_000


class ReplayClock:
    """A clock the replay moves: the open time of the candle being traded."""

    def __init__(self, now_ms: int = 0) -> None:
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now

    def set(self, now_ms: int) -> None:
        self._now = max(self._now, int(now_ms))


def paper_instrument(symbol: str, cost: CostModel, category: Category = Category.LINEAR) -> Instrument:
    """The paper venue's instrument as the risk engine sees it: the cost model's quantity step."""
    step = Decimal(str(cost.qty_step))
    return Instrument("paper", symbol, category, "", "", Decimal(0), step, step)


@dataclass
class RiskPath:
    engine: RiskEngine
    instrument: Instrument
    strategy_id: str
    clock: ReplayClock | None = None
    bar_ms: int = 60_000  # the candle interval: equity at a close is dated the candle's last ms
    stop_atr: float = 2.0  # a strategy without a stop-loss is sized as if its stop were this many ATRs away
    attach_stop: bool = True  # and that stop goes on the order as its stop-loss (False: sizing only)
    atr_period: int = 14
    vol_window: int = 500
    monitor: StrategyMonitor | None = None
    margin_buffer: float | None = 0.02  # None: no venue-margin cap
    decisions: int = field(default=0)
    denials: int = field(default=0)
    candidate_id: int | None = None  # the graduation candidate traded: its orders carry the id

    def order_prefix(self, base: str) -> str:
        """The runner's client order id prefix, tagged with the candidate (graduation.tagging)."""
        return base if self.candidate_id is None else order_prefix(base, self.candidate_id)

    @property
    def periods_per_year(self) -> float:
        return YEAR_MS / self.bar_ms

    def tick(self, ts_ms: int) -> None:
        if self.clock is not None:
            self.clock.set(ts_ms)

    def volatility(self, history: CandleArrays) -> float | None:
        closes = history.close[-self.vol_window :]
        vol = realized_volatility(closes, self.periods_per_year) if len(closes) >= 3 else math.nan
        return None if math.isnan(vol) or vol <= 0 else vol

    def margin_cap(self, cash: float, cost: CostModel) -> dict[str, Decimal]:
        """The venue's available margin as a notional cap: cash at the cost model's leverage, less
        the taker fee and a `margin_buffer` for the gap between the decision price and the fill."""
        if self.margin_buffer is None:
            return {}
        notional = max(cash, 0.0) * cost.leverage * (1.0 - self.margin_buffer) / (1.0 + cost.taker_fee)
        return {"venue margin": Decimal(str(notional))}

    def stop_for(self, history: CandleArrays, entry: float, side: Side) -> float:
        """`stop_atr` ATRs from `entry` against the trade (NaN before there are enough candles)."""
        n = self.atr_period + 1
        if len(history) < n:
            return math.nan
        gap = atr(history.high[-n:], history.low[-n:], history.close[-n:], self.atr_period) * self.stop_atr
        if math.isnan(gap) or gap <= 0:
            return math.nan
        return entry - gap if side is Side.BUY else entry + gap


def paper_risk_path(home: Path) -> Path:
    """The trading state of the home's paper account, beside its journal (not the live risk.json)."""
    return paper_dir(home) / "risk.json"


def build_risk_path(
    runtime: Runtime,
    symbol: str,
    interval: str,
    strategy_id: str,
    cost: CostModel,
    *,
    category: Category = Category.LINEAR,
    state_path: Path | None = None,
    candidate_id: int | None = None,
) -> RiskPath:
    """A RiskEngine from `runtime.settings.risk` and the paper account's persisted trading state
    (`state_path`, default `paper_risk_path(home)`), on a replay clock. With `risk.growth.enabled` the
    risk per trade follows the balance-building schedule on the equity converted through the
    configured rate (no usable rate: every entry is denied with the reason). The performance
    monitor's allocation scales the size, its demotion requests go on the bus. It trades as the
    graduation candidate of the venue's stage with this strategy (`candidate_id` picks one when
    several are; graduation.tagging.trading_candidate raises CandidateChoiceError otherwise)."""
    clock = ReplayClock()
    settings = runtime.settings.risk
    growth = GrowthPlan(settings.growth, rate_source(settings.growth, ccxt_ticker)) if settings.growth.enabled else None
    store = RiskStateStore(
        state_path or paper_risk_path(runtime.home), kill_switch=runtime.kill_switch, bus=runtime.bus, clock=clock
    )
    monitor = StrategyMonitor(settings.monitor, runtime.bus)
    engine = RiskEngine(
        settings=settings,
        limits=RiskLimits(settings, store, clock),
        bus=runtime.bus,
        clock=clock,
        growth=growth,
        allocation=monitor.allocation,
        venue=runtime.settings.trading.venue.value,
    )
    path = RiskPath(
        engine,
        paper_instrument(symbol, cost, category),
        strategy_id,
        clock,
        bar_ms=interval_ms(interval),
        monitor=monitor,
    )
    # the graduation candidate in this venue's stage with this strategy: trade (and tag orders) as it
    venue = runtime.settings.trading.venue
    cand = trading_candidate(runtime.home, venue, symbol, interval, strategy_id, candidate_id)
    if cand is not None:
        path.candidate_id, path.strategy_id = cand.id, cand.strategy_id
    return path
