"""ccxt's unified structures (floats, lowercase enums) into the project's types (Decimal)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from workstation.core.enums import Category, OrderStatus, OrderType, Side, TimeInForce
from workstation.core.types import Balance, Fill, Order, OrderRequest, Position

_STATUS = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.POST_ONLY: "PO"}


def dec(value: Any, default: Decimal | None = Decimal(0)) -> Decimal | None:
    if value is None or value == "":
        return default
    return Decimal(str(value))


def category_of(market: dict[str, Any]) -> Category:
    if market.get("spot"):
        return Category.SPOT
    return Category.INVERSE if market.get("inverse") else Category.LINEAR


def market_id(market: dict[str, Any] | None, fallback: str) -> str:
    return str(market["id"]) if market else fallback


def order_args(request: OrderRequest, client_id_param: str) -> tuple[str, str, float, float | None, dict[str, Any]]:
    """(type, side, amount, price, params) for ccxt's create_order."""
    if request.order_type is OrderType.LIMIT and request.price is None:
        raise ValueError("a limit order needs a price")
    kind = "limit" if request.order_type is OrderType.LIMIT else "market"
    params: dict[str, Any] = {client_id_param: request.client_order_id}
    if request.time_in_force is TimeInForce.POST_ONLY:
        params["postOnly"] = True
    elif kind == "limit" or request.time_in_force is not TimeInForce.GTC:
        params["timeInForce"] = _TIF[request.time_in_force]
    if request.reduce_only:
        params["reduceOnly"] = True
    if request.trigger_price is not None:
        params["triggerPrice"] = float(request.trigger_price)
        params["triggerDirection"] = "above" if request.side is Side.BUY else "below"
    if request.stop_loss is not None:
        params["stopLoss"] = {"triggerPrice": float(request.stop_loss)}
    if request.take_profit is not None:
        params["takeProfit"] = {"triggerPrice": float(request.take_profit)}
    price = float(request.price) if kind == "limit" and request.price is not None else None
    return kind, request.side.value.lower(), float(request.qty), price, params


def client_order_id(item: dict[str, Any]) -> str:
    info = item.get("info") or {}
    return str(item.get("clientOrderId") or info.get("orderLinkId") or info.get("clientOrderId") or "")


def status_of(item: dict[str, Any]) -> OrderStatus:
    status = _STATUS.get(str(item.get("status") or "open").lower(), OrderStatus.NEW)
    if status is OrderStatus.NEW and (dec(item.get("filled")) or 0) > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status is OrderStatus.CANCELLED and (dec(item.get("filled")) or 0) > 0:
        return OrderStatus.CANCELLED  # partially filled then cancelled: the fills stand on their own
    return status


def to_order(item: dict[str, Any], venue: str, symbol: str) -> Order:
    kind = str(item.get("type") or "").lower()
    return Order(
        client_order_id=client_order_id(item),
        venue=venue,
        symbol=symbol,
        side=Side.SELL if str(item.get("side") or "").lower() == "sell" else Side.BUY,
        order_type=OrderType.LIMIT if kind == "limit" else OrderType.MARKET,
        qty=dec(item.get("amount")) or Decimal(0),
        price=dec(item.get("price"), None) or None,
        status=status_of(item),
        filled_qty=dec(item.get("filled")) or Decimal(0),
        avg_price=dec(item.get("average"), None) or None,
        venue_order_id=str(item["id"]) if item.get("id") else None,
        created_ms=int(item.get("timestamp") or 0),
        updated_ms=int(item.get("lastUpdateTimestamp") or item.get("timestamp") or 0),
    )


def to_fill(item: dict[str, Any], symbol: str) -> Fill:
    fee = item.get("fee") or {}
    return Fill(
        exec_id=str(item.get("id") or ""),
        client_order_id=client_order_id(item),
        symbol=symbol,
        side=Side.SELL if str(item.get("side") or "").lower() == "sell" else Side.BUY,
        qty=dec(item.get("amount")) or Decimal(0),
        price=dec(item.get("price")) or Decimal(0),
        fee=dec(fee.get("cost")) or Decimal(0),
        fee_currency=str(fee.get("currency") or ""),
        ts=int(item.get("timestamp") or 0),
        is_maker=item.get("takerOrMaker") == "maker",
    )


def to_position(item: dict[str, Any], venue: str, symbol: str) -> Position:
    size = dec(item.get("contracts")) or Decimal(0)
    side_text = str(item.get("side") or "").lower()
    side = None if size == 0 else (Side.SELL if side_text == "short" else Side.BUY)
    return Position(
        venue=venue,
        symbol=symbol,
        side=side,
        size=size,
        entry_price=dec(item.get("entryPrice")) or Decimal(0),
        mark_price=dec(item.get("markPrice")) or Decimal(0),
        unrealized_pnl=dec(item.get("unrealizedPnl")) or Decimal(0),
        leverage=dec(item.get("leverage"), Decimal(1)) or Decimal(1),
        liquidation_price=dec(item.get("liquidationPrice"), None) or None,
    )


def to_balances(balance: dict[str, Any], venue: str) -> list[Balance]:
    totals = balance.get("total") or {}
    free = balance.get("free") or {}
    used = balance.get("used") or {}
    out: list[Balance] = []
    for coin, total in sorted(totals.items()):
        if total is None:
            continue
        extra = {"used": dec(used.get(coin)) or Decimal(0)}
        out.append(Balance(venue, coin, dec(total) or Decimal(0), dec(free.get(coin)) or Decimal(0), extra))
    return out
