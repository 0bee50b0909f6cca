"""Order management: every order is committed to the ledger before it is sent, and every outcome
is an event on the bus.

submit(): PENDING row committed -> place_order through the gated client. A timeout or an
unreachable venue means "unknown", never "failed": the order is looked up by its client order id
and, if not found, resent with the SAME id (110072 = it already exists). 10002 (clock skew)
resyncs the clock offset and retries once. Other refusals (110007 insufficient balance, ...) are
final and never retried. A gate denial on the first attempt records the order as DENIED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import TypeVar

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.enums import Category, OrderStatus, OrderType
from workstation.core.errors import ExchangeError, ExchangeUnavailable, OrderDeniedError
from workstation.core.events import (
    AmendFailed,
    CancelFailed,
    LedgerWriteFailed,
    OrderAccepted,
    OrderAdopted,
    OrderRejected,
    OrderStatusChanged,
    OrderSubmitted,
    OrderUnresolved,
)
from workstation.core.ids import MAX_CLIENT_ORDER_ID
from workstation.core.types import AmendRequest, Fill, Order, OrderAck, OrderRequest
from workstation.engine.fills import FillRecorder
from workstation.engine.ledger import DuplicateOrderError, Ledger, LedgerUnavailable
from workstation.engine.precheck import OrderInvalid, OrderPrecheck
from workstation.engine.state import OrderRecord, advance, amended, is_terminal, report
from workstation.exchanges.ports import ExecutionClient

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOCK_SKEW = 10002
ORDER_NOT_FOUND = 110001
ORDER_FINISHED = 110008
DUPLICATE_ORDER_LINK_ID = 110072
NOT_AT_VENUE = frozenset({OrderStatus.PENDING, OrderStatus.DENIED, OrderStatus.REJECTED})


def ledger_key(venue_order: Order) -> str:
    """The ledger's id for a venue order: its orderLinkId, or its venue id when it has none
    (orders placed on the venue's website)."""
    return venue_order.client_order_id or f"venue:{venue_order.venue_order_id}"


@dataclass(frozen=True, slots=True)
class OmsConfig:
    resolve_attempts: int = 3  # lookups (and same-id resends) after an unknown outcome
    resolve_delay_s: float = 0.2  # grows linearly with each attempt
    misses_to_fail: int = 3  # confirmed "not found" lookups before an order is given up


class OrderManager:
    def __init__(
        self,
        *,
        client: ExecutionClient,
        ledger: Ledger,
        fills: FillRecorder,
        bus: EventBus,
        clock: Clock,
        config: OmsConfig | None = None,
        precheck: OrderPrecheck | None = None,
    ) -> None:
        self._client = client
        self.precheck = precheck
        self._ledger = ledger
        self.fills = fills
        self._bus = bus
        self._clock = clock
        self.config = config or OmsConfig()
        self.venue = client.venue
        self._orders: dict[str, OrderRecord] = {}
        self._unsaved_orders: set[str] = set()
        self.clock_offset_ms = 0  # venue clock minus ours, measured after a 10002

    async def load(self) -> None:
        records = await self._ledger.call(self._ledger.orders, venue=self.venue)
        self._orders = {r.client_order_id: r for r in records}
        await self.fills.load()

    # --- queries ------------------------------------------------------------------------------
    def record(self, client_order_id: str) -> OrderRecord | None:
        return self._orders.get(client_order_id)

    def order(self, client_order_id: str) -> Order | None:
        record = self._orders.get(client_order_id)
        return record.order if record else None

    def records(self, *, open_only: bool = False) -> list[OrderRecord]:
        return [r for r in self._orders.values() if not (open_only and is_terminal(r.status))]

    @property
    def unsaved(self) -> int:
        return len(self._unsaved_orders) + self.fills.unsaved

    # --- submit -------------------------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> Order:
        prepared = await self.prepare(request)
        if isinstance(prepared, Order):
            return prepared
        await self._send(prepared)
        return await self._after_send(prepared.client_order_id)

    async def prepare(self, request: OrderRequest) -> OrderRecord | Order:
        """Check the request against the instrument, then commit its PENDING row. Returns the
        record to send, or the refused Order (REJECTED, with an OrderRejected event) when it must
        not be sent."""
        coid = request.client_order_id
        if not coid or len(coid) > MAX_CLIENT_ORDER_ID:
            raise ValueError(f"client order id must be 1-{MAX_CLIENT_ORDER_ID} characters: {coid!r}")
        if coid in self._orders:
            raise DuplicateOrderError(f"order {coid} was already submitted; a new order needs a new id")
        if self.precheck is not None:
            try:
                request = await self.precheck.check(request)
            except OrderInvalid as exc:
                return self._refuse(request, f"not sent: {exc.reason}")
            except (ExchangeError, OrderDeniedError) as exc:
                return self._refuse(request, f"not sent: the instrument rules could not be read ({exc})")
        record = OrderRecord.pending(request, self.venue, self._clock.now_ms())
        try:
            await self._ledger.call(self._ledger.insert_order, record)
        except LedgerUnavailable as exc:
            return self._refuse(request, f"not sent: the ledger could not record the order first ({exc})")
        self._orders[coid] = record
        self._bus.publish(
            OrderSubmitted(
                venue=self.venue,
                client_order_id=coid,
                symbol=request.symbol,
                side=request.side,
                qty=request.qty,
                price=request.price,
            )
        )
        return record

    def _refuse(self, request: OrderRequest, reason: str) -> Order:
        coid = request.client_order_id
        log.error("order %s %s", coid, reason)
        self._bus.publish(OrderRejected(venue=self.venue, client_order_id=coid, reason=reason))
        pending = OrderRecord.pending(request, self.venue, self._clock.now_ms())
        return replace(pending.order, status=OrderStatus.REJECTED)

    async def _after_send(self, coid: str) -> Order:
        current = self._orders[coid]
        if current.order.order_type is OrderType.MARKET and current.status not in NOT_AT_VENUE:
            await self._quietly(self.sync_fills(current.category, current.order.symbol))
        return self._orders[coid].order

    async def _send(self, record: OrderRecord) -> None:
        coid, request = record.client_order_id, record.request()
        clock_retry = True
        while True:
            try:
                outcome: OrderAck | Exception = await self._client.place_order(request)
            except (OrderDeniedError, ExchangeError) as exc:
                if isinstance(exc, ExchangeError) and exc.code == CLOCK_SKEW and clock_retry:
                    clock_retry = False
                    await self._resync_clock()
                    continue
                outcome = exc
            await self.settle(coid, outcome)
            return

    async def settle(self, coid: str, outcome: OrderAck | Exception) -> None:
        """Apply the outcome of sending a prepared order (an ack, or the error it got)."""
        if isinstance(outcome, OrderAck):
            await self._accepted(coid, outcome)
        elif isinstance(outcome, OrderDeniedError):
            # The gate stopped it before anything left the process (it published OrderDenied).
            await self._set(coid, OrderStatus.DENIED, reason=outcome.reason)
        elif isinstance(outcome, ExchangeUnavailable):
            await self._resolve(coid, str(outcome))
        elif isinstance(outcome, ExchangeError):
            if outcome.code == DUPLICATE_ORDER_LINK_ID:
                await self._resolve(coid, str(outcome))
                return
            if self.precheck is not None:
                self.precheck.venue_refused(self._orders[coid].request(), outcome.code)
            await self._reject(coid, outcome)
        else:
            raise TypeError(f"not an order outcome: {outcome!r}")

    async def _resolve(self, coid: str, why: str) -> None:
        """The outcome is unknown: look the order up by its id; if absent, resend with the same id."""
        log.warning("order %s outcome unknown (%s): resolving by lookup", coid, why)
        record = self._orders[coid]
        for attempt in range(1, self.config.resolve_attempts + 1):
            await asyncio.sleep(self.config.resolve_delay_s * attempt)
            try:
                found = await self._client.fetch_order(record.category, coid)
            except (ExchangeError, OrderDeniedError):
                continue
            if found is not None:
                await self._accepted(coid, OrderAck(coid, found.venue_order_id, found.status), found)
                return
            try:
                ack = await self._client.place_order(record.request())
            except OrderDeniedError:
                break  # the gate closed meanwhile: the first request may still exist, keep it unresolved
            except ExchangeUnavailable:
                continue
            except ExchangeError as exc:
                if exc.code in (DUPLICATE_ORDER_LINK_ID, CLOCK_SKEW):
                    continue
                if await self.refresh(coid) is None:
                    await self._reject(coid, exc)
                return
            await self._accepted(coid, ack)
            return
        reason = f"outcome unknown after {self.config.resolve_attempts} lookups ({why}); reconciliation will settle it"
        log.error("order %s %s", coid, reason)
        self._bus.publish(OrderUnresolved(venue=self.venue, client_order_id=coid, reason=reason))

    async def _accepted(self, coid: str, ack: OrderAck, venue_order: Order | None = None) -> None:
        if venue_order is not None:
            new = report(self._orders[coid], venue_order, now_ms=self._clock.now_ms())
        else:
            status = ack.status if ack.status is not OrderStatus.PENDING else OrderStatus.NEW
            new = advance(
                self._orders[coid],
                status,
                now_ms=self._clock.now_ms(),
                venue_order_id=ack.venue_order_id,
                reason="accepted",
            )
        await self._commit(coid, new)
        self._bus.publish(
            OrderAccepted(
                venue=self.venue, client_order_id=coid, venue_order_id=self._orders[coid].order.venue_order_id
            )
        )

    async def _reject(self, coid: str, exc: ExchangeError) -> None:
        reason = str(exc)
        if exc.code == CLOCK_SKEW:
            reason += (
                f"; this computer's clock is {-self.clock_offset_ms:+d} ms off the venue's even after a resync:"
                " synchronise the system clock"
            )
        log.warning("order %s rejected: %s", coid, reason)
        await self._set(coid, OrderStatus.REJECTED, reason=reason)
        self._bus.publish(OrderRejected(venue=self.venue, client_order_id=coid, reason=reason, code=exc.code))

    async def _resync_clock(self) -> None:
        before = self._clock.now_ms()
        try:
            server = await self._client.server_time_ms()
        except (ExchangeError, OrderDeniedError) as exc:
            log.warning("clock resync failed: %s", exc)
            return
        self.clock_offset_ms = server - (before + self._clock.now_ms()) // 2
        setter = getattr(self._client, "set_clock_offset_ms", None)
        if callable(setter):
            setter(self.clock_offset_ms)
        log.warning("10002: venue clock differs from ours by %+d ms; resynced, retrying once", self.clock_offset_ms)

    # --- cancel -------------------------------------------------------------------------------
    async def cancel(self, client_order_id: str) -> Order:
        """Cancel by client order id. A cancel that races a fill (110001/110008) or times out is
        settled by fetching the order, never by assuming it was cancelled."""
        record = self._orders.get(client_order_id)
        if record is None:
            raise KeyError(f"unknown order {client_order_id}")
        if is_terminal(record.status):
            return record.order
        try:
            ack = await self._client.cancel_order(record.order.symbol, client_order_id, record.category)
        except OrderDeniedError as exc:
            self._bus.publish(CancelFailed(venue=self.venue, client_order_id=client_order_id, reason=exc.reason))
            return record.order
        except ExchangeError as exc:
            found = await self._quietly(self.refresh(client_order_id))
            current = self._orders[client_order_id]
            if not is_terminal(current.status) or found is None:
                self._bus.publish(
                    CancelFailed(venue=self.venue, client_order_id=client_order_id, reason=str(exc), code=exc.code)
                )
            elif exc.code in (ORDER_NOT_FOUND, ORDER_FINISHED):
                log.info("cancel of %s raced its end: venue says %s", client_order_id, current.status.value)
            await self._quietly(self.sync_fills(record.category, record.order.symbol))
            return self._orders[client_order_id].order
        await self._set(
            client_order_id, OrderStatus.CANCELLED, reason="cancelled on request", venue_order_id=ack.venue_order_id
        )
        await self._quietly(self.sync_fills(record.category, record.order.symbol))
        return self._orders[client_order_id].order

    # --- amend --------------------------------------------------------------------------------
    async def amend(self, request: AmendRequest) -> Order:
        """Change an open order's quantity / price / trigger under the SAME client order id.

        The intent is written to the ledger first (audit "amend_requested"); nothing is sent if it
        cannot be. Accepted: the new values are committed (the status never moves on an amend) and
        the order is refreshed from the venue. A 110079 (order being processed) is backed off and
        retried by the venue guard. Denied or refused: an AmendFailed event, the order keeps its
        values (refreshed, since a refusal often means it filled or ended meanwhile). A timeout is
        settled by reading the order from the venue: its quantity and price say whether it took."""
        coid = request.client_order_id
        record = self._orders.get(coid)
        if record is None:
            raise KeyError(f"unknown order {coid}")
        if is_terminal(record.status):
            return self._amend_failed(coid, f"the order is {record.status.value}: nothing to amend")
        intent = {"qty": request.qty, "price": request.price, "trigger_price": request.trigger_price}
        try:
            await self._ledger.call(self._ledger.audit, "amend_requested", coid, intent)
        except LedgerUnavailable as exc:
            return self._amend_failed(coid, f"not sent: the ledger could not record the amend first ({exc})")
        try:
            await self._client.amend_order(replace(request, category=record.category))
        except OrderDeniedError as exc:
            return self._amend_failed(coid, exc.reason)
        except ExchangeUnavailable as exc:
            found = await self._quietly(self._client.fetch_order(record.category, coid))
            if found is None:
                return self._amend_failed(coid, f"outcome unknown ({exc}); reconciliation will settle it", exc.code)
            now = self._clock.now_ms()
            await self._commit(coid, amended(self._orders[coid], now_ms=now, qty=found.qty, price=found.price))
            await self.apply_report(found, record.category)
            return self._orders[coid].order
        except ExchangeError as exc:
            await self._quietly(self.refresh(coid))
            return self._amend_failed(coid, str(exc), exc.code)
        new = amended(
            self._orders[coid],
            now_ms=self._clock.now_ms(),
            qty=request.qty,
            price=request.price,
            trigger_price=request.trigger_price,
        )
        await self._commit(coid, new, kind="order_amended")
        await self._quietly(self.refresh(coid))
        return self._orders[coid].order

    def _amend_failed(self, coid: str, reason: str, code: int | None = None) -> Order:
        log.warning("amend of %s failed: %s", coid, reason)
        self._bus.publish(AmendFailed(venue=self.venue, client_order_id=coid, reason=reason, code=code))
        return self._orders[coid].order

    # --- venue reports ------------------------------------------------------------------------
    async def refresh(self, client_order_id: str) -> Order | None:
        """Look the order up on the venue and apply what it says; None when the venue has no such order."""
        record = self._orders[client_order_id]
        found = await self._client.fetch_order(record.category, client_order_id)
        if found is not None:
            await self.apply_report(found, record.category)
        return found

    async def apply_report(self, venue_order: Order, category: Category) -> OrderRecord:
        """Apply a venue's view of an order; adopt it when the ledger does not know it."""
        coid = ledger_key(venue_order)
        if coid not in self._orders:
            record = OrderRecord.adopted(replace(venue_order, client_order_id=coid), category, self._clock.now_ms())
            await self._ledger.call(self._ledger.insert_order, record, kind="order_adopted")
            self._orders[coid] = record
            log.warning(
                "adopted %s order %s on %s unknown to the ledger", record.status.value, coid, venue_order.symbol
            )
            self._bus.publish(
                OrderAdopted(venue=self.venue, client_order_id=coid, symbol=venue_order.symbol, status=record.status)
            )
            return record
        await self._commit(coid, report(self._orders[coid], venue_order, now_ms=self._clock.now_ms()))
        return self._orders[coid]

    async def record_miss(self, client_order_id: str) -> bool:
        """One confirmed "not found" lookup. After `misses_to_fail` in a row the order is given up:
        a PENDING one never reached the venue (REJECTED), an acknowledged one vanished (CANCELLED).
        Returns True when this miss concluded the order."""
        record = self._orders[client_order_id]
        if is_terminal(record.status):
            return False
        misses = record.misses + 1
        if misses < self.config.misses_to_fail:
            await self._commit(client_order_id, replace(record, misses=misses), kind="order_missed")
            return False
        if record.status is OrderStatus.PENDING:
            status, reason = OrderStatus.REJECTED, f"never reached the venue: not found in {misses} lookups"
        else:
            status, reason = OrderStatus.CANCELLED, f"vanished from the venue: not found in {misses} lookups"
        await self._set(client_order_id, status, reason=reason, inferred=True)
        if status is OrderStatus.REJECTED:
            self._bus.publish(OrderRejected(venue=self.venue, client_order_id=client_order_id, reason=reason))
        return True

    async def sync_fills(self, category: Category, symbol: str | None = None) -> tuple[int, set[str]]:
        """Fetch executions and apply the new ones. Returns (new fills, client ids the ledger lacks)."""
        fills = await self._client.fetch_executions(category, symbol)
        new, unknown = 0, set()
        for fill in sorted(fills, key=lambda f: (f.ts, f.exec_id)):
            if await self.ingest_fill(fill):
                new += 1
                if fill.client_order_id and fill.client_order_id not in self._orders:
                    unknown.add(fill.client_order_id)
        return new, unknown

    async def ingest_fill(self, fill: Fill) -> bool:
        if not await self.fills.ingest(fill):
            return False
        coid = fill.client_order_id
        if coid in self._orders:
            qty, avg = self.fills.filled(coid)
            current = self._orders[coid]
            await self._commit(
                coid, advance(current, current.status, now_ms=self._clock.now_ms(), filled_qty=qty, avg_price=avg)
            )
        return True

    async def flush(self) -> bool:
        """Retry everything the ledger refused earlier. True when nothing is left unsaved."""
        ok = await self.fills.flush()
        for coid in sorted(self._unsaved_orders):
            try:
                await self._ledger.call(self._ledger.save_order, self._orders[coid])
            except LedgerUnavailable:
                return False
            self._unsaved_orders.discard(coid)
        return ok

    # --- plumbing -----------------------------------------------------------------------------
    async def _set(self, coid: str, status: OrderStatus, **kwargs: object) -> None:
        await self._commit(coid, advance(self._orders[coid], status, now_ms=self._clock.now_ms(), **kwargs))  # type: ignore[arg-type]

    async def _commit(self, coid: str, new: OrderRecord | None, *, kind: str = "order_updated") -> None:
        """Take `new` as the order's state (None: nothing changed), persist it, announce a status change."""
        if new is None:
            return
        previous = self._orders[coid]
        self._orders[coid] = new
        try:
            await self._ledger.call(self._ledger.save_order, new, kind=kind)
            self._unsaved_orders.discard(coid)
        except LedgerUnavailable as exc:
            self._unsaved_orders.add(coid)
            self._bus.publish(LedgerWriteFailed(what=f"order {coid}", reason=str(exc), unsaved=self.unsaved))
        if new.status is not previous.status:
            self._bus.publish(
                OrderStatusChanged(
                    venue=self.venue,
                    client_order_id=coid,
                    symbol=new.order.symbol,
                    status=new.status,
                    previous=previous.status,
                    filled_qty=new.order.filled_qty,
                    reason=new.reason,
                )
            )

    @staticmethod
    async def _quietly(awaitable: Awaitable[T]) -> T | None:
        """Await a follow-up read whose failure must not undo what already happened."""
        try:
            return await awaitable
        except (ExchangeError, OrderDeniedError) as exc:
            log.warning("follow-up read failed: %s", exc)
            return None
