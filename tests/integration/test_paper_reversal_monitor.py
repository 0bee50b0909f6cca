"""The performance monitor on the paper path counts a reversal as a closed trade.

A long/short sma_cross (short=1) goes straight from long to short and back: once in the market it
is never flat again. Each reversal closes one trade and opens the next, as the backtest's trade list
(and graduation.compare.round_trips) counts it, so the monitor must see every one of them, with the
return a flat exit would have had, and a band breach must demote the candidate. Real Bybit BTCUSDT
1h candles and funding, strategy -> StrategyRunner -> RiskEngine -> OMS -> paper venue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, BTC_FUNDING, candles, funding
from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel, funding_per_bar
from workstation.bus import EventBus
from workstation.core.clock import SystemClock
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.graduation.watch import CandidateWatch
from workstation.paper.replay import ReplayData, replay
from workstation.paper.risk_path import ReplayClock, RiskPath, paper_instrument
from workstation.paper.runner import StrategyRunner
from workstation.risk.engine import RiskEngine
from workstation.risk.limits import RiskLimits
from workstation.risk.monitor import StrategyMonitor
from workstation.risk.state import RiskStateStore
from workstation.settings.models import GraduationSettings, MonitorSettings, RiskSettings
from workstation.strategies.base import signals
from workstation.strategies.builtin import build

pytestmark = pytest.mark.skipif(
    not (BTC_1H.exists() and BTC_FUNDING.exists()), reason=f"real candles not found: {BTC_1H}"
)
HOUR = 3_600_000
CASH = 10_000.0
PARAMS = {"fast": 5, "slow": 20, "short": 1}
COST = CostModel(taker_fee=0.00055, maker_fee=0.0002, slippage_bps=1.0, volatility_impact=0.05, leverage=3.0)
# limits wide enough that no entry is denied: the trade list is then the backtest's
RISK = RiskSettings(daily_loss_limit=0.5, max_drawdown=0.9, size_taper_start=0.9, reducing_at=0.9)


class RecordingMonitor(StrategyMonitor):
    """The real monitor, also keeping every closed trade's return it was given."""

    def __init__(self, settings: MonitorSettings, bus: EventBus) -> None:
        super().__init__(settings, bus)
        self.returns: list[float] = []

    def record_trade(self, strategy_id: str, trade_return: float) -> None:
        self.returns.append(trade_return)
        super().record_trade(strategy_id, trade_return)


@dataclass
class Run:
    monitor: RecordingMonitor
    runner: StrategyRunner
    lines: list[str] = field(default_factory=list)


def market(bars: int = 24 * 30) -> ReplayData:
    c = candles(BTC_1H, first=0, count=bars)
    fts, rate = funding()
    return ReplayData(c, funding_per_bar(c.ts, fts, rate))


def paper_with_monitor(
    data: ReplayData, tmp_path: Path, monitor: RecordingMonitor, strategy_id: str, bus: EventBus
) -> StrategyRunner:
    clock = ReplayClock()
    store = RiskStateStore(tmp_path / "state" / "paper" / "risk.json", bus=bus, clock=clock)
    engine = RiskEngine(
        settings=RISK, limits=RiskLimits(RISK, store, clock), bus=bus, clock=clock, allocation=monitor.allocation
    )
    # the 2-ATR stop only sizes the entry: no stop-outs the backtest does not have
    path = RiskPath(
        engine, paper_instrument("BTCUSDT", COST), strategy_id, clock, bar_ms=HOUR, attach_stop=False, monitor=monitor
    )

    async def go() -> StrategyRunner:
        client = PaperExecutionClient(cost=COST, cash=CASH)
        kernel = EngineKernel(client=client, ledger_path=tmp_path / "ledger.sqlite")
        await kernel.start()
        runner = StrategyRunner(kernel, build("sma_cross", PARAMS), "BTCUSDT", COST, risk=path)
        await replay(client, "BTCUSDT", data, runner)
        await kernel.stop()
        return runner

    return asyncio.run(go())


def test_replay_when_long_short_strategy_reverses_then_the_monitor_sees_every_backtest_trade(tmp_path: Path) -> None:
    data = market()
    bt = S.simulate(
        data.candles, signals(build("sma_cross", PARAMS), data.candles), COST, cash=CASH, funding=data.funding
    )
    closed = bt.trades[bt.trades[:, S.T_REASON] != F.EXIT_END]
    reversals = int(np.count_nonzero(closed[1:, S.T_ENTRY_I] == closed[:-1, S.T_EXIT_I]))
    assert len(closed) >= 20 and reversals >= len(closed) - 2  # once in, never flat again
    assert np.any(data.funding != 0)

    bus = EventBus()
    monitor = RecordingMonitor(MonitorSettings(window_trades=5), bus)
    monitor.expect("sma_cross", -1.0, 1.0)  # a band nothing breaches: sizes stay as the risk engine set them
    runner = paper_with_monitor(data, tmp_path, monitor, "sma_cross", bus)
    assert runner.refusals == 0 and runner.risk is not None and runner.risk.denials == 0

    assert len(monitor.returns) == len(closed)
    # each return is the trade's P&L after fees and funding over its entry notional, as a flat exit's
    expected = closed[:, S.T_PNL] / (closed[:, S.T_QTY] * closed[:, S.T_ENTRY_PX])
    np.testing.assert_allclose(monitor.returns, expected, rtol=1e-9, atol=1e-12)


def test_replay_when_reversing_candidate_breaches_its_band_then_it_is_demoted(tmp_path: Path) -> None:
    store = GraduationStore.open(store_path(tmp_path))
    try:
        pipeline = GraduationPipeline(store, GraduationSettings(), bus=EventBus(), clock=SystemClock())
        backtest = Performance(100, sharpe=2.0, max_drawdown=0.05, win_rate=0.6, profit_factor=2.0,
                               mean_trade_return=0.06, total_return=0.5)  # fmt: skip
        cand = pipeline.add(strategy="sma_cross", params=PARAMS, symbol="BTCUSDT", interval="1h",
                            evidence=Evidence(backtest, (0.05, 0.5), 2), by="test")  # fmt: skip
        pipeline.evaluate(cand.id)
        assert pipeline.get(cand.id).stage is Stage.PAPER
    finally:
        store.close()

    bus = EventBus()
    monitor = RecordingMonitor(MonitorSettings(window_trades=2, demote_after_breaches=1), bus)
    lines: list[str] = []
    with CandidateWatch(tmp_path, GraduationSettings(), bus, SystemClock(), monitor, cand.id, lines.append) as watch:
        paper_with_monitor(market(24 * 10), tmp_path / "paper", monitor, cand.strategy_id, bus)
        assert watch.demotion_requests == 1
        assert watch.demotions and watch.demotions[0].startswith("PAPER -> CANDIDATE")
    assert len(monitor.returns) >= 2
    assert any(line.startswith(f"DEMOTED candidate {cand.id} PAPER -> CANDIDATE by monitor") for line in lines)

    store = GraduationStore.open(store_path(tmp_path))
    try:
        pipeline = GraduationPipeline(store, GraduationSettings(), bus=EventBus(), clock=SystemClock())
        assert pipeline.get(cand.id).stage is Stage.CANDIDATE
        last = pipeline.history(cand.id)[-1]
        assert last.by == "monitor" and "mean return over the last 2 trades" in last.reason
    finally:
        store.close()
