"""Scenario 22: the ledger cannot be written (here: SQLite locked by another process; disk full takes the same path) while a
fill arrives. The fill is kept in memory, retried, saved exactly once, and survives a crash."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import CREATE, limit, make_rig, run
from workstation.core.enums import OrderStatus
from workstation.core.events import LedgerRecovered, LedgerWriteFailed, OrderFilled, OrderRejected
from workstation.engine.ledger import Ledger

VENUE = "bybit-testnet"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process holds the write lock (a backup tool, a second instance, an open DB browser)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_fill_when_sqlite_locked_then_kept_in_memory_and_saved_once_when_unlocked(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path, busy_timeout_s=0.1)
    request = limit(qty="0.02")
    coid = request.client_order_id

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        fake_bybit.fill_order(coid, "30000", "0.02")
        with locked(rig.ledger_file):
            assert await rig.kernel.sync() == 1
            assert rig.kernel.oms.unsaved == 2  # the fill and the order's new status
            assert rig.kernel.portfolio.position(VENUE, "BTCUSDT").size == Decimal("0.02")
            assert await rig.kernel.sync() == 0  # retried and still refused; nothing duplicated
        assert await rig.kernel.sync() == 0
        assert rig.kernel.oms.unsaved == 0
        await rig.kernel.stop()

    run(scenario())
    assert rig.log.of(LedgerWriteFailed) and len(rig.log.of(LedgerRecovered)) == 1
    assert len(rig.log.of(OrderFilled)) == 1
    reopened = Ledger.open(rig.ledger_file)
    assert [f.qty for f in reopened.fills(coid)] == [Decimal("0.02")]
    assert reopened.order(coid).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert [p.size for p in reopened.positions(VENUE)] == [Decimal("0.02")]


def test_fill_when_ledger_unwritable_and_process_dies_then_restart_recovers_fill_from_exchange_once(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path, busy_timeout_s=0.1)
    request = limit(qty="0.01")
    coid = request.client_order_id

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        fake_bybit.fill_order(coid, "30000", "0.01")
        with locked(rig.ledger_file):
            assert await rig.kernel.sync() == 1
            assert rig.kernel.oms.fills.unsaved == 1
        # the process dies here: no flush, no stop

    run(scenario())
    failures = rig.log.of(LedgerWriteFailed)
    assert failures and "locked" in failures[0].reason
    assert Ledger.open(rig.ledger_file).fills() == []
    restarted = make_rig(fake_bybit, tmp_path)

    async def restart() -> None:
        await restarted.kernel.start()
        await restarted.kernel.reconcile()
        await restarted.kernel.stop()

    run(restart())
    reopened = Ledger.open(rig.ledger_file)
    assert len(reopened.fills(coid)) == 1
    assert reopened.order(coid).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert [p.size for p in reopened.positions(VENUE)] == [Decimal("0.01")]


def test_submit_when_ledger_locked_then_order_not_sent_and_user_told(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    rig = make_rig(fake_bybit, tmp_path, busy_timeout_s=0.1)

    async def scenario() -> OrderStatus:
        await rig.kernel.start()
        with locked(rig.ledger_file):
            order = await rig.kernel.submit(limit())
        await rig.kernel.stop()
        return order.status

    assert run(scenario()) is OrderStatus.REJECTED
    assert fake_bybit.requests_to(CREATE) == []
    [rejected] = rig.log.of(OrderRejected)
    assert "not sent" in rejected.reason
