"""The OMS against FakeBybit over real HTTP, with a real SQLite ledger: failure scenarios 1, 2, 6,
7, 16 and 18 of RELIABILITY.md, and the ledger-first rule."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import (
    CREATE,
    creates_for,
    exchange_orders,
    limit,
    make_rig,
    market,
    run,
    wait_until,
)
from workstation.core.enums import Category, OrderStatus, Side
from workstation.core.events import (
    CancelFailed,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderStatusChanged,
    OrderSubmitted,
    OrderUnresolved,
)
from workstation.core.types import Order
from workstation.engine.ledger import DuplicateOrderError

LINEAR = Category.LINEAR


def ledger_row(path: Path, coid: str) -> tuple[str, str] | None:
    """Read the ledger file through a separate connection, as another process would."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT status, origin FROM orders WHERE client_order_id = ?", (coid,)).fetchone()
    return None if row is None else (row[0], row[1])


def test_submit_when_request_reaches_exchange_then_order_row_was_already_committed(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()
    fake_bybit.delay_next(CREATE, 0.4)
    seen_at_exchange: list[tuple[str, str] | None] = []

    async def scenario() -> Order:
        await rig.kernel.start()
        task = asyncio.create_task(rig.kernel.submit(request))
        await asyncio.to_thread(wait_until, lambda: creates_for(fake_bybit, request.client_order_id) == 1)
        seen_at_exchange.append(ledger_row(rig.ledger_file, request.client_order_id))
        order = await task
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert seen_at_exchange == [("Pending", "local")]
    assert order.status is OrderStatus.NEW
    assert order.venue_order_id == exchange_orders(fake_bybit)[request.client_order_id]["orderId"]
    assert ledger_row(rig.ledger_file, request.client_order_id) == ("New", "local")
    assert [type(e) for e in rig.log.events if e.__class__.__name__.startswith("Order")][:3] == [
        OrderSubmitted,
        OrderStatusChanged,
        OrderAccepted,
    ]


@pytest.mark.parametrize(("resolve_delay_s", "expected_creates"), [(0.3, 1), (0.02, 2)])
def test_submit_when_create_times_out_but_takes_effect_then_found_by_link_id_and_never_duplicated(
    fake_bybit: FakeBybit, tmp_path: Path, resolve_delay_s: float, expected_creates: int
) -> None:
    """Scenarios 1 and 2: the response is lost; a lookup by orderLinkId finds the order, or a
    resend with the SAME id races the delayed original and 110072 keeps it single."""
    rig = make_rig(fake_bybit, tmp_path, timeout_s=0.4)
    rig.config = rig.kernel.oms.config = type(rig.config)(resolve_attempts=6, resolve_delay_s=resolve_delay_s)
    request = limit()
    fake_bybit.delay_next(CREATE, 0.6)

    async def scenario() -> Order:
        await rig.kernel.start()
        order = await rig.kernel.submit(request)
        await asyncio.sleep(0.4)  # let the delayed original land on the exchange
        await rig.kernel.reconcile()
        await rig.kernel.stop()
        return order

    order = run(scenario())
    coid = request.client_order_id
    assert order.status is OrderStatus.NEW
    assert list(exchange_orders(fake_bybit)) == [coid]
    assert creates_for(fake_bybit, coid) == expected_creates
    assert {r.params["orderLinkId"] for r in fake_bybit.requests_to(CREATE)} == {coid}
    assert [r.order.client_order_id for r in rig.kernel.oms.records()] == [coid]
    assert len(rig.log.of(OrderAccepted)) == 1 and not rig.log.of(OrderRejected)


@pytest.mark.parametrize("fault", ["http_503", "busy_10016"])
def test_submit_when_venue_answers_transient_error_then_resent_with_same_id_once_accepted(
    fake_bybit: FakeBybit, tmp_path: Path, fault: str
) -> None:
    if fault == "http_503":
        fake_bybit.http_status_next(CREATE, 503)
    else:
        fake_bybit.fail_next(CREATE, 10016, "Service is busy")
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()

    async def scenario() -> Order:
        await rig.kernel.start()
        order = await rig.kernel.submit(request)
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.NEW
    assert creates_for(fake_bybit, request.client_order_id) == 2
    assert list(exchange_orders(fake_bybit)) == [request.client_order_id]


def test_submit_when_venue_unreachable_then_order_stays_pending_and_unresolved_event(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    fake_bybit.http_status_next(CREATE, 503, times=10)
    fake_bybit.http_status_next("/v5/order/realtime", 503, times=10)
    rig = make_rig(fake_bybit, tmp_path)

    async def scenario() -> Order:
        await rig.kernel.start()
        order = await rig.kernel.submit(limit())
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.PENDING  # unknown is never "failed"
    assert len(rig.log.of(OrderUnresolved)) == 1 and not rig.log.of(OrderRejected)


def test_submit_when_insufficient_balance_110007_then_rejected_not_retried_and_user_told(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 6."""
    fake_bybit.fail_next(CREATE, 110007, "ab not enough for new order")
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()

    async def scenario() -> Order:
        await rig.kernel.start()
        order = await rig.kernel.submit(request)
        await rig.kernel.client.set_leverage("BTCUSDT", Decimal(10), LINEAR)  # 110043: already 10x = success
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.REJECTED
    assert creates_for(fake_bybit, request.client_order_id) == 1
    [rejected] = rig.log.of(OrderRejected)
    assert rejected.code == 110007 and "not enough" in rejected.reason
    assert ledger_row(rig.ledger_file, request.client_order_id) == ("Rejected", "local")


def test_submit_when_10002_once_then_clock_resynced_and_retried_once(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    """Scenario 7, transient: one 10002, a server-time resync, one retry with the same id."""
    fake_bybit.fail_next(CREATE, 10002, "invalid request, please check your server timestamp")
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()

    async def scenario() -> Order:
        await rig.kernel.start()
        order = await rig.kernel.submit(request)
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.NEW
    assert creates_for(fake_bybit, request.client_order_id) == 2
    assert fake_bybit.requests_to("/v5/market/time")


def test_submit_when_clock_stays_6s_off_then_offset_measured_and_retry_signed_with_venue_time(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 7, persistent: the offset is measured, the client signs with the venue's time,
    and the single retry (same orderLinkId) is accepted; later orders need no retry at all."""
    rig = make_rig(fake_bybit, tmp_path)
    request, later = limit(), limit()

    async def scenario() -> Order:
        await rig.kernel.start()
        fake_bybit.set_clock_offset_ms(-6_000)
        order = await rig.kernel.submit(request)
        await rig.kernel.submit(later)
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.NEW
    assert creates_for(fake_bybit, request.client_order_id) == 2
    assert creates_for(fake_bybit, later.client_order_id) == 1
    assert -6_500 < rig.kernel.oms.clock_offset_ms < -5_500
    assert rig.log.of(OrderRejected) == []
    assert set(exchange_orders(fake_bybit)) == {request.client_order_id, later.client_order_id}


def test_reports_when_duplicated_or_out_of_order_then_idempotent_and_status_never_goes_back(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 16."""
    rig = make_rig(fake_bybit, tmp_path)
    request = limit(qty="0.03")
    coid = request.client_order_id

    async def scenario() -> None:
        await rig.kernel.start()
        oms = rig.kernel.oms
        await oms.submit(request)
        stale_new = await rig.kernel.client.fetch_order(LINEAR, coid)
        assert stale_new is not None
        fake_bybit.fill_order(coid, "30000", "0.01")
        partial = await rig.kernel.client.fetch_order(LINEAR, coid)
        assert partial is not None
        for _ in range(2):
            await oms.apply_report(partial, LINEAR)
            await rig.kernel.sync()
        await oms.apply_report(stale_new, LINEAR)  # arrives late: must not undo the fill
        assert oms.order(coid).status is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
        fake_bybit.fill_order(coid, "30010", "0.02")
        await rig.kernel.sync()
        await rig.kernel.sync()
        await oms.apply_report(partial, LINEAR)
        await oms.apply_report(stale_new, LINEAR)
        await rig.kernel.stop()

    run(scenario())
    order = rig.kernel.oms.order(coid)
    assert order is not None
    assert order.status is OrderStatus.FILLED and order.filled_qty == Decimal("0.03")
    statuses = [e.status for e in rig.log.of(OrderStatusChanged)]
    assert statuses == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    assert len(rig.log.of(OrderFilled)) == 2
    assert len(rig.ledger.fills(coid)) == 2
    assert rig.kernel.portfolio.position("bybit-testnet", "BTCUSDT").size == Decimal("0.03")


def test_cancel_when_order_filled_first_110001_then_fetched_and_recorded_filled(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 18: the cancel lost the race; the venue is asked instead of assuming."""
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()

    async def scenario() -> Order:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        fake_bybit.fill_order(request.client_order_id, "30000", "0.01")
        order = await rig.kernel.cancel(request.client_order_id)
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.FILLED and order.filled_qty == Decimal("0.01")
    assert not rig.log.of(CancelFailed)
    assert OrderStatus.CANCELLED not in [e.status for e in rig.log.of(OrderStatusChanged)]
    assert len(rig.ledger.fills(request.client_order_id)) == 1


def test_cancel_when_partly_filled_then_cancelled_with_fill_kept(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    request = limit(qty="0.02")

    async def scenario() -> Order:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        fake_bybit.fill_order(request.client_order_id, "30000", "0.01")
        order = await rig.kernel.cancel(request.client_order_id)
        await rig.kernel.stop()
        return order

    order = run(scenario())
    assert order.status is OrderStatus.CANCELLED and order.filled_qty == Decimal("0.01")
    assert fake_bybit.order(request.client_order_id)["orderStatus"] == "Cancelled"  # type: ignore[index]


def test_submit_when_market_order_fills_then_fill_position_and_pnl_recorded(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    fake_bybit.set_mark_price("BTCUSDT", "30000")
    rig = make_rig(fake_bybit, tmp_path)

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(market(Side.BUY, "0.02"))
        fake_bybit.set_mark_price("BTCUSDT", "31000")
        await rig.kernel.submit(market(Side.SELL, "0.01"))
        await rig.kernel.stop()

    run(scenario())
    position = rig.kernel.portfolio.position("bybit-testnet", "BTCUSDT")
    assert position.size == Decimal("0.01") and position.entry_price == Decimal("30000")
    assert position.realized_pnl == Decimal("10.00")
    assert rig.kernel.portfolio.unrealized_pnl() == Decimal("10.00")
    assert all(r.status is OrderStatus.FILLED for r in rig.kernel.oms.records())
    assert len(rig.ledger.fills()) == 2


def test_submit_when_client_order_id_reused_then_refused_before_sending(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        with pytest.raises(DuplicateOrderError):
            await rig.kernel.submit(request)
        with pytest.raises(ValueError, match="1-36"):
            await rig.kernel.submit(limit(coid="x" * 37))
        await rig.kernel.stop()

    run(scenario())
    assert creates_for(fake_bybit, request.client_order_id) == 1
