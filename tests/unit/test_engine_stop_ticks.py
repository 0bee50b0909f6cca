"""Stop-loss / take-profit prices on the instrument's tick, rounded toward the entry: a long's
stop up and a short's down (never more risk than asked), a take-profit toward the entry too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workstation.core.enums import Category, OrderType, Side
from workstation.core.types import Instrument, OrderRequest
from workstation.engine.precheck import OrderInvalid, check_order, round_stops

HALF = Decimal("0.5")


def btc(tick: str) -> Instrument:
    return Instrument(
        venue="bybit-testnet",
        symbol="BTCUSDT",
        category=Category.LINEAR,
        base="BTC",
        quote="USDT",
        tick_size=Decimal(tick),
        qty_step=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("5"),
    )


def entry(side: Side, sl: str | None, tp: str | None) -> OrderRequest:
    return OrderRequest(
        "c1",
        "BTCUSDT",
        side,
        Decimal("0.01"),
        OrderType.MARKET,
        stop_loss=None if sl is None else Decimal(sl),
        take_profit=None if tp is None else Decimal(tp),
    )


def test_round_stops_when_long_off_tick_then_stop_rounds_up_and_target_down() -> None:
    assert round_stops(Side.BUY, Decimal("29000.3"), Decimal("33000.7"), HALF) == (
        Decimal("29000.5"),
        Decimal("33000.5"),
    )


def test_round_stops_when_short_off_tick_then_stop_rounds_down_and_target_up() -> None:
    assert round_stops(Side.SELL, Decimal("31000.7"), Decimal("27000.2"), HALF) == (
        Decimal("31000.5"),
        Decimal("27000.5"),
    )


def test_round_stops_when_on_tick_none_or_removal_then_values_unchanged() -> None:
    sl, tp = Decimal("29000.50"), Decimal("33000")
    got = round_stops(Side.BUY, sl, tp, HALF)
    assert got == (sl, tp) and got[0] is sl and got[1] is tp  # the caller's Decimals kept
    assert round_stops(Side.BUY, None, Decimal("0"), HALF) == (None, Decimal("0"))  # leave SL, remove TP


def test_round_stops_when_a_stop_would_round_to_zero_then_refused_not_removed() -> None:
    with pytest.raises(OrderInvalid, match=r"stop-loss 0\.2 rounds to zero"):
        round_stops(Side.SELL, Decimal("0.2"), None, HALF)
    with pytest.raises(OrderInvalid, match=r"take-profit 0\.3 rounds to zero"):
        round_stops(Side.BUY, None, Decimal("0.3"), HALF)


def test_check_order_when_entry_carries_off_tick_stops_then_rounded_toward_the_entry() -> None:
    long = check_order(entry(Side.BUY, "29000.37", "33000.33"), btc("0.10"))
    assert (long.stop_loss, long.take_profit) == (Decimal("29000.4"), Decimal("33000.3"))
    short = check_order(entry(Side.SELL, "31000.37", "27000.33"), btc("0.10"))
    assert (short.stop_loss, short.take_profit) == (Decimal("31000.3"), Decimal("27000.4"))
    plain = check_order(entry(Side.BUY, None, None), btc("0.10"))
    assert (plain.stop_loss, plain.take_profit) == (None, None)
