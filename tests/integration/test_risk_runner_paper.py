"""The risk manager on the runner's order path, on real Bybit BTCUSDT 1h candles: strategy ->
StrategyRunner -> RiskEngine -> OMS -> paper venue. A tiny daily loss limit halts new entries until
the replay's next UTC day (the denials carry their numbers), and every entry risks at most
`max_risk_per_trade` of equity at its stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles
from workstation.backtest.costs import CostModel
from workstation.bus import EventBus
from workstation.core.enums import TradingState
from workstation.core.events import (
    Event,
    OrderDenied,
    OrderSized,
    OrderSizeReduced,
    RiskDecision,
    RiskDenied,
    TradingStateChanged,
)
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.paper.replay import ReplayData, replay
from workstation.paper.risk_path import ReplayClock, RiskPath, paper_instrument
from workstation.paper.runner import StrategyRunner
from workstation.risk.engine import RiskEngine
from workstation.risk.limits import RiskLimits, next_utc_midnight
from workstation.risk.state import RiskStateStore
from workstation.settings.models import RiskSettings
from workstation.strategies.builtin import build

pytestmark = pytest.mark.skipif(not BTC_1H.exists(), reason=f"real candles not found: {BTC_1H}")
HOUR = 3_600_000
CASH = 10_000.0


@dataclass
class Run:
    runner: StrategyRunner
    path: RiskPath
    client: PaperExecutionClient
    events: list[tuple[int, Event]] = field(default_factory=list)  # (replay time, event)

    def of(self, kind: type[Event]) -> list[tuple[int, Event]]:
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


def run_with_risk(settings: RiskSettings, tmp_path: Path, bars: int = 24 * 60) -> Run:
    data = candles(BTC_1H, first=0, count=bars)
    cost = CostModel(taker_fee=0.00055, maker_fee=0.0002, slippage_bps=1.0, leverage=1.0)
    bus = EventBus()
    clock = ReplayClock()
    store = RiskStateStore(tmp_path / "state" / "risk.json", bus=bus, clock=clock)
    engine = RiskEngine(settings=settings, limits=RiskLimits(settings, store, clock), bus=bus, clock=clock)
    path = RiskPath(engine, paper_instrument("BTCUSDT", cost), "sma_cross", clock, bar_ms=HOUR)

    async def go() -> Run:
        client = PaperExecutionClient(cost=cost, cash=CASH)
        kernel = EngineKernel(client=client, ledger_path=tmp_path / "ledger.sqlite")
        await kernel.start()
        runner = StrategyRunner(kernel, build("sma_cross", {"fast": 5, "slow": 20}), "BTCUSDT", cost, risk=path)
        run = Run(runner, path, client)
        for kind in (RiskDecision, TradingStateChanged, OrderDenied):
            bus.subscribe(kind, lambda e: run.events.append((clock.now_ms(), e)))
        await replay(client, "BTCUSDT", ReplayData(data, np.zeros(len(data))), runner)
        await kernel.stop()
        return run

    return asyncio.run(go())


def entries(run: Run) -> list[tuple[int, RiskDecision]]:
    """Approved decisions that open risk (a reducing one carries the position it reduces)."""
    out = []
    for t, e in run.events:
        if isinstance(e, OrderSized | OrderSizeReduced) and "position" not in dict(e.detail):
            out.append((t, e))
    return out


def test_replay_when_daily_loss_limit_is_tiny_then_new_entries_halt_until_the_next_utc_day(tmp_path: Path) -> None:
    tiny = RiskSettings(
        max_risk_per_trade=0.005, daily_loss_limit=0.002, max_drawdown=1.0, size_taper_start=1.0, reducing_at=1.0
    )
    run = run_with_risk(tiny, tmp_path)
    halts = [t for t, e in run.of(TradingStateChanged) if e.state is TradingState.HALTED]  # type: ignore[attr-defined]
    assert halts, "a 0.2 % daily loss limit must be hit in two months of BTC"
    # no entry is approved while a daily-loss halt is in force (it lifts at the next UTC midnight)
    for t, e in entries(run):
        assert not any(h <= t < next_utc_midnight(h) for h in halts), f"entry at {t} during a halt: {e.reason}"
    denied = [e for _, e in run.of(RiskDenied)]
    halted = [e for e in denied if isinstance(e, RiskDenied) and e.state is TradingState.HALTED]
    assert halted and run.path.denials == len(denied) and run.runner.orders_sent > 0
    for e in halted:
        assert "daily loss limit" in e.reason and "below today's start" in e.reason
        assert e.equity > 0 and e.qty == 0 and e.notional == 0
        assert e.equity < D(str(CASH)) * 2
    # every risk denial is also an order denial, and nothing reached the venue for it
    order_denials = [e for _, e in run.of(OrderDenied) if e.reason.startswith("risk: HALTED")]  # type: ignore[attr-defined]
    assert len(order_denials) == len(halted)
    assert run.runner.orders_sent == len(entries_and_exits(run))
    # entries resumed on a later day after the first halt
    assert any(t >= next_utc_midnight(halts[0]) for t, _ in entries(run))


def test_replay_when_entries_are_sized_then_each_risks_at_most_max_risk_per_trade_at_its_stop(
    tmp_path: Path,
) -> None:
    settings = RiskSettings(max_risk_per_trade=0.005, max_leverage=3)
    run = run_with_risk(settings, tmp_path, bars=24 * 30)
    sized = entries(run)
    assert len(sized) >= 5
    full = 0
    for _, e in sized:
        assert e.stop_distance is not None and e.stop_distance > 0
        at_risk = e.qty * e.stop_distance
        budget = e.equity * D("0.005")
        assert at_risk <= budget * (1 + D("1e-12")), f"{at_risk} > {budget}: {e.reason}"
        if isinstance(e, OrderSized):  # not capped: the whole budget, to the last digit
            full += 1
            assert at_risk == pytest.approx(budget, rel=D("1e-9"))
        else:
            assert e.reason  # says what reduced it
    assert full >= 1
    assert run.runner.orders_sent == len(entries_and_exits(run))  # each approval is one order, nothing else


def entries_and_exits(run: Run) -> list[RiskDecision]:
    return [e for _, e in run.events if isinstance(e, OrderSized | OrderSizeReduced)]
