"""Graduation: automatic promotion, refused LIVE approvals, demotion on breach, append-only history."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from tests.unit.test_risk_support import MAR_10_10H
from workstation.bus import EventBus
from workstation.core.clock import ManualClock
from workstation.core.enums import Venue
from workstation.core.events import Event, GraduationRefused, GraduationTransition, StrategyDemotionRequested
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import ApprovalRefused, DoctorVerdict, GraduationPipeline
from workstation.graduation.store import GraduationError, GraduationStore, store_path
from workstation.settings.loader import load_settings

DAY = 86_400_000
SETTINGS = load_settings().settings.graduation  # shipped private_use: 21 days on paper, 28 on testnet
EVIDENCE = Evidence(
    backtest=Performance(trades=150, sharpe=1.4, max_drawdown=0.12, win_rate=0.45, profit_factor=1.35),
    walk_forward=Performance(trades=110, sharpe=1.1, max_drawdown=0.14, win_rate=0.43, profit_factor=1.25),
    mc_band=(0.0005, 0.004),
    mc_window=20,
    source="runs/sma_cross-btc-1h.json",
)
GOOD = Performance(
    trades=30,
    sharpe=1.2,
    max_drawdown=0.06,
    win_rate=0.5,
    profit_factor=1.4,
    mean_trade_return=0.0015,
    slippage_bps=3.0,
    fill_ratio=0.97,
)
PASSING = DoctorVerdict(ok=True)


class Rig:
    def __init__(self, home: Path, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock(MAR_10_10H)
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(Event, self.events.append)
        self.store = GraduationStore.open(store_path(home))
        self.pipeline = GraduationPipeline(self.store, SETTINGS, bus=self.bus, clock=self.clock)

    def add(self, evidence: Evidence = EVIDENCE) -> int:
        return self.pipeline.add(
            strategy="sma_cross",
            params={"fast": 20, "slow": 50},
            symbol="BTCUSDT",
            interval="1h",
            evidence=evidence,
            by="tester",
        ).id

    def to_testnet(self) -> int:
        cid = self.add()
        self.pipeline.evaluate(cid)
        self.clock.advance(21 * DAY)
        self.pipeline.evaluate(cid, GOOD)
        assert self.pipeline.get(cid).stage is Stage.TESTNET
        return cid

    def eligible_for_live(self) -> int:
        cid = self.to_testnet()
        self.clock.advance(28 * DAY)
        assert self.pipeline.evaluate(cid, GOOD).met
        return cid


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path)
    yield r
    r.store.close()


def test_evaluate_when_backtest_evidence_meets_candidate_criteria_then_promoted_to_paper(rig: Rig) -> None:
    cid = rig.add()
    assert rig.pipeline.venue_for(cid) is None
    result = rig.pipeline.evaluate(cid)
    assert result.met
    assert rig.pipeline.get(cid).stage is Stage.PAPER
    assert rig.pipeline.venue_for(cid) is Venue.PAPER
    [added, promoted] = rig.pipeline.history(cid)
    assert (added.from_stage, added.to_stage) == (None, Stage.CANDIDATE)
    assert (promoted.from_stage, promoted.to_stage, promoted.by) == (Stage.CANDIDATE, Stage.PAPER, "graduation")
    assert promoted.metrics["performance"]["sharpe"] == 1.4


def test_evaluate_when_walk_forward_falls_short_then_stays_candidate_with_the_numbers(rig: Rig) -> None:
    weak = Evidence(
        backtest=EVIDENCE.backtest,
        walk_forward=Performance(trades=110, sharpe=0.7, max_drawdown=0.3, profit_factor=1.05),
        mc_band=EVIDENCE.mc_band,
        mc_window=20,
    )
    cid = rig.add(weak)
    result = rig.pipeline.evaluate(cid)
    assert not result.met
    assert result.shortfalls == (
        "walk-forward Sharpe 0.70, needs 1",
        "walk-forward max drawdown 30.00%, limit 25.00%",
        "walk-forward profit factor 1.05 (needs 1.2)",
    )
    assert rig.pipeline.get(cid).stage is Stage.CANDIDATE


def test_evaluate_when_paper_too_short_then_waits_and_after_21_days_promotes_to_testnet(rig: Rig) -> None:
    cid = rig.add()
    rig.pipeline.evaluate(cid)
    rig.clock.advance(10 * DAY)
    early = rig.pipeline.evaluate(cid, GOOD)
    assert early.shortfalls == ("10.0 days in the stage, needs 21",)
    assert rig.pipeline.get(cid).stage is Stage.PAPER
    rig.clock.advance(11 * DAY)
    assert rig.pipeline.evaluate(cid, GOOD).met
    assert rig.pipeline.get(cid).stage is Stage.TESTNET
    assert rig.pipeline.venue_for(cid) is Venue.BYBIT_TESTNET


def test_evaluate_when_testnet_criteria_met_then_not_promoted_without_a_human(rig: Rig) -> None:
    cid = rig.eligible_for_live()
    assert rig.pipeline.get(cid).stage is Stage.TESTNET


@pytest.mark.parametrize(
    ("debug_mode", "doctor", "confirmed", "expected"),
    [
        (True, PASSING, True, "debug mode is on (config/debug.yaml): nothing goes LIVE while it is"),
        (
            False,
            DoctorVerdict(False, ("venue: bybit-mainnet is not allowed",)),
            True,
            "doctor fails: venue: bybit-mainnet is not allowed",
        ),
        (False, PASSING, False, "LIVE trades real money on mainnet: confirm it with --confirm-mainnet"),
    ],
)
def test_approve_when_debug_or_doctor_failing_or_unconfirmed_then_refused_and_still_testnet(
    rig: Rig, debug_mode: bool, doctor: DoctorVerdict, confirmed: bool, expected: str
) -> None:
    cid = rig.eligible_for_live()
    with pytest.raises(ApprovalRefused) as info:
        rig.pipeline.approve(cid, by="alice", debug_mode=debug_mode, doctor=doctor, mainnet_confirmed=confirmed)
    assert info.value.reasons == [expected]
    assert rig.pipeline.get(cid).stage is Stage.TESTNET
    assert [e.reason for e in rig.events if isinstance(e, GraduationRefused)] == [expected]


def test_approve_when_testnet_criteria_not_yet_met_then_refused_with_the_shortfall(rig: Rig) -> None:
    cid = rig.to_testnet()
    rig.clock.advance(5 * DAY)
    rig.pipeline.evaluate(cid, GOOD)
    with pytest.raises(ApprovalRefused, match=r"TESTNET criteria are not met \(5.0 days in the stage, needs 28\)"):
        rig.pipeline.approve(cid, by="alice", debug_mode=False, doctor=PASSING, mainnet_confirmed=True)


def test_approve_when_everything_holds_then_live_with_approver_in_history(rig: Rig) -> None:
    cid = rig.eligible_for_live()
    cand = rig.pipeline.approve(cid, by="alice", debug_mode=False, doctor=PASSING, mainnet_confirmed=True)
    assert cand.stage is Stage.LIVE and cand.venue is Venue.BYBIT_MAINNET
    last = rig.pipeline.history(cid)[-1]
    assert (last.from_stage, last.to_stage, last.by, last.reason) == (
        Stage.TESTNET,
        Stage.LIVE,
        "alice",
        "approved by alice",
    )
    assert last.metrics["performance"]["fill_ratio"] == 0.97 and last.metrics["doctor"] == "passed"


def test_evaluate_when_live_drawdown_breaches_then_demoted_to_testnet_with_reason(rig: Rig) -> None:
    cid = rig.eligible_for_live()
    rig.pipeline.approve(cid, by="alice", debug_mode=False, doctor=PASSING, mainnet_confirmed=True)
    rig.clock.advance(3 * DAY)
    bad = Performance(trades=8, max_drawdown=0.18, slippage_bps=25.0, fill_ratio=0.95)
    result = rig.pipeline.evaluate(cid, bad)
    assert result.breaches == (
        "max drawdown 18.00% beyond the limit 15.00%",
        "realised slippage 25.0 bps, limit 20 bps",
    )
    assert rig.pipeline.get(cid).stage is Stage.TESTNET
    last = rig.pipeline.history(cid)[-1]
    assert (
        last.reason == "breach: max drawdown 18.00% beyond the limit 15.00%; realised slippage 25.0 bps, limit 20 bps"
    )
    assert last.metrics["performance"]["max_drawdown"] == 0.18


def test_evaluate_when_paper_returns_below_mc_band_then_demoted_to_candidate(rig: Rig) -> None:
    cid = rig.add()
    rig.pipeline.evaluate(cid)
    rig.clock.advance(2 * DAY)
    below = Performance(trades=20, max_drawdown=0.04, mean_trade_return=-0.002, slippage_bps=2.0, fill_ratio=1.0)
    rig.pipeline.evaluate(cid, below)
    assert rig.pipeline.get(cid).stage is Stage.CANDIDATE
    assert (
        "mean trade return -0.20% over 20 trades below the Monte Carlo band low 0.05%"
        in rig.pipeline.history(cid)[-1].reason
    )


def test_monitor_demotion_request_when_listening_then_live_candidate_demoted(rig: Rig) -> None:
    cid = rig.eligible_for_live()
    rig.pipeline.approve(cid, by="alice", debug_mode=False, doctor=PASSING, mainnet_confirmed=True)
    rig.pipeline.listen()
    sid = rig.pipeline.get(cid).strategy_id
    assert sid == f"sma_cross/BTCUSDT/1h#{cid}"
    rig.bus.publish(
        StrategyDemotionRequested(
            strategy_id=sid, reason="below band", rolling_mean_return=-0.01, band_low=0.0005, breaches=2
        )
    )
    last = rig.pipeline.history(cid)[-1]
    assert (last.to_stage, last.by, last.reason) == (Stage.TESTNET, "monitor", "performance monitor: below band")


def test_history_when_update_or_delete_attempted_then_database_refuses(rig: Rig, tmp_path: Path) -> None:
    cid = rig.add()
    rig.pipeline.evaluate(cid)
    assert not [n for n in dir(rig.store) if n.startswith(("update", "delete", "remove"))]
    with sqlite3.connect(store_path(tmp_path)) as raw:
        for sql in (
            "UPDATE transitions SET to_stage = 'LIVE'",
            "DELETE FROM transitions",
            "UPDATE candidates SET evidence = '{}'",
            "DELETE FROM evaluations",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                raw.execute(sql)
    assert [t.to_stage for t in rig.pipeline.history(cid)] == [Stage.CANDIDATE, Stage.PAPER]


def test_retire_when_reason_given_then_retired_from_any_stage_and_survives_reopen(rig: Rig, tmp_path: Path) -> None:
    cid = rig.to_testnet()
    with pytest.raises(GraduationError, match="needs a reason"):
        rig.pipeline.retire(cid, "  ", by="alice")
    rig.pipeline.retire(cid, "edge decayed after the halving", by="alice")
    rig.store.close()
    reopened = Rig(tmp_path, rig.clock)
    cand = reopened.pipeline.get(cid)
    assert cand.stage is Stage.RETIRED and cand.venue is None
    assert reopened.pipeline.history(cid)[-1].reason == "edge decayed after the halving"
    with pytest.raises(GraduationError, match="nothing to evaluate"):
        reopened.pipeline.evaluate(cid, GOOD)
    reopened.store.close()


def test_transition_when_another_process_moved_it_first_then_refused(rig: Rig) -> None:
    cid = rig.add()
    rig.pipeline.evaluate(cid)  # now PAPER
    with pytest.raises(GraduationError, match="is PAPER, not CANDIDATE"):
        rig.store.insert_transition(cid, MAR_10_10H, Stage.CANDIDATE, Stage.PAPER, "stale", "x", {})
    assert [e.to_stage for e in rig.events if isinstance(e, GraduationTransition)] == ["CANDIDATE", "PAPER"]


def test_measure_when_daily_equity_and_trades_then_hand_computed_metrics() -> None:
    perf = Performance.measure([100, 110, 99, 108.9], [0.02, -0.01, 0.03, -0.005], window=2, fill_ratio=0.9)
    # daily returns +10 %, -10 %, +10 %: mean 1/30, sample sd 1/sqrt(75)
    assert perf.sharpe == pytest.approx(math.sqrt(75 * 365) / 30)
    assert perf.max_drawdown == pytest.approx(0.1)  # 110 -> 99
    assert perf.total_return == pytest.approx(0.089)
    assert perf.win_rate == 0.5
    assert perf.profit_factor == pytest.approx(0.05 / 0.015)
    assert perf.mean_trade_return == pytest.approx(0.0125)  # (0.03 - 0.005) / 2
    assert perf.trades == 4 and perf.fill_ratio == 0.9
