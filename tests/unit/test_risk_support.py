"""Builders shared by the risk and graduation tests (holds no tests itself)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

from workstation.bus import EventBus
from workstation.core.clock import ManualClock
from workstation.core.enums import Category, Side
from workstation.core.events import Event
from workstation.core.types import Instrument
from workstation.risk.engine import RiskEngine, TradeIntent
from workstation.risk.growth import GrowthPlan, rate_source
from workstation.risk.limits import RiskLimits
from workstation.risk.state import HaltSource, RiskStateStore
from workstation.settings.models import GrowthSettings, RiskSettings

BTC = Instrument("bybit", "BTCUSDT", Category.LINEAR, "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"), D("5"))
# 2025-03-10 10:00:00 UTC
MAR_10_10H = int(dt.datetime(2025, 3, 10, 10, tzinfo=dt.UTC).timestamp() * 1000)
HOUR = 3_600_000

PRIVATE = RiskSettings(max_risk_per_trade=0.005, daily_loss_limit=0.03, max_drawdown=0.15, max_leverage=3)


@dataclass
class Rig:
    engine: RiskEngine
    store: RiskStateStore
    limits: RiskLimits
    clock: ManualClock
    bus: EventBus
    events: list[Event] = field(default_factory=list)


def build(
    home: Path,
    settings: RiskSettings = PRIVATE,
    *,
    clock: ManualClock | None = None,
    growth: GrowthSettings | None = None,
    kill_switch: HaltSource | None = None,
    allocation=None,
) -> Rig:
    clock = clock or ManualClock(MAR_10_10H)
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    store = RiskStateStore(home / "state" / "risk.json", kill_switch=kill_switch, bus=bus, clock=clock)
    limits = RiskLimits(settings, store, clock)
    plan = GrowthPlan(growth, rate_source(growth)) if growth is not None else None
    engine = RiskEngine(settings=settings, limits=limits, bus=bus, clock=clock, growth=plan, allocation=allocation)
    return Rig(engine, store, limits, clock, bus, events)


def long_btc(entry: str = "60000", stop: str = "59000", **kw) -> TradeIntent:
    return TradeIntent(
        strategy_id="sma", symbol="BTCUSDT", side=Side.BUY, entry_price=D(entry), stop_price=D(stop), **kw
    )
