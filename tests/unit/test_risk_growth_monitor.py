"""Balance building (milestones, AUD conversion) and the strategy performance monitor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.unit.test_risk_support import BTC, MAR_10_10H, PRIVATE, build, long_btc
from workstation.bus import EventBus
from workstation.core.events import (
    Event,
    OrderSized,
    OrderSizeReduced,
    RiskDecision,
    RiskDenied,
    StrategyAllocationChanged,
    StrategyDemotionRequested,
)
from workstation.risk.growth import GrowthPlan, RateUnavailable, TickerRate, rate_source
from workstation.risk.limits import AccountState
from workstation.risk.monitor import StrategyMonitor
from workstation.settings.loader import load_settings
from workstation.settings.models import FixedRateSettings, GrowthSettings, MonitorSettings

PRIVATE_GROWTH = load_settings().settings.risk.growth  # the shipped private_use schedule
FIXED_1_5 = FixedRateSettings(rate=1.5, as_of=dt.date(2025, 3, 9))
GROWTH_1_5 = PRIVATE_GROWTH.model_copy(update={"rate": FIXED_1_5})


@pytest.mark.parametrize(
    ("usdt", "aud", "risk", "next_milestone"),
    [
        ("5000", "7500", "0.005", "10000"),  # below 10K AUD
        ("6666.68", "10000.02", "0.004", "25000"),  # just past 10K: the next rung
        ("20000", "30000", "0.003", "50000"),
        ("40000", "60000", "0.0025", "100000"),
        ("70000", "105000", "0.002", None),  # past the last milestone
    ],
)
def test_growth_when_equity_crosses_milestones_then_risk_falls_off(usdt, aud, risk, next_milestone) -> None:
    plan = GrowthPlan(GROWTH_1_5, rate_source(GROWTH_1_5))
    status = plan.status(D(usdt), MAR_10_10H)
    assert status.equity_converted == D(aud)
    assert status.risk_fraction == D(risk)
    assert status.next_milestone == (None if next_milestone is None else D(next_milestone))


def test_growth_when_half_way_between_milestones_then_progress_is_half() -> None:
    plan = GrowthPlan(GROWTH_1_5, rate_source(GROWTH_1_5))
    status = plan.status(D(11_666), MAR_10_10H)  # 17,499 AUD between 10K and 25K
    assert status.progress == (D(17_499) - 10_000) / 15_000


def test_growth_when_no_rate_configured_then_sizing_refused_never_one_to_one(tmp_path: Path) -> None:
    rig = build(tmp_path, growth=PRIVATE_GROWTH)  # rate: null in the shipped config
    result = rig.engine.evaluate(long_btc(), AccountState(equity=D(10_000)), BTC)
    assert not result.approved
    assert "no USDT to AUD rate is configured (risk.growth.rate)" in result.decision.reason
    assert "never assumed to be 1:1" in result.decision.reason


def test_growth_when_fixed_rate_older_than_its_max_age_then_refused_with_its_age() -> None:
    stale = PRIVATE_GROWTH.model_copy(update={"rate": FixedRateSettings(rate=1.5, as_of=dt.date(2025, 1, 1))})
    with pytest.raises(RateUnavailable, match="is 68 days old \\(max 30\\)"):
        GrowthPlan(stale, rate_source(stale)).status(D(10_000), MAR_10_10H)


def test_growth_when_ticker_fails_then_refused_and_when_it_answers_then_used() -> None:
    def broken() -> float:
        raise ConnectionError("kraken unreachable")

    with pytest.raises(RateUnavailable, match="kraken unreachable"):
        TickerRate(broken, "kraken USDT/AUD ticker").rate(MAR_10_10H)
    assert TickerRate(lambda: 0.625, "x", invert=True).rate(MAR_10_10H).value == D("1.6")


def test_growth_when_account_is_already_in_aud_then_no_rate_needed() -> None:
    aud = GrowthSettings(account_currency="AUD")
    assert GrowthPlan(aud, rate_source(aud)).status(D(12_000), MAR_10_10H).risk_fraction == D("0.0075")


def test_evaluate_when_growth_schedule_below_cap_then_schedule_risk_used_with_numbers(tmp_path: Path) -> None:
    rig = build(tmp_path, growth=GROWTH_1_5)
    # 10,000 USDT = 15,000 AUD -> 0.4 % (under the 0.5 % cap): 40 USDT over 1,000 = 0.04 BTC
    result = rig.engine.evaluate(long_btc(), AccountState(equity=D(10_000)), BTC)
    assert isinstance(result.decision, OrderSized)
    assert result.request is not None and result.request.qty == D("0.04")
    numbers = result.decision.numbers()
    assert numbers["growth_rate"] == "1.5"
    assert numbers["equity_converted"] == "15000.00"
    assert numbers["growth_risk"] == "0.004"


def test_evaluate_when_any_decision_then_event_carries_the_numbers(tmp_path: Path) -> None:
    rig = build(tmp_path)
    decisions: list[RiskDecision] = []
    rig.bus.subscribe(RiskDecision, decisions.append)
    account = AccountState(equity=D(10_000))
    rig.engine.evaluate(long_btc(stop="58800"), account, BTC)
    rig.engine.evaluate(long_btc(stop="58800", weight=D("0.5")), account, BTC)
    rig.engine.evaluate(long_btc(stop="60000"), account, BTC)
    sized, reduced, denied = decisions
    assert isinstance(sized, OrderSized)
    assert (sized.equity, sized.stop_distance, sized.qty) == (D(10_000), D(1200), D("0.041"))
    assert sized.risk_amount == D("49.2")  # 0.041 * 1,200: what the rounded order really risks
    assert sized.notional == D("2460")
    assert sized.leverage_cap == D(1)
    assert isinstance(reduced, OrderSizeReduced)
    assert reduced.qty == D("0.020") and reduced.scale == D("0.5")  # 25 / 1,200 = 0.0208 -> 0.020
    assert "target weight 0.5" in reduced.reason
    assert isinstance(denied, RiskDenied)
    assert denied.equity == D(10_000) and denied.qty == 0 and "no stop distance" in denied.reason


def test_monitor_when_rolling_mean_falls_below_mc_band_then_cut_then_demoted() -> None:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    monitor = StrategyMonitor(MonitorSettings(window_trades=4, cut_allocation_to=0.5, demote_after_breaches=2), bus)
    monitor.expect("sma", band_low=0.001, band_high=0.01)
    for r in (0.002, 0.002, 0.002, 0.002):
        monitor.record_trade("sma", r)
    assert monitor.allocation("sma") == 1.0
    monitor.record_trade("sma", -0.01)  # window mean (3 * 0.002 - 0.01) / 4 = -0.001 < 0.001
    assert monitor.allocation("sma") == 0.5
    for _ in range(3):  # the same breach, a window is not over yet
        monitor.record_trade("sma", -0.01)
    assert not [e for e in events if isinstance(e, StrategyDemotionRequested)]
    monitor.record_trade("sma", -0.01)  # a second full window below the band
    [demotion] = [e for e in events if isinstance(e, StrategyDemotionRequested)]
    assert demotion.breaches == 2 and demotion.rolling_mean_return == pytest.approx(-0.01)
    assert "below the backtest's Monte Carlo band low 0.10%" in demotion.reason
    cuts = [e.allocation for e in events if isinstance(e, StrategyAllocationChanged)]
    assert cuts == [0.5, 0.0]


def test_monitor_when_allocation_cut_then_engine_sizes_half(tmp_path: Path) -> None:
    monitor = StrategyMonitor(MonitorSettings(window_trades=2), EventBus())
    monitor.expect("sma", 0.0, 0.01)
    monitor.record_trade("sma", -0.01)
    monitor.record_trade("sma", -0.01)
    rig = build(tmp_path, PRIVATE, allocation=monitor.allocation)
    result = rig.engine.evaluate(long_btc(), AccountState(equity=D(10_000)), BTC)
    assert result.request is not None and result.request.qty == D("0.025")  # 50 * 0.5 / 1,000
    assert "strategy allocation cut to 0.5" in result.decision.reason
