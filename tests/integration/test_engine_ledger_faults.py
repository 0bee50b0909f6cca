"""Scenario 22: the ledger cannot be written (SQLite locked by another process, or the disk full:
a real SQLITE_FULL from `PRAGMA max_page_count`) while a fill arrives. The fill is kept in memory, retried, saved exactly once, and survives a crash."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

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


class DiskQuota:
    """A real SQLITE_FULL: every ledger connection gets `PRAGMA max_page_count` (the file may not grow
    past `pages`); `free()` lifts it, as freeing disk space would. The pool is emptied so open
    connections pick the limit up."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.pages: int | None = None
        event.listen(ledger.engine, "connect", self._apply)

    def _apply(self, dbapi_connection: Any, _record: object) -> None:
        if self.pages is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {self.pages}")

    def fill_up(self) -> None:
        with sqlite3.connect(self.ledger.path) as conn:  # type: ignore[arg-type]
            self.pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        self.ledger.engine.dispose()

    def free(self) -> None:
        self.pages = None
        self.ledger.engine.dispose()


def test_fill_when_disk_full_then_kept_in_memory_retried_and_saved_once_when_space_returns(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    quota = DiskQuota(rig.ledger)
    request = limit(qty="1")
    coid = request.client_order_id
    step = Decimal("0.001")

    async def scenario() -> int:
        await rig.kernel.start()
        await rig.kernel.submit(request)
        quota.fill_up()  # no page may be added from here on: the next write that needs one fails
        fills = 0
        while rig.kernel.oms.unsaved == 0:
            assert fills < 300, "the ledger never filled up"
            fake_bybit.fill_order(coid, "30000", step)  # partial fills, one execution each
            fills += 1
            assert await rig.kernel.sync() == 1
        assert rig.kernel.portfolio.position(VENUE, "BTCUSDT").size == fills * step  # nothing lost in memory
        assert await rig.kernel.sync() == 0  # retried, still full; nothing duplicated
        assert rig.kernel.oms.unsaved > 0
        quota.free()
        assert await rig.kernel.sync() == 0
        assert rig.kernel.oms.unsaved == 0
        await rig.kernel.stop()
        return fills

    fills = run(scenario())
    failures = rig.log.of(LedgerWriteFailed)
    assert failures and all("full" in f.reason for f in failures), [f.reason for f in failures]
    assert len(rig.log.of(LedgerRecovered)) == 1 and len(rig.log.of(OrderFilled)) == fills
    reopened = Ledger.open(rig.ledger_file)
    saved = reopened.fills(coid)
    assert len(saved) == len({f.exec_id for f in saved}) == fills
    assert sum(f.qty for f in saved) == fills * step
    assert reopened.order(coid).order.filled_qty == fills * step  # type: ignore[union-attr]
    assert [p.size for p in reopened.positions(VENUE)] == [fills * step]
