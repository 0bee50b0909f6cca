"""The risk path `build_risk_path` wires from the settings, on real Bybit BTCUSDT 1h candles through
the paper venue: the balance-building schedule sets the risk per trade from the AUD-converted equity
(no rate: every entry refused with the reason), the 2-ATR stop that sized an entry is attached to the
order (a stop-out loses the sized risk plus costs), and the paper account's trading state lives
beside its journal, apart from the live <home>/state/risk.json."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles
from tests.integration.cli_runner import run_cli
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.core.enums import TradingState
from workstation.core.events import Event, OrderSized, OrderSizeReduced, RiskDecision, RiskDenied
from workstation.engine.kernel import EngineKernel
from workstation.engine.state import OrderRecord
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.paper.replay import ReplayData, replay
from workstation.paper.risk_path import RiskPath, build_risk_path, paper_risk_path
from workstation.paper.runner import StrategyRunner
from workstation.risk.growth import GrowthPlan, rate_source
from workstation.risk.state import DRAWDOWN, RiskStateStore
from workstation.runtime import Runtime, build_runtime
from workstation.strategies.builtin import build

pytestmark = pytest.mark.skipif(not BTC_1H.exists(), reason=f"real candles not found: {BTC_1H}")
COST = CostModel(taker_fee=0.00055, maker_fee=0.0002, slippage_bps=1.0, leverage=1.0)
CASH = 10_000.0
BASE = ("debug_mode=false", "risk.size_taper_start=1", "risk.reducing_at=1", "risk.daily_loss_limit=0.5")


def fixed_rate(rate: float) -> str:
    return f"risk.growth.rate={{kind: fixed, rate: {rate}, as_of: 2023-11-01, max_age_days: 3650}}"


@dataclass
class Run:
    runtime: Runtime
    path: RiskPath
    client: PaperExecutionClient
    entries: list[OrderRecord]
    events: list[Event] = field(default_factory=list)

    def decisions(self, kind: type[Event] = RiskDecision) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


def run_paper(home: Path, *overrides: str, bars: int = 24 * 45) -> Run:
    runtime = build_runtime(home=home, config_file=None, overrides=(*BASE, *overrides))
    data = candles(BTC_1H, first=0, count=bars)
    path = build_risk_path(runtime, "BTCUSDT", "1h", "sma_cross", COST)
    events: list[Event] = []
    runtime.bus.subscribe(RiskDecision, events.append)

    async def go() -> Run:
        client = PaperExecutionClient(cost=COST, cash=CASH)
        kernel = EngineKernel(client=client, ledger_path=home / "ledger.sqlite", bus=runtime.bus)
        await kernel.start()
        runner = StrategyRunner(kernel, build("sma_cross", {"fast": 5, "slow": 20}), "BTCUSDT", COST, risk=path)
        await replay(client, "BTCUSDT", ReplayData(data, np.zeros(len(data))), runner)
        records = [r for r in kernel.oms.records() if not r.reduce_only and r.order.filled_qty > 0]
        await kernel.stop()
        return Run(runtime, path, client, sorted(records, key=lambda r: r.client_order_id), events)

    return asyncio.run(go())


@pytest.mark.parametrize("rate", [0.9, 1.6, 12.0])
def test_replay_when_growth_is_on_then_risk_per_trade_follows_the_milestone_schedule_in_aud(
    tmp_path: Path, rate: float
) -> None:
    run = run_paper(tmp_path, "risk.growth.enabled=true", fixed_rate(rate))
    settings = run.runtime.settings.risk
    plan = GrowthPlan(settings.growth, rate_source(settings.growth))
    cap = D(str(settings.max_risk_per_trade))
    sized = [e for e in run.decisions() if isinstance(e, OrderSized | OrderSizeReduced) and e.stop_distance]
    assert len(sized) >= 5 and not run.decisions(RiskDenied)
    for event in sized:
        assert isinstance(event, OrderSized | OrderSizeReduced)
        detail = dict(event.detail)
        converted = event.equity * D(str(rate))
        schedule = plan.risk_for(converted)
        assert (
            D(detail["growth_rate"]) == D(str(rate)) and "fixed USDT->AUD rate of 2023-11-01" in detail["rate_source"]
        )
        assert D(detail["equity_converted"]) == converted.quantize(D("0.01"))
        assert D(detail["growth_risk"]) == schedule and detail["milestone_currency"] == "AUD"
        status = plan.status(event.equity, 0)
        assert D(detail["previous_milestone"]) == status.previous_milestone
        if status.next_milestone is None:
            assert detail["next_milestone"] == "none (past the last)"
        else:
            assert D(detail["next_milestone"]) == status.next_milestone
        budget = min(schedule, cap) * event.scale
        assert event.risk_fraction <= budget * D("1.000000000000000001")  # Decimal rounding at 28 digits
        if isinstance(event, OrderSized):  # not capped: the whole budget, less the quantity step
            assert float(event.risk_fraction) == pytest.approx(float(budget), rel=0.02)
    # the falloff: a bigger AUD balance risks a smaller fraction (private_use profile: 0.5%, 0.4%, 0.2%)
    expected = {0.9: D("0.005"), 1.6: D("0.004"), 12.0: D("0.002")}[rate]
    assert {D(dict(e.detail)["growth_risk"]) for e in sized} == {expected}


def test_replay_when_growth_is_on_without_a_rate_then_every_entry_is_refused_with_the_reason(tmp_path: Path) -> None:
    run = run_paper(tmp_path, "risk.growth.enabled=true", "risk.growth.rate=null", bars=24 * 10)
    denied = run.decisions(RiskDenied)
    assert denied and len(denied) == len(run.decisions())  # nothing was sized at 1:1
    for event in denied:
        assert isinstance(event, RiskDenied)
        assert event.reason.startswith("cannot size: no USDT to AUD rate is configured (risk.growth.rate)")
        assert "never assumed to be 1:1" in event.reason
    assert run.entries == [] and run.client.account.fills == []


def test_replay_when_growth_is_off_then_risk_per_trade_is_max_risk_per_trade(tmp_path: Path) -> None:
    run = run_paper(tmp_path, "risk.growth.enabled=false", bars=24 * 20)
    sized = [e for e in run.decisions(OrderSized) if isinstance(e, OrderSized) and e.stop_distance]
    assert sized and all("growth_risk" not in dict(e.detail) for e in sized)
    cap = run.runtime.settings.risk.max_risk_per_trade
    assert all(float(e.risk_fraction) == pytest.approx(cap, rel=0.02) for e in sized)


def test_replay_when_strategy_gives_no_stop_then_the_sizing_stop_is_on_the_order_and_caps_the_loss(
    tmp_path: Path,
) -> None:
    run = run_paper(tmp_path, bars=24 * 60)
    sized = [e for e in run.decisions() if isinstance(e, OrderSized | OrderSizeReduced) and e.stop_distance]
    assert len(sized) == len(run.entries) >= 10
    fills = run.client.account.fills
    stopped = 0
    for event, record in zip(sized, run.entries, strict=True):
        assert isinstance(event, OrderSized | OrderSizeReduced) and event.stop_distance is not None
        assert record.stop_loss is not None  # the 2-ATR stop that sized the entry went out with it
        stop, distance = float(record.stop_loss), float(event.stop_distance)
        at = next(i for i, f in enumerate(fills) if f.client_order_id == record.client_order_id)
        entry = fills[at]
        decided_at = float(record.stop_loss) + entry.side * distance  # the price the engine sized at
        assert entry.qty == float(event.qty) and abs(entry.price - decided_at) <= entry.price * 0.001
        assert entry.qty * distance == pytest.approx(float(event.risk_amount), rel=1e-9)
        exit_ = next((f for f in fills[at + 1 :] if f.client_order_id != record.client_order_id), None)
        if exit_ is None or exit_.reason != F.EXIT_STOP_LOSS:
            continue
        stopped += 1
        assert exit_.qty == entry.qty and exit_.client_order_id == ""  # the venue's protective exit
        loss = -entry.side * entry.qty * (exit_.price - entry.price) + entry.fee + exit_.fee
        slippage = entry.qty * (abs(entry.price - decided_at) + abs(exit_.price - stop))
        assert abs(exit_.price - stop) <= stop * 0.001  # closed at the stop (slipped, no gap on these bars)
        assert 0 < loss <= float(event.risk_amount) + entry.fee + exit_.fee + slippage + 1e-9
        assert loss - entry.fee - exit_.fee <= float(event.risk_amount) * 1.05  # slippage on top stays small
    assert stopped >= 3


def test_replay_when_paper_risk_state_halts_then_the_live_state_file_is_untouched(tmp_path: Path) -> None:
    live = RiskStateStore(tmp_path / "state" / "risk.json")
    live.halt(DRAWDOWN, "live drawdown 20% (limit 15%)", None)  # the live account is halted by hand
    run = run_paper(tmp_path, bars=24 * 10)
    assert run.path.engine.store.path == paper_risk_path(tmp_path) == tmp_path / "state" / "paper" / "risk.json"
    assert run.decisions(OrderSized) and not run.decisions(RiskDenied)  # the live halt does not stop the replay
    assert RiskStateStore(tmp_path / "state" / "risk.json").view().state is TradingState.HALTED

    tight = ("risk.max_drawdown=0.001",)
    halted = run_paper(tmp_path / "other", *tight, bars=24 * 30)
    paper_view = RiskStateStore(paper_risk_path(tmp_path / "other")).view(now_ms=2**62)
    assert paper_view.state is TradingState.HALTED and "max drawdown" in paper_view.reason
    assert halted.decisions(RiskDenied)
    assert not (tmp_path / "other" / "state" / "risk.json").exists()  # the replay's halt stays in its own file

    # `workstation risk status|clear-halt --paper` read and clear the paper account's own state
    home = tmp_path / "other"
    paper = json.loads(run_cli("risk", "status", "--paper", "--json", home=home).stdout)
    assert paper["account"] == "paper" and paper["state"] == "HALTED" and "max drawdown" in paper["reason"]
    assert json.loads(run_cli("risk", "status", "--json", home=home).stdout)["state"] == "ACTIVE"
    cleared = run_cli("risk", "clear-halt", "--paper", "--yes", home=home)
    assert cleared.returncode == 0 and "trading state: ACTIVE" in cleared.stdout
    assert RiskStateStore(paper_risk_path(home)).view(now_ms=2**62).state is TradingState.ACTIVE
