"""Reconciliation: make the ledger agree with the venue, on start and after every reconnect.

The venue is the truth for what exists; the ledger is the truth for what we intended. Orders the
ledger does not know are adopted; orders the ledger thinks open are looked up one by one, and only
several confirmed misses in a row give one up. Executions are fetched and de-duplicated by exec id.
Positions are compared only when the execution list is stable around the position snapshot (else a
fill landing in between would be counted twice or lost), and only with nothing left unsaved. A part
that cannot be checked is reported as a problem: nothing is ever assumed, least of all "flat".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.enums import Category
from workstation.core.errors import ExchangeError, OrderDeniedError, WorkstationError
from workstation.core.events import PositionAdopted, ReconcileCompleted
from workstation.core.types import Position
from workstation.engine.funding import FundingRecorder
from workstation.engine.ledger import Ledger
from workstation.engine.oms import OrderManager, ledger_key
from workstation.engine.portfolio import Portfolio
from workstation.exchanges.ports import ExecutionClient

log = logging.getLogger(__name__)
ZERO = Decimal(0)
READ_ERRORS = (ExchangeError, OrderDeniedError)


@dataclass
class ReconcileReport:
    adopted_orders: int = 0
    updated_orders: int = 0
    failed_orders: int = 0
    new_fills: int = 0
    new_funding: int = 0
    adopted_positions: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


class Reconciler:
    def __init__(
        self,
        *,
        oms: OrderManager,
        client: ExecutionClient,
        ledger: Ledger,
        portfolio: Portfolio,
        bus: EventBus,
        clock: Clock,
        categories: tuple[Category, ...] = (Category.LINEAR,),
        stable_rounds: int = 3,
        funding: FundingRecorder | None = None,
    ) -> None:
        self._oms = oms
        self._client = client
        self._ledger = ledger
        self._portfolio = portfolio
        self._bus = bus
        self._clock = clock
        self._categories = categories
        self._stable_rounds = stable_rounds
        self._funding = funding

    async def run(self) -> ReconcileReport:
        result = ReconcileReport()
        if not await self._oms.flush():
            result.problems.append("the ledger is not writable; unsaved fills are kept in memory")
        for category in self._categories:
            await self._orders(category, result)
            await self._fills_and_positions(category, result)
            await self._funding_settlements(category, result)
        await self._balances(result)
        venue = self._oms.venue
        log.info("reconcile %s: %s", venue, result)
        self._bus.publish(
            ReconcileCompleted(
                venue=venue,
                complete=result.complete,
                adopted_orders=result.adopted_orders,
                updated_orders=result.updated_orders,
                failed_orders=result.failed_orders,
                new_fills=result.new_fills,
                adopted_positions=result.adopted_positions,
                problems=tuple(result.problems),
            )
        )
        return result

    async def _orders(self, category: Category, result: ReconcileReport) -> None:
        try:
            open_orders = await self._client.fetch_open_orders(category)
        except READ_ERRORS as exc:
            result.problems.append(f"open {category.value} orders not checked: {exc}")
            return
        seen: set[str] = set()
        for venue_order in open_orders:
            known = self._oms.record(ledger_key(venue_order))
            before = known.order if known else None
            try:
                record = await self._oms.apply_report(venue_order, category)
            except WorkstationError as exc:
                result.problems.append(f"order {venue_order.client_order_id or venue_order.venue_order_id}: {exc}")
                continue
            seen.add(record.client_order_id)
            if known is None:
                result.adopted_orders += 1
            elif record.order != before:
                result.updated_orders += 1
        for record in self._oms.records(open_only=True):
            if record.category is not category or record.client_order_id in seen:
                continue
            coid = record.client_order_id
            try:
                found = await self._oms.refresh(coid)
            except READ_ERRORS as exc:
                result.problems.append(f"order {coid} not checked: {exc}")
                continue
            if found is not None:
                result.updated_orders += 1
            elif await self._oms.record_miss(coid):
                result.failed_orders += 1

    async def _fills_and_positions(self, category: Category, result: ReconcileReport) -> None:
        for _ in range(self._stable_rounds):
            if not await self._sync_fills(category, result):
                return
            if self._oms.unsaved:
                result.problems.append("positions not compared: the ledger still has unsaved fills")
                return
            try:
                positions = await self._client.fetch_positions(category)
            except READ_ERRORS as exc:
                result.problems.append(f"{category.value} positions not checked: {exc}")
                return
            before = result.new_fills
            if not await self._sync_fills(category, result):
                return
            if result.new_fills == before:
                await self._compare_positions(positions, result)
                return
        result.problems.append(f"{category.value} fills kept arriving; positions are compared next time")

    async def _sync_fills(self, category: Category, result: ReconcileReport) -> bool:
        try:
            new, unknown = await self._oms.sync_fills(category)
        except READ_ERRORS as exc:
            result.problems.append(f"{category.value} executions not checked: {exc}")
            return False
        result.new_fills += new
        for coid in sorted(unknown):
            try:
                found = await self._client.fetch_order(category, coid)
                if found is not None:
                    await self._oms.apply_report(found, category)
                    result.adopted_orders += 1
            except WorkstationError as exc:
                result.problems.append(f"order {coid} of a fill not adopted: {exc}")
        return True

    async def _funding_settlements(self, category: Category, result: ReconcileReport) -> None:
        if self._funding is None:
            return
        try:
            result.new_funding += await self._funding.sync(self._client, category)
        except READ_ERRORS as exc:
            result.problems.append(f"{category.value} funding settlements not checked: {exc}")

    async def _compare_positions(self, positions: list[Position], result: ReconcileReport) -> None:
        venue = self._oms.venue
        reported = {p.symbol: p for p in positions if p.venue == venue}
        for state in self._portfolio.positions(venue):
            if state.symbol not in reported:  # the venue listed it as flat (the call succeeded)
                reported[state.symbol] = Position(
                    venue, state.symbol, None, state.size * 0, state.entry_price, state.entry_price, state.size * 0
                )
        for symbol in sorted(reported):
            previous = self._portfolio.position(venue, symbol)
            adopted = self._portfolio.adopt(reported[symbol], self._clock.now_ms())
            if adopted is None:
                continue
            try:
                await self._oms.fills.adopt_position(adopted)
            except WorkstationError as exc:
                result.problems.append(f"position {symbol} adopted in memory only: {exc}")
            log.warning(
                "position %s: ledger had %s, venue has %s; took the venue's", symbol, previous.size, adopted.size
            )
            result.adopted_positions += 1
            self._bus.publish(
                PositionAdopted(
                    venue=venue,
                    symbol=symbol,
                    size=adopted.size,
                    previous_size=previous.size,
                    entry_price=adopted.entry_price,
                )
            )

    async def _balances(self, result: ReconcileReport) -> None:
        try:
            balances = await self._client.fetch_balances()
        except READ_ERRORS as exc:
            result.problems.append(f"balances not checked: {exc}")
            return
        self._portfolio.set_balances(self._oms.venue, balances)
        try:
            await self._ledger.call(self._ledger.snapshot_balances, balances, self._clock.now_ms())
        except WorkstationError as exc:
            result.problems.append(f"balance snapshot not saved: {exc}")
