"""Frozen domain objects. Prices and quantities bound for an exchange are Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from workstation.core.enums import Category, OrderStatus, OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar. `ts` is the open time in UTC milliseconds."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Instrument:
    venue: str
    symbol: str
    category: Category
    base: str
    quote: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal = Decimal(0)
    contract_size: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy (through risk) asks to place. `client_order_id` is Bybit's orderLinkId."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    category: Category = Category.LINEAR
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AmendRequest:
    client_order_id: str
    symbol: str
    qty: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    category: Category = Category.LINEAR


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The venue's answer to a mutating call. `accepted` only means queued."""

    client_order_id: str
    venue_order_id: str | None
    status: OrderStatus
    message: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    venue_order_id: str | None = None
    created_ms: int = 0
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class Fill:
    exec_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts: int
    is_maker: bool = False


@dataclass(frozen=True, slots=True)
class Position:
    venue: str
    symbol: str
    side: Side | None  # None when flat
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    leverage: Decimal = Decimal(1)
    liquidation_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    venue: str
    coin: str
    total: Decimal
    available: Decimal
    extra: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """An exchange API key pair. Its repr and str never show the secret, nor a prefix of the key."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return "ApiCredentials(api_key=<redacted>, api_secret=<redacted>)"

    __str__ = __repr__
