"""Limits and the trading state: daily loss, drawdown, kill switch, REDUCING, tapering, rate, exposure."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from tests.unit.test_risk_support import BTC, HOUR, MAR_10_10H, PRIVATE, build, long_btc
from workstation.core.clock import ManualClock
from workstation.core.enums import Side, TradingState
from workstation.core.events import OrderDenied, OrderSizeReduced, RiskDenied, TradingStateChanged
from workstation.risk.engine import TradeIntent
from workstation.risk.limits import AccountState, Exposure
from workstation.safety.switches import KillSwitch

FLAT_10K = AccountState(equity=D(10_000))


def test_evaluate_when_daily_loss_reaches_3pct_then_halted_until_next_utc_day(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.engine.on_account(FLAT_10K)  # 10:00 UTC, day start 10,000
    rig.clock.advance(2 * HOUR)
    down = AccountState(equity=D(9_690))  # -3.1 % on the day
    result = rig.engine.evaluate(long_btc(), down, BTC)
    assert not result.approved
    assert rig.store.state is TradingState.HALTED
    assert "daily loss limit" in result.decision.reason and "until 2025-03-11T00:00:00.000Z" in result.decision.reason
    changed = [e for e in rig.events if isinstance(e, TradingStateChanged)]
    assert changed[-1].state is TradingState.HALTED
    rig.clock.advance(11 * HOUR + 59 * 60_000 + 59_000)  # 23:59:59 the same day
    assert not rig.engine.evaluate(long_btc(), down, BTC).approved
    rig.clock.advance(1000)  # 00:00:00 UTC the next day
    result = rig.engine.evaluate(long_btc(), down, BTC)
    assert result.approved, result.decision.reason
    assert rig.store.state is TradingState.ACTIVE
    # a new day starts from the equity then: 9,690 * 0.5 % = 48.45 over 1,000 -> 0.048
    assert result.request is not None and result.request.qty == D("0.048")


def test_restart_when_drawdown_halted_then_still_halted_until_a_human_clears(tmp_path: Path) -> None:
    settings = PRIVATE.model_copy(update={"daily_loss_limit": 0.5})  # only the drawdown can bite here
    rig = build(tmp_path, settings)
    rig.engine.on_account(FLAT_10K)
    rig.clock.advance(HOUR)
    rig.engine.on_account(AccountState(equity=D(8_400)))  # 16 % below the 10,000 peak
    assert rig.store.state is TradingState.HALTED
    # restart three days later: a fresh process reads the same file
    later = ManualClock(MAR_10_10H + 3 * 24 * HOUR)
    again = build(tmp_path, settings, clock=later)
    assert again.store.state is TradingState.HALTED
    assert "max drawdown" in again.store.view().reason and "until a human clears it" in again.store.view().reason
    denied = again.engine.evaluate(long_btc(), AccountState(equity=D(8_400)), BTC)
    assert not denied.approved and denied.decision.state is TradingState.HALTED
    cleared = again.store.clear_halts(by="cli:tester")
    assert [h.kind for h in cleared] == ["drawdown"]
    # the peak restarts from 8,400, so the same equity does not halt again
    result = again.engine.evaluate(long_btc(), AccountState(equity=D(8_400)), BTC)
    assert result.approved, result.decision.reason
    assert build(tmp_path, settings, clock=later).store.state is TradingState.ACTIVE


def test_state_when_kill_switch_engaged_then_halted_and_clearing_limits_does_not_lift_it(tmp_path: Path) -> None:
    kill = KillSwitch(tmp_path / "state" / "safety.json")
    kill.engage("manual test", "tester")
    rig = build(tmp_path, kill_switch=kill)
    result = rig.engine.evaluate(long_btc(), FLAT_10K, BTC)
    assert not result.approved
    assert "kill switch engaged" in result.decision.reason
    rig.store.clear_halts(by="tester")
    assert rig.store.state is TradingState.HALTED
    kill.clear("tester")
    assert rig.engine.evaluate(long_btc(), FLAT_10K, BTC).approved


def test_state_when_risk_file_corrupt_then_halted(tmp_path: Path) -> None:
    path = tmp_path / "state" / "risk.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    rig = build(tmp_path)
    assert rig.store.state is TradingState.HALTED
    assert "unreadable" in rig.store.view().reason


def test_evaluate_when_reducing_then_only_risk_reducing_orders_pass(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.store.set_manual_reducing("cooling off", by="tester")
    long_01 = AccountState(equity=D(10_000), positions=(Exposure("BTCUSDT", D("0.1"), D(60_000)),))
    add = rig.engine.evaluate(long_btc(), long_01, BTC)
    assert not add.approved and add.decision.reason.startswith("REDUCING: cooling off")
    new_short = TradeIntent(
        strategy_id="s", symbol="BTCUSDT", side=Side.SELL, entry_price=D(60_000), stop_price=D(61_000)
    )
    assert not rig.engine.evaluate(new_short, FLAT_10K, BTC).approved
    partial = TradeIntent(
        strategy_id="s", symbol="BTCUSDT", side=Side.SELL, entry_price=D(60_000), reduce_qty=D("0.04")
    )
    result = rig.engine.evaluate(partial, long_01, BTC)
    assert result.request is not None and result.request.qty == D("0.04") and result.request.reduce_only
    too_much = TradeIntent(strategy_id="s", symbol="BTCUSDT", side=Side.SELL, entry_price=D(60_000), reduce_qty=D(1))
    result = rig.engine.evaluate(too_much, long_01, BTC)
    assert result.request is not None and result.request.qty == D("0.1")  # never flips through risk
    assert result.decision.reason.endswith("from 0.1 to 0")


def test_evaluate_when_two_thirds_of_daily_budget_used_then_size_tapers_before_any_halt(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.engine.on_account(FLAT_10K)
    rig.clock.advance(HOUR)
    # 2 % lost of a 3 % budget = 2/3 used; taper from 1/2: scale = (1 - 2/3) / (1 - 1/2) = 2/3
    result = rig.engine.evaluate(long_btc(), AccountState(equity=D(9_800)), BTC)
    assert rig.store.state is TradingState.ACTIVE
    assert isinstance(result.decision, OrderSizeReduced)
    # 9,800 * 0.5 % * 2/3 = 32.67 USDT over 1,000 -> 0.032 (untapered it would be 0.049)
    assert result.request is not None and result.request.qty == D("0.032")
    assert result.decision.requested_qty == D("0.049")
    assert abs(result.decision.scale - D(2) / D(3)) < D("1e-9")
    assert "daily loss budget used" in result.decision.reason


def test_evaluate_when_80pct_of_daily_budget_used_then_reducing(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.engine.on_account(FLAT_10K)
    result = rig.engine.evaluate(long_btc(), AccountState(equity=D(9_750)), BTC)  # 2.5 / 3 = 83 %
    assert rig.store.state is TradingState.REDUCING
    assert not result.approved


def test_evaluate_when_order_rate_exceeded_then_denied_until_the_minute_passes(tmp_path: Path) -> None:
    rig = build(tmp_path, PRIVATE.model_copy(update={"max_orders_per_minute": 2}))
    assert rig.engine.evaluate(long_btc(), FLAT_10K, BTC).approved
    assert rig.engine.evaluate(long_btc(), FLAT_10K, BTC).approved
    third = rig.engine.evaluate(long_btc(), FLAT_10K, BTC)
    assert not third.approved and "order rate limit: 2 orders in the last minute" in third.decision.reason
    rig.clock.advance(60_000)
    assert rig.engine.evaluate(long_btc(), FLAT_10K, BTC).approved


def test_evaluate_when_max_open_positions_held_then_new_symbol_denied_but_held_symbol_allowed(tmp_path: Path) -> None:
    rig = build(tmp_path, PRIVATE.model_copy(update={"max_total_exposure": 10.0}))
    held = AccountState(
        equity=D(10_000),
        positions=(
            Exposure("ETHUSDT", D(1), D(2000)),
            Exposure("SOLUSDT", D(10), D(100)),
            Exposure("XRPUSDT", D(1000), D(1)),
        ),
    )
    denied = rig.engine.evaluate(long_btc(), held, BTC)
    assert (
        not denied.approved
        and "max open positions: 3 open (ETHUSDT, SOLUSDT, XRPUSDT), limit 3" in denied.decision.reason
    )
    held4 = AccountState(equity=held.equity, positions=(*held.positions[:2], Exposure("BTCUSDT", D("0.01"), D(60_000))))
    assert rig.engine.evaluate(long_btc(), held4, BTC).approved


def test_evaluate_when_symbol_exposure_nearly_full_then_size_cut_to_headroom(tmp_path: Path) -> None:
    rig = build(tmp_path)
    # 1.5 x 10,000 = 15,000 per symbol; 0.2 BTC at 60,000 = 12,000 held -> 3,000 left = 0.05 BTC
    held = AccountState(equity=D(10_000), positions=(Exposure("BTCUSDT", D("0.2"), D(60_000)),))
    result = rig.engine.evaluate(long_btc(stop="59900"), held, BTC)
    assert isinstance(result.decision, OrderSizeReduced)
    assert result.request is not None and result.request.qty == D("0.05")
    assert "capped by symbol exposure" in result.decision.reason
    assert result.decision.numbers()["symbol_exposure"] == "3000.00"


def test_evaluate_when_denied_then_an_order_denied_event_names_risk(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.engine.evaluate(TradeIntent("s", "BTCUSDT", Side.BUY, D(60_000)), FLAT_10K, BTC)
    denied = [e for e in rig.events if isinstance(e, RiskDenied)]
    orders = [e for e in rig.events if isinstance(e, OrderDenied)]
    assert denied[0].reason == "no stop price: fixed-fractional sizing needs the stop distance"
    assert orders[0].reason.startswith("risk: no stop price")
