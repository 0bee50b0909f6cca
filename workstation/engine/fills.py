"""Fills: de-duplicated by execution id, applied once to the portfolio, saved in arrival order.

If the ledger cannot be written (database locked, disk full), a fill is not dropped: it stays in
an in-memory queue, the live portfolio already includes it, and every later call retries the
queue oldest first. The position row saved with each fill is folded only from fills that are
saved (`durable`), so after a crash the ledger's position always matches the ledger's fills and
the lost tail is fetched again from the venue's execution list.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from decimal import Decimal

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.events import LedgerRecovered, LedgerWriteFailed, OrderFilled
from workstation.core.types import Fill
from workstation.engine.ledger import Ledger, LedgerUnavailable
from workstation.engine.portfolio import Portfolio, PositionState, apply_fill

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class FillRecorder:
    def __init__(self, *, ledger: Ledger, portfolio: Portfolio, bus: EventBus, clock: Clock, venue: str) -> None:
        self._ledger = ledger
        self._portfolio = portfolio
        self._bus = bus
        self._clock = clock
        self._venue = venue
        self._seen: set[str] = set()
        self._unsaved: deque[Fill] = deque()
        self._durable: dict[str, PositionState] = {}
        self._qty: dict[str, Decimal] = {}
        self._value: dict[str, Decimal] = {}
        self._failing = False
        # The stream and the REST poll can both flush: without this, two flushes save the same
        # head fill and the second pops the NEXT one unsaved (or an empty queue).
        self._flush_lock = asyncio.Lock()

    async def load(self) -> None:
        fills = await self._ledger.call(self._ledger.fills, venue=self._venue)
        positions = await self._ledger.call(self._ledger.positions, self._venue)
        self._seen = {f.exec_id for f in fills}
        for fill in fills:
            self._count(fill)
        self._durable = {p.symbol: p for p in positions}
        self._portfolio.load(positions)

    @property
    def unsaved(self) -> int:
        return len(self._unsaved)

    def known(self, exec_id: str) -> bool:
        return exec_id in self._seen

    def filled(self, client_order_id: str) -> tuple[Decimal, Decimal | None]:
        """Quantity and average price of the fills seen for an order."""
        qty = self._qty.get(client_order_id, ZERO)
        return qty, (self._value[client_order_id] / qty if qty else None)

    def _count(self, fill: Fill) -> None:
        coid = fill.client_order_id
        self._qty[coid] = self._qty.get(coid, ZERO) + fill.qty
        self._value[coid] = self._value.get(coid, ZERO) + fill.qty * fill.price

    async def ingest(self, fill: Fill) -> bool:
        """Apply a fill once. True when it was new (saved now or queued for a retry)."""
        if fill.exec_id in self._seen:
            return False
        self._seen.add(fill.exec_id)
        self._count(fill)
        self._portfolio.apply_fill(self._venue, fill, self._clock.now_ms())
        self._unsaved.append(fill)
        await self.flush()
        self._bus.publish(
            OrderFilled(
                venue=self._venue,
                client_order_id=fill.client_order_id,
                exec_id=fill.exec_id,
                symbol=fill.symbol,
                side=fill.side,
                qty=fill.qty,
                price=fill.price,
                fee=fill.fee,
            )
        )
        return True

    async def flush(self) -> bool:
        """Save queued fills oldest first. False when the ledger still refuses (they stay queued)."""
        async with self._flush_lock:
            return await self._flush_locked()

    async def _flush_locked(self) -> bool:
        saved = 0
        while self._unsaved:
            fill = self._unsaved[0]
            position = apply_fill(
                self._durable.get(fill.symbol) or PositionState(self._venue, fill.symbol), fill, self._clock.now_ms()
            )
            try:
                stored = await self._ledger.call(self._ledger.record_fill, fill, self._venue, position)
            except LedgerUnavailable as exc:
                if not self._failing:
                    log.error("fill %s kept in memory, will retry: %s", fill.exec_id, exc)
                self._failing = True
                self._bus.publish(LedgerWriteFailed(what=f"fill {fill.exec_id}", reason=str(exc), unsaved=self.unsaved))
                return False
            if stored:
                self._durable[fill.symbol] = position
            self._unsaved.popleft()
            saved += 1
        if self._failing:
            self._failing = False
            log.warning("ledger writable again: %d queued fill(s) saved", saved)
            self._bus.publish(LedgerRecovered(saved=saved))
        return True

    async def adopt_position(self, state: PositionState) -> None:
        """Store a position taken from the venue. Only called with nothing queued (see reconcile)."""
        await self._ledger.call(self._ledger.save_position, state, kind="position_adopted")
        self._durable[state.symbol] = state
        self._portfolio.put(state)
