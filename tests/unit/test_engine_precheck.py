"""Instrument rules with Decimal (scenario 13): rounding and refusals before anything is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workstation.core.enums import Category, OrderType, Side
from workstation.core.types import Instrument, OrderRequest
from workstation.engine.precheck import OrderInvalid, check_order

BTC = Instrument(
    venue="bybit-testnet",
    symbol="BTCUSDT",
    category=Category.LINEAR,
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.10"),
    qty_step=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("5"),
)


def order(qty: str, price: str | None = "30000", side: Side = Side.BUY, **kwargs: object) -> OrderRequest:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest("c1", "BTCUSDT", side, Decimal(qty), kind, price=Decimal(price) if price else None, **kwargs)  # type: ignore[arg-type]


def test_check_when_qty_off_step_then_rounded_down_never_up() -> None:
    assert check_order(order("0.0129"), BTC).qty == Decimal("0.012")


def test_check_when_limit_price_off_tick_then_buy_rounds_down_and_sell_rounds_up() -> None:
    assert check_order(order("0.01", "30000.37"), BTC).price == Decimal("30000.3")
    assert check_order(order("0.01", "30000.31", Side.SELL), BTC).price == Decimal("30000.4")


def test_check_when_already_on_grid_then_request_unchanged() -> None:
    request = order("0.010", "30000.0")
    assert check_order(request, BTC) == request


def test_check_when_qty_rounds_to_zero_then_refused_with_the_step() -> None:
    with pytest.raises(OrderInvalid, match=r"rounds to zero with the step 0\.001"):
        check_order(order("0.0004"), BTC)


def test_check_when_below_min_qty_then_refused_with_the_minimum() -> None:
    eth = Instrument("v", "ETHUSDT", Category.LINEAR, "ETH", "USDT", Decimal("0.01"), Decimal("0.01"), Decimal("0.1"))
    with pytest.raises(OrderInvalid, match=r"below the minimum 0\.1"):
        check_order(OrderRequest("c", "ETHUSDT", Side.BUY, Decimal("0.05"), OrderType.LIMIT, Decimal("3000")), eth)


def test_check_when_below_min_notional_then_refused_unless_reduce_only() -> None:
    with pytest.raises(OrderInvalid, match=r"order value 3 is below the minimum 5"):
        check_order(order("0.001", "3000"), BTC)
    assert check_order(order("0.001", "3000", reduce_only=True), BTC).qty == Decimal("0.001")


def test_check_when_market_order_then_notional_uses_the_reference_price() -> None:
    assert check_order(order("0.001", None), BTC).qty == Decimal("0.001")  # no price known: the venue checks
    with pytest.raises(OrderInvalid, match="below the minimum 5"):
        check_order(order("0.001", None), BTC, reference_price=Decimal("1000"))


def test_check_when_price_rounds_to_zero_then_refused() -> None:
    with pytest.raises(OrderInvalid, match="rounds to zero"):
        check_order(order("1", "0.05"), BTC)
