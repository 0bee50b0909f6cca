"""Events are frozen classes; the bus dispatches on the class, never on a string."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from workstation.core.clock import SystemClock
from workstation.core.enums import OrderStatus, Side, TradingState

_clock = SystemClock()


def _now() -> int:
    return _clock.now_ms()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    ts: int = field(default_factory=_now)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDenied(Event):
    """A mutating call stopped before it left the process, with a human reason."""

    venue: str
    action: str  # place_order, amend_order, cancel_order, set_leverage, ...
    reason: str
    client_order_id: str | None = None
    symbol: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    venue: str
    client_order_id: str
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(Event):
    venue: str
    client_order_id: str
    venue_order_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugModeChanged(Event):
    enabled: bool
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(Event):
    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugSessionExpired(Event):
    limit_s: float
    message: str


# --- engine: order lifecycle, fills, reconciliation, ledger health --------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(Event):
    """The order row is committed to the ledger and the request is about to be sent."""

    venue: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(Event):
    venue: str
    client_order_id: str
    symbol: str
    status: OrderStatus
    previous: OrderStatus
    filled_qty: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(Event):
    """A new execution (de-duplicated by exec id) was applied to the order and the portfolio."""

    venue: str
    client_order_id: str
    exec_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUnresolved(Event):
    """The outcome of a request is unknown (timeout, venue down); reconciliation will settle it."""

    venue: str
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelFailed(Event):
    venue: str
    client_order_id: str
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendFailed(Event):
    """An amend that did not take effect (the order keeps its last known quantity and price)."""

    venue: str
    client_order_id: str
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAdopted(Event):
    """An order found on the venue that the ledger did not know (placed elsewhere, or lost)."""

    venue: str
    client_order_id: str
    symbol: str
    status: OrderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionAdopted(Event):
    """The venue reported a position size different from the ledger's; the venue's size was taken."""

    venue: str
    symbol: str
    size: Decimal  # signed: + long, - short
    previous_size: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileCompleted(Event):
    venue: str
    complete: bool  # False: some part could not be checked (see problems); nothing was assumed
    adopted_orders: int = 0
    updated_orders: int = 0
    failed_orders: int = 0
    new_fills: int = 0
    adopted_positions: int = 0
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerWriteFailed(Event):
    """The ledger could not be written; what could not be saved is kept in memory and retried."""

    what: str
    reason: str
    unsaved: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRecovered(Event):
    saved: int


# --- risk: every sizing decision carries the numbers behind it ------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDecision(Event):
    """Base of the risk engine's decisions; subscribe to it to see all three kinds."""

    strategy_id: str
    symbol: str
    side: Side
    state: TradingState
    reason: str
    equity: Decimal  # in the account currency
    risk_fraction: Decimal  # of equity risked if the stop is hit (0 for reducing orders)
    risk_amount: Decimal
    stop_distance: Decimal | None
    requested_qty: Decimal  # fixed-fractional quantity before caps, tapers and rounding
    qty: Decimal  # what goes out (0 when denied)
    notional: Decimal
    leverage_cap: Decimal
    scale: Decimal  # product of the size reductions applied (1 = none)
    detail: tuple[tuple[str, str], ...] = ()  # further numbers (rate, caps, exposure), name -> value

    def numbers(self) -> dict[str, str]:
        return dict(self.detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSized(RiskDecision):
    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSizeReduced(RiskDecision):
    """Sized, but smaller than fixed-fractional sizing alone would give (a cap or a taper bit)."""

    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDenied(RiskDecision):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyAllocationChanged(Event):
    strategy_id: str
    allocation: float  # 1.0 = full size
    reason: str
    rolling_mean_return: float
    band_low: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyDemotionRequested(Event):
    """The performance monitor gave up on a live strategy; graduation demotes it."""

    strategy_id: str
    reason: str
    rolling_mean_return: float
    band_low: float
    breaches: int


# --- graduation -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class GraduationTransition(Event):
    candidate_id: int
    strategy_id: str
    from_stage: str
    to_stage: str
    reason: str
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GraduationRefused(Event):
    candidate_id: int
    action: str  # approve, promote, ...
    reason: str
