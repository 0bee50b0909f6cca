"""Engine-level fault handling: batch orders that partly fail (scenario 10) and the emergency
stop that cancels open orders and stays on across restarts (scenario 24).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from workstation.core.enums import OrderStatus
from workstation.core.errors import ExchangeError, OrderDeniedError, WorkstationError
from workstation.core.types import Order, OrderAck, OrderRequest
from workstation.engine.state import OrderRecord, is_terminal
from workstation.exchanges.ports import ExecutionClient

if TYPE_CHECKING:
    from workstation.engine.kernel import EngineKernel
    from workstation.engine.oms import OrderManager

log = logging.getLogger(__name__)


class BatchClient(Protocol):
    async def place_orders(self, requests: list[OrderRequest]) -> list[OrderAck | ExchangeError]: ...


async def submit_batch(oms: OrderManager, client: ExecutionClient, requests: list[OrderRequest]) -> list[Order]:
    """Write every order to the ledger first, send them in one batch, settle each on its own.

    One order refused by the venue does not touch the others; an unknown outcome for the whole
    call (timeout) is resolved per order by lookup and same-id resend; a gate denial (debug mode,
    kill switch) denies every order of the batch."""
    prepared = [await oms.prepare(request) for request in requests]
    records = [p for p in prepared if isinstance(p, OrderRecord)]
    batch = getattr(client, "place_orders", None)
    if records and batch is None:
        for record in records:  # no batch support: one request per order, same guarantees
            await oms.settle(record.client_order_id, await _one(client, record))
    elif records:
        try:
            outcomes: list[OrderAck | Exception] = list(await batch([r.request() for r in records]))
        except (ExchangeError, OrderDeniedError) as exc:
            outcomes = [exc] * len(records)
        for record, outcome in zip(records, outcomes, strict=True):
            await oms.settle(record.client_order_id, outcome)
    result = []
    for item in prepared:
        order = item if isinstance(item, Order) else oms.order(item.client_order_id)
        assert order is not None
        result.append(order)
    return result


async def _one(client: ExecutionClient, record: OrderRecord) -> OrderAck | Exception:
    try:
        return await client.place_order(record.request())
    except (ExchangeError, OrderDeniedError) as exc:
        return exc


class KillSwitchLike(Protocol):
    @property
    def engaged(self) -> bool: ...

    def engage(self, reason: str, by: str) -> None: ...


@dataclass
class EmergencyStopReport:
    cancelled: list[str] = field(default_factory=list)  # client order ids now CANCELLED
    still_open: list[str] = field(default_factory=list)
    closed_positions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.still_open and not self.problems


async def emergency_stop(
    kernel: EngineKernel, kill_switch: KillSwitchLike, reason: str, *, by: str = "user", flatten: bool = False
) -> EmergencyStopReport:
    """Kill switch first (so nothing new can start while we clean up), then cancel all, then
    confirm each order's end with the venue rather than assuming it."""
    report = EmergencyStopReport()
    if not kill_switch.engaged:
        kill_switch.engage(reason, by)
    client, oms = kernel.client, kernel.oms
    open_before = [r.client_order_id for r in oms.records(open_only=True)]
    for category in kernel.categories:
        try:
            await client.cancel_all_orders(category)
        except (ExchangeError, OrderDeniedError) as exc:
            report.problems.append(f"cancel-all {category.value}: {exc}")
    for coid in open_before:
        record = oms.record(coid)
        if record is None or is_terminal(record.status):
            continue
        try:
            found = await oms.refresh(coid)
            current = oms.record(coid)
            if found is not None and current is not None and not is_terminal(current.status):
                await oms.cancel(coid)  # cancel-all missed it (another category, a race): one by one
        except WorkstationError as exc:
            report.problems.append(f"order {coid}: {exc}")
    if flatten:
        for category in kernel.categories:
            for position in kernel.portfolio.positions(kernel.venue):
                if position.size == 0:
                    continue
                try:
                    if await client.close_position(position.symbol, category) is not None:
                        report.closed_positions.append(position.symbol)
                except (ExchangeError, OrderDeniedError) as exc:
                    report.problems.append(f"close {position.symbol}: {exc}")
    try:
        await kernel.sync()
    except WorkstationError as exc:
        report.problems.append(f"fills after the stop not synced: {exc}")
    for coid in open_before:
        record = oms.record(coid)
        if record is not None and record.status is OrderStatus.CANCELLED:
            report.cancelled.append(coid)
        elif record is not None and not is_terminal(record.status):
            report.still_open.append(coid)
    log.critical("emergency stop by %s (%s): %s", by, reason, report)
    return report
