"""The paper venue's state: orders, positions, cash and executions, in float64 like the backtest.

Prices and quantities arrive and leave as Decimal (exact: a float is converted through its
shortest repr, which round-trips), but every rule runs on floats with the very functions of
`workstation.backtest.fills` and `costs`, in the same order of operations as the backtest, so the
paper account and the batch kernel agree to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.types import Candle, Fill, Order, OrderRequest, Position

# Bybit V5 retCodes the paper venue answers with, so callers handle it like the real thing.
PARAMS_ERROR = 10001
ORDER_NOT_FOUND = 110001
INSUFFICIENT_BALANCE = 110007
REDUCE_ONLY_REFUSED = 110017
LEVERAGE_NOT_MODIFIED = 110043
DUPLICATE_ORDER_LINK_ID = 110072

OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_RANK = {OrderStatus.NEW: 1, OrderStatus.PARTIALLY_FILLED: 2}  # every other status is final (3)


def dec(value: float) -> Decimal:
    """A float as the Decimal of its shortest repr: float(dec(x)) == x."""
    return Decimal(repr(float(value)))


def sign(side: Side) -> float:
    return 1.0 if side is Side.BUY else -1.0


@dataclass
class PaperOrder:
    request: OrderRequest
    venue_order_id: str
    created_ms: int
    status: OrderStatus = OrderStatus.NEW
    filled_qty: float = 0.0
    filled_value: float = 0.0
    updated_ms: int = 0
    qty: float = 0.0
    price: float = math.nan  # limit price
    trigger: float = math.nan  # stop trigger
    reason: str = ""

    @property
    def side(self) -> float:
        return sign(self.request.side)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def kind(self) -> OrderType:
        """MARKET, LIMIT or STOP (a market order with a trigger price is a stop)."""
        if self.request.order_type is OrderType.LIMIT:
            return OrderType.LIMIT
        return OrderType.STOP if not math.isnan(self.trigger) else OrderType.MARKET

    def move(self, status: OrderStatus, now_ms: int, reason: str = "") -> None:
        """Status only moves forward (the same rule as the engine's state machine)."""
        if _RANK.get(status, 3) < _RANK.get(self.status, 3) or (not self.is_open and status is not self.status):
            raise AssertionError(f"order {self.request.client_order_id}: {self.status} -> {status} goes backwards")
        self.status = status
        self.updated_ms = max(self.updated_ms, now_ms)
        if reason:
            self.reason = reason

    def to_order(self, venue: str) -> Order:
        r = self.request
        kind = self.kind
        return Order(
            client_order_id=r.client_order_id,
            venue=venue,
            symbol=r.symbol,
            side=r.side,
            order_type=kind,
            qty=dec(self.qty),
            price=dec(self.price) if kind is OrderType.LIMIT else None,
            status=self.status,
            filled_qty=dec(self.filled_qty),
            avg_price=dec(self.filled_value / self.filled_qty) if self.filled_qty else None,
            venue_order_id=self.venue_order_id,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
        )


@dataclass(frozen=True, slots=True)
class PaperFill:
    """One execution in the backtest's terms (side +1/-1, floats) plus the venue's ids."""

    exec_id: str
    client_order_id: str
    symbol: str
    ts: int
    side: float
    qty: float
    price: float
    fee: float
    reason: int  # backtest.fills.EXIT_*: EXIT_NONE for orders, else the protective exit
    is_maker: bool

    def to_fill(self, fee_currency: str) -> Fill:
        return Fill(
            exec_id=self.exec_id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=Side.BUY if self.side > 0 else Side.SELL,
            qty=dec(self.qty),
            price=dec(self.price),
            fee=dec(self.fee),
            fee_currency=fee_currency,
            ts=self.ts,
            is_maker=self.is_maker,
        )


@dataclass
class SymbolBook:
    """One instrument: its position, protective levels and the candle being traded."""

    symbol: str
    category: Category
    leverage: float
    qty: float = 0.0  # signed
    avg: float = 0.0
    sl: float = math.nan
    tp: float = math.nan
    mark: float = math.nan
    prev: Candle | None = None  # the last closed candle (slippage is measured on it)
    bar: Candle | None = None  # the candle in progress (between open_bar and close_bar)
    path_open: float = math.nan  # where the position's path in this bar starts
    allow_tp: bool = True
    funding_paid: float = 0.0
    orders: list[PaperOrder] = field(default_factory=list)  # open orders, oldest first

    @property
    def side(self) -> float:
        return 1.0 if self.qty > 0 else -1.0

    def position(self, venue: str, mmr: float, liq_fn: object) -> Position:
        size, side = abs(self.qty), None
        if self.qty != 0:
            side = Side.BUY if self.qty > 0 else Side.SELL
        mark = self.mark if not math.isnan(self.mark) else self.avg
        liq = liq_fn(self.side, self.avg, self.leverage, mmr) if self.qty else None  # type: ignore[operator]
        return Position(
            venue=venue,
            symbol=self.symbol,
            side=side,
            size=dec(size),
            entry_price=dec(self.avg) if self.qty else Decimal(0),
            mark_price=dec(mark),
            unrealized_pnl=dec(self.qty * (mark - self.avg)) if self.qty else Decimal(0),
            leverage=dec(self.leverage),
            liquidation_price=dec(liq) if liq is not None and liq > 0 else None,
        )
