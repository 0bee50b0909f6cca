"""CandidateWatch: the shared part of the paper and live traders that holds a traded candidate to its
Monte Carlo band (real SQLite graduation store, real bus and monitor)."""

from __future__ import annotations

from pathlib import Path

from workstation.bus import EventBus
from workstation.core.clock import SystemClock
from workstation.core.events import StrategyAllocationChanged
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.graduation.watch import CandidateWatch
from workstation.risk.monitor import StrategyMonitor
from workstation.settings.models import GraduationSettings, MonitorSettings, StageCriteria

LOOSE = StageCriteria(min_days=0, min_trades=0, min_sharpe=None, min_profit_factor=None, require_mc_band=False)


def candidate_in_testnet(home: Path) -> int:
    settings = GraduationSettings(candidate=LOOSE, paper=LOOSE)
    store = GraduationStore.open(store_path(home))
    try:
        pipeline = GraduationPipeline(store, settings, bus=EventBus(), clock=SystemClock())
        cand = pipeline.add(strategy="sma_cross", params={"fast": 2, "slow": 3}, symbol="BTCUSDT", interval="1h",
                            evidence=Evidence(Performance(100, sharpe=2.0), (0.01, 0.05), 2), by="test")  # fmt: skip
        pipeline.evaluate(cand.id)
        pipeline.evaluate(cand.id, Performance(50, max_drawdown=0.01, fill_ratio=1.0, slippage_bps=1.0))
        assert pipeline.get(cand.id).stage is Stage.TESTNET
        return cand.id
    finally:
        store.close()


def test_watch_when_no_candidate_then_no_store_is_created_and_nothing_is_expected(tmp_path: Path) -> None:
    bus, lines = EventBus(), []
    monitor = StrategyMonitor(MonitorSettings(window_trades=2, demote_after_breaches=1), bus)
    with CandidateWatch(tmp_path, GraduationSettings(), bus, SystemClock(), monitor, None, lines.append) as watch:
        monitor.record_trade("sma_cross(fast=2,slow=3,short=0)", -0.5)
        monitor.record_trade("sma_cross(fast=2,slow=3,short=0)", -0.5)
        assert watch.candidate is None and watch.demotion_requests == 0
    assert not store_path(tmp_path).exists() and lines == []


def test_watch_when_a_testnet_candidate_breaches_then_demoted_in_the_history_and_reported(tmp_path: Path) -> None:
    cand_id = candidate_in_testnet(tmp_path)
    bus, lines = EventBus(), []
    monitor = StrategyMonitor(MonitorSettings(window_trades=2, demote_after_breaches=1), bus)
    watch = CandidateWatch(tmp_path, GraduationSettings(), bus, SystemClock(), monitor, cand_id, lines.append)
    sid = watch.strategy_id
    assert sid is not None and lines == [f"CANDIDATE {sid} in TESTNET: closed trades are held to its band (0.01, 0.05)"]
    monitor.record_trade(sid, 0.002)
    monitor.record_trade(sid, -0.004)  # mean -0.10% < 1.00%
    watch.close()
    assert monitor.allocation(sid) == 0.0 and watch.demotion_requests == 1
    assert lines[1].startswith(f"ALLOCATION {sid} -> 0.00: mean return over the last 2 trades -0.10% is below")
    assert lines[2].startswith(f"DEMOTION requested for {sid}: ")
    assert lines[3].startswith("DEMOTED candidate 1 TESTNET -> PAPER by monitor: performance monitor: mean return")
    assert watch.demotions == ["TESTNET -> PAPER: " + lines[3].split(" by monitor: ", 1)[1]]
    store = GraduationStore.open(store_path(tmp_path))
    try:
        last = store.history(cand_id)[-1]
    finally:
        store.close()
    assert (last.from_stage, last.to_stage, last.by) == (Stage.TESTNET, Stage.PAPER, "monitor")
    assert last.metrics == {"rolling_mean_return": -0.001, "band_low": 0.01}
    # closed: the watch no longer reports
    bus.publish(
        StrategyAllocationChanged(strategy_id=sid, allocation=1.0, reason="x", rolling_mean_return=0, band_low=0)
    )
    assert len(lines) == 4
