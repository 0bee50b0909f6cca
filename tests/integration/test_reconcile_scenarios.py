"""Reconciliation against FakeBybit with a real ledger file: scenarios 3 (crash between PENDING and
the ack) and 21 (orders and positions the ledger does not know), and "never assume flat"."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import CREATE, creates_for, limit, make_rig, market, run
from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.events import OrderAdopted, OrderRejected, PositionAdopted, ReconcileCompleted
from workstation.core.types import OrderRequest
from workstation.engine.ledger import Ledger
from workstation.engine.reconcile import ReconcileReport
from workstation.engine.state import ORIGIN_ADOPTED, ORIGIN_LOCAL, OrderRecord

VENUE = "bybit-testnet"
LINEAR = Category.LINEAR


def write_pending(path: Path, request: OrderRequest) -> None:
    """What a process leaves behind when it dies right after committing the row."""
    ledger = Ledger.open(path)
    ledger.insert_order(OrderRecord.pending(request, VENUE, 1))
    ledger.close()


def test_restart_when_pending_row_was_sent_before_crash_then_adopted_without_resending(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()
    write_pending(rig.ledger_file, request)

    async def scenario() -> ReconcileReport:
        sender = rig.bybit()
        await sender.place_order(request)  # the dead process got this far
        await sender.close()
        fake_bybit.reset_log()
        report = await rig.kernel.start()
        await rig.kernel.stop()
        assert report is not None
        return report

    report = run(scenario())
    record = rig.kernel.oms.record(request.client_order_id)
    assert record is not None and record.status is OrderStatus.NEW and record.origin == ORIGIN_LOCAL
    assert record.order.venue_order_id == fake_bybit.order(request.client_order_id)["orderId"]  # type: ignore[index]
    assert fake_bybit.mutating_requests() == []
    assert report.complete and report.updated_orders == 1 and report.adopted_orders == 0


def test_restart_when_pending_row_never_sent_then_failed_only_after_three_confirmed_misses(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    request = limit()
    coid = request.client_order_id
    write_pending(rig.ledger_file, request)
    seen: list[tuple[OrderStatus, int]] = []

    async def scenario() -> None:
        await rig.kernel.start()
        record = rig.kernel.oms.record(coid)
        assert record is not None
        seen.append((record.status, record.misses))
        fake_bybit.http_status_next("/v5/order/realtime", 503)  # an unanswered lookup is not a miss
        await rig.kernel.reconcile()
        for _ in range(2):
            record = rig.kernel.oms.record(coid)
            assert record is not None
            seen.append((record.status, record.misses))
            await rig.kernel.reconcile()
        await rig.kernel.stop()

    run(scenario())
    assert seen == [(OrderStatus.PENDING, 1), (OrderStatus.PENDING, 1), (OrderStatus.PENDING, 2)]
    final = Ledger.open(rig.ledger_file).order(coid)
    assert final is not None and final.status is OrderStatus.REJECTED and final.inferred
    assert "never reached the venue" in final.reason
    assert len(rig.log.of(OrderRejected)) == 1
    assert creates_for(fake_bybit, coid) == 0  # reconciliation never sends orders


def test_reconcile_when_exchange_has_orders_and_position_ledger_lacks_then_imported(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 21: orders placed elsewhere (web UI, another machine) and a position are adopted."""
    fake_bybit.set_mark_price("BTCUSDT", "30000")
    with fake_bybit.exchange.lock:  # an ETH short whose fills are older than the execution window
        eth = fake_bybit.exchange.position("linear", "ETHUSDT")
        eth.update(side="Sell", size="1.5", avgPrice="2000", positionValue="3000")
    rig = make_rig(fake_bybit, tmp_path)
    no_link_id = OrderRequest("", "BTCUSDT", Side.SELL, Decimal("0.01"), OrderType.LIMIT, price=Decimal(40000))
    outside = [limit(coid="web-resting-1"), no_link_id]

    async def scenario() -> tuple[ReconcileReport, ReconcileReport]:
        other = rig.bybit()
        for request in outside:
            await other.place_order(request)
        await other.place_order(market(Side.BUY, "0.02", coid="web-market-1"))
        await other.close()
        first = await rig.kernel.start()
        second = await rig.kernel.reconcile()
        await rig.kernel.stop()
        assert first is not None
        return first, second

    first, second = run(scenario())
    records = {r.client_order_id: r for r in rig.kernel.oms.records()}
    assert records["web-resting-1"].status is OrderStatus.NEW
    assert records["web-market-1"].status is OrderStatus.FILLED
    unnamed = [r for c, r in records.items() if c.startswith("venue:")]
    assert len(unnamed) == 1 and unnamed[0].order.side is Side.SELL
    assert all(r.origin == ORIGIN_ADOPTED for r in records.values())
    assert first.adopted_orders == 3 and first.new_fills == 1 and first.adopted_positions == 1
    assert len(rig.log.of(OrderAdopted)) == 3
    [adopted] = rig.log.of(PositionAdopted)
    assert adopted.symbol == "ETHUSDT" and adopted.size == Decimal("-1.5")
    positions = {p.symbol: p.size for p in Ledger.open(rig.ledger_file).positions(VENUE)}
    assert positions == {"BTCUSDT": Decimal("0.02"), "ETHUSDT": Decimal("-1.5")}
    assert second.complete and (second.adopted_orders, second.new_fills, second.adopted_positions) == (0, 0, 0)


def test_reconcile_when_positions_cannot_be_read_then_ledger_position_kept_never_flat(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    fake_bybit.set_mark_price("BTCUSDT", "30000")
    rig = make_rig(fake_bybit, tmp_path)

    async def scenario() -> ReconcileReport:
        await rig.kernel.start()
        await rig.kernel.submit(market(Side.BUY, "0.05"))
        fake_bybit.http_status_next("/v5/position/list", 503)
        report = await rig.kernel.reconcile()
        await rig.kernel.stop()
        return report

    report = run(scenario())
    assert not report.complete and any("positions not checked" in p for p in report.problems)
    assert rig.kernel.portfolio.position(VENUE, "BTCUSDT").size == Decimal("0.05")
    assert rig.log.of(ReconcileCompleted)[-1].complete is False
    assert not rig.log.of(PositionAdopted)


def test_reconcile_when_order_closed_on_exchange_while_down_then_status_and_fills_caught_up(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    """Scenario 15's REST half: fills that happened while nothing listened are recovered."""
    rig = make_rig(fake_bybit, tmp_path)
    request = limit(qty="0.02")

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        await rig.kernel.stop()

    run(scenario())
    fake_bybit.fill_order(request.client_order_id, "30000", "0.005")
    fake_bybit.fill_order(request.client_order_id, "29990", "0.015")
    restarted = make_rig(fake_bybit, tmp_path)

    async def restart() -> None:
        await restarted.kernel.start()
        await restarted.kernel.stop()

    run(restart())
    record = restarted.kernel.oms.record(request.client_order_id)
    assert record is not None and record.status is OrderStatus.FILLED
    assert record.order.filled_qty == Decimal("0.02")
    assert restarted.kernel.portfolio.position(VENUE, "BTCUSDT").size == Decimal("0.02")
    assert len(restarted.ledger.fills(request.client_order_id)) == 2
    assert not restarted.log.of(PositionAdopted)
    assert creates_for(fake_bybit, request.client_order_id) == 1 and not fake_bybit.requests_to(CREATE)[1:]
