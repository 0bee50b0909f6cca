"""Bybit V5 result dicts -> workstation.core.types. Bybit sends numbers as strings, often ""."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from workstation.core.enums import OrderStatus, OrderType, Side
from workstation.core.funding import FundingPayment
from workstation.core.types import Balance, Fill, Order, Position

_STATUS = {
    "Created": OrderStatus.NEW,
    "New": OrderStatus.NEW,
    "Untriggered": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,
    "Active": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
FILL_EXEC_TYPES = frozenset({"Trade", "AdlTrade", "BustTrade"})
FUNDING_EXEC_TYPE = "Funding"  # a settlement on the position: a balance change, not a fill


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What /v5/user/query-api says about the key in use (never the key itself)."""

    read_only: bool
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    can_withdraw: bool = False
    ips: tuple[str, ...] = ()
    expires_at: datetime | None = None

    @property
    def ip_bound(self) -> bool:
        return bool(self.ips) and "*" not in self.ips


def dec(value: Any, default: Decimal = Decimal(0)) -> Decimal:
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return default


def opt_dec(value: Any) -> Decimal | None:
    """None for "", missing or zero (Bybit's way of saying 'not set')."""
    number = dec(value)
    return number if number != 0 else None


def order_status(raw: str) -> OrderStatus:
    return _STATUS.get(raw, OrderStatus.NEW)


def to_order(item: Mapping[str, Any], venue: str) -> Order:
    trigger = opt_dec(item.get("triggerPrice"))
    order_type = OrderType.LIMIT if item.get("orderType") == "Limit" else OrderType.MARKET
    if trigger is not None and order_type is OrderType.MARKET:
        order_type = OrderType.STOP
    return Order(
        client_order_id=str(item.get("orderLinkId") or ""),
        venue=venue,
        symbol=str(item["symbol"]),
        side=Side(item["side"]),
        order_type=order_type,
        qty=dec(item.get("qty")),
        price=opt_dec(item.get("price")) if order_type is OrderType.LIMIT else None,
        status=order_status(str(item.get("orderStatus", ""))),
        filled_qty=dec(item.get("cumExecQty")),
        avg_price=opt_dec(item.get("avgPrice")),
        venue_order_id=str(item.get("orderId") or "") or None,
        created_ms=int(dec(item.get("createdTime"))),
        updated_ms=int(dec(item.get("updatedTime"))),
    )


def to_fill(item: Mapping[str, Any]) -> Fill:
    return Fill(
        exec_id=str(item["execId"]),
        client_order_id=str(item.get("orderLinkId") or ""),
        symbol=str(item["symbol"]),
        side=Side(item["side"]),
        qty=dec(item.get("execQty")),
        price=dec(item.get("execPrice")),
        fee=dec(item.get("execFee")),
        fee_currency=str(item.get("feeCurrency") or ""),
        ts=int(dec(item.get("execTime"))),
        is_maker=bool(item.get("isMaker")),
    )


def is_fill(item: Mapping[str, Any]) -> bool:
    return item.get("execType", "Trade") in FILL_EXEC_TYPES


def is_funding(item: Mapping[str, Any]) -> bool:
    return item.get("execType") == FUNDING_EXEC_TYPE


def to_funding(item: Mapping[str, Any]) -> FundingPayment:
    """An execution with execType "Funding": execQty is the position's size and side its side,
    execPrice the mark price it was valued at, feeRate the funding rate, execFee what the account
    paid (positive) or received (negative), kept with Bybit's sign (see core.funding)."""
    size = dec(item.get("execQty"))
    return FundingPayment(
        exec_id=str(item["execId"]),
        symbol=str(item["symbol"]),
        ts=int(dec(item.get("execTime"))),
        amount=dec(item.get("execFee")),
        currency=str(item.get("feeCurrency") or ""),
        rate=None if item.get("feeRate") in (None, "") else dec(item.get("feeRate")),
        position_qty=-size if item.get("side") == "Sell" else size,
        price=opt_dec(item.get("execPrice")) or opt_dec(item.get("markPrice")),
    )


def to_position(item: Mapping[str, Any], venue: str) -> Position:
    size = dec(item.get("size"))
    side = Side(item["side"]) if item.get("side") in ("Buy", "Sell") and size != 0 else None
    return Position(
        venue=venue,
        symbol=str(item["symbol"]),
        side=side,
        size=size,
        entry_price=dec(item.get("avgPrice")),
        mark_price=dec(item.get("markPrice")),
        unrealized_pnl=dec(item.get("unrealisedPnl")),
        leverage=dec(item.get("leverage"), Decimal(1)),
        liquidation_price=opt_dec(item.get("liqPrice")),
    )


def to_balances(result: Mapping[str, Any], venue: str) -> list[Balance]:
    balances = []
    for account in result.get("list", []):
        for coin in account.get("coin", []):
            total = dec(coin.get("walletBalance"))
            # UTA accounts send availableToWithdraw as "" since 2025: derive it instead.
            locked = dec(coin.get("locked")) + dec(coin.get("totalOrderIM")) + dec(coin.get("totalPositionIM"))
            available = dec(coin.get("availableToWithdraw"), total - locked)
            extra = {
                name: dec(coin.get(key))
                for name, key in (
                    ("equity", "equity"),
                    ("usd_value", "usdValue"),
                    ("unrealized_pnl", "unrealisedPnl"),
                    ("locked", "locked"),
                    ("order_margin", "totalOrderIM"),
                    ("position_margin", "totalPositionIM"),
                    ("borrowed", "borrowAmount"),
                )
                if coin.get(key) not in (None, "")
            }
            balances.append(Balance(venue, str(coin["coin"]), total, available, extra))
    return balances


def to_api_key_info(result: Mapping[str, Any]) -> ApiKeyInfo:
    permissions = {
        str(group): tuple(str(p) for p in (perms or ())) for group, perms in (result.get("permissions") or {}).items()
    }
    can_withdraw = any("withdraw" in p.lower() for perms in permissions.values() for p in perms)
    return ApiKeyInfo(
        read_only=bool(int(result.get("readOnly") or 0)),
        permissions=permissions,
        can_withdraw=can_withdraw,
        ips=tuple(str(ip) for ip in result.get("ips") or ()),
        expires_at=_expiry(result.get("expiredAt")),
    )


def _expiry(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return None if moment.year <= 1970 else moment  # the epoch means "never expires"
