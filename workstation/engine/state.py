"""The order state machine: what the ledger knows about one order, and how it may change.

Status only moves forward (PENDING -> NEW -> PARTIALLY_FILLED -> a terminal status) and the
filled quantity only grows, so a duplicate or late report changes nothing. The one exception is a
status we concluded ourselves (`inferred`, e.g. "not found after several lookups"): evidence from
the venue overrides a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from workstation.core.enums import Category, OrderStatus, TimeInForce
from workstation.core.types import Order, OrderRequest

RANK: dict[OrderStatus, int] = {
    OrderStatus.PENDING: 0,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELLED: 3,
    OrderStatus.REJECTED: 3,
    OrderStatus.DENIED: 3,
}
TERMINAL = frozenset(s for s, rank in RANK.items() if rank == 3)
OPEN = frozenset({OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})

ORIGIN_LOCAL = "local"  # written to the ledger before it was sent
ORIGIN_ADOPTED = "adopted"  # found on the venue by reconciliation


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as the ledger stores it: the domain Order plus what a resend needs."""

    order: Order
    category: Category = Category.LINEAR
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    trigger_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reason: str = ""
    origin: str = ORIGIN_LOCAL
    inferred: bool = False
    misses: int = 0

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    @property
    def status(self) -> OrderStatus:
        return self.order.status

    @classmethod
    def pending(cls, request: OrderRequest, venue: str, now_ms: int) -> OrderRecord:
        order = Order(
            client_order_id=request.client_order_id,
            venue=venue,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            qty=request.qty,
            price=request.price,
            status=OrderStatus.PENDING,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        return cls(
            order=order,
            category=request.category,
            time_in_force=request.time_in_force,
            reduce_only=request.reduce_only,
            trigger_price=request.trigger_price,
            stop_loss=request.stop_loss,
            take_profit=request.take_profit,
        )

    @classmethod
    def adopted(cls, order: Order, category: Category, now_ms: int) -> OrderRecord:
        return cls(
            order=replace(order, updated_ms=max(order.updated_ms, now_ms)),
            category=category,
            reason="adopted from the venue",
            origin=ORIGIN_ADOPTED,
        )

    def request(self) -> OrderRequest:
        """The exact request to (re)send: same client order id, same everything."""
        o = self.order
        return OrderRequest(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side,
            qty=o.qty,
            order_type=o.order_type,
            price=o.price,
            trigger_price=self.trigger_price,
            time_in_force=self.time_in_force,
            reduce_only=self.reduce_only,
            category=self.category,
            stop_loss=self.stop_loss,
            take_profit=self.take_profit,
        )


def advance(
    record: OrderRecord,
    status: OrderStatus,
    *,
    now_ms: int,
    filled_qty: Decimal | None = None,
    avg_price: Decimal | None = None,
    venue_order_id: str | None = None,
    reason: str | None = None,
    inferred: bool = False,
) -> OrderRecord | None:
    """The record after this report, or None when the report changes nothing."""
    cur = record.order
    new_status = cur.status
    if is_terminal(cur.status):
        if record.inferred and not inferred and status is not cur.status:
            new_status = status
    elif RANK[status] >= RANK[cur.status]:
        new_status = status
    filled = max(cur.filled_qty, filled_qty if filled_qty is not None else Decimal(0))
    if not is_terminal(new_status) and cur.qty > 0 and filled >= cur.qty:
        new_status = OrderStatus.FILLED
    elif new_status in (OrderStatus.PENDING, OrderStatus.NEW) and filled > 0:
        new_status = OrderStatus.PARTIALLY_FILLED
    avg = cur.avg_price
    if avg_price is not None and (filled > cur.filled_qty or avg is None):
        avg = avg_price
    order = replace(
        cur,
        status=new_status,
        filled_qty=filled,
        avg_price=avg,
        venue_order_id=cur.venue_order_id or venue_order_id,
    )
    status_changed = new_status is not cur.status
    if order == cur and (record.misses == 0 or inferred):
        return None
    return replace(
        record,
        order=replace(order, updated_ms=max(now_ms, cur.updated_ms)),
        reason=reason if (reason is not None and status_changed) else record.reason,
        inferred=inferred if status_changed else record.inferred,
        misses=0 if not inferred else record.misses,
    )


def amended(
    record: OrderRecord,
    *,
    now_ms: int,
    qty: Decimal | None = None,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
) -> OrderRecord | None:
    """The record after an amend the venue took: the new quantity / price / trigger (None keeps
    one). The status is left as it is (an amend never moves it); None when nothing changes."""
    cur = record.order
    order = replace(cur, qty=cur.qty if qty is None else qty, price=cur.price if price is None else price)
    trigger = record.trigger_price if trigger_price is None else trigger_price
    if order == cur and trigger == record.trigger_price:
        return None
    return replace(
        record,
        order=replace(order, updated_ms=max(now_ms, cur.updated_ms)),
        trigger_price=trigger,
        reason="amended",
    )


def report(record: OrderRecord, venue_order: Order, *, now_ms: int) -> OrderRecord | None:
    """Apply what the venue says about this order (a lookup, an open-orders list, a stream message)."""
    return advance(
        record,
        venue_order.status,
        now_ms=now_ms,
        filled_qty=venue_order.filled_qty,
        avg_price=venue_order.avg_price,
        venue_order_id=venue_order.venue_order_id,
        reason="reported by the venue",
    )
