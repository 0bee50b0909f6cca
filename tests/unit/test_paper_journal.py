"""PaperJournal: the paper venue's state written before every acknowledgement, restored exactly."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import ExchangeError
from workstation.core.types import Candle, OrderRequest
from workstation.exchanges.simulated import PaperAccount, PaperExecutionClient
from workstation.exchanges.simulated.journal import PaperJournal
from workstation.paper.store import PaperLock, PaperLockedError

BARS = [Candle(60_000 * i, 100.0 + i, 101.5 + i, 99.0 + i, 100.5 + i, 10.0) for i in range(12)]


def _state(account: PaperAccount) -> tuple[object, ...]:
    books = {s: repr((b.qty, b.avg, b.sl, b.tp, b.leverage, b.prev, b.bar, [o.request.client_order_id for o in b.orders]))
             for s, b in account.books.items()}  # fmt: skip
    orders = {c: repr((o.status, o.filled_qty, o.filled_value, o.qty, o.price, o.venue_order_id, o.request))
              for c, o in account.orders.items()}  # fmt: skip
    return (account.cash, account.fees_paid, account.session, account._seq, books, orders, account.fills)


def _trade(client: PaperExecutionClient) -> None:
    async def go() -> None:
        client.open_bar("BTCUSDT", BARS[0])
        await client.place_order(OrderRequest("m1", "BTCUSDT", Side.BUY, Decimal("2")))
        client.close_bar("BTCUSDT")
        client.on_candle("BTCUSDT", BARS[1])
        await client.place_order(
            OrderRequest("l1", "BTCUSDT", Side.SELL, Decimal("1"), OrderType.LIMIT, Decimal("200"))
        )
        await client.place_order(OrderRequest("l2", "BTCUSDT", Side.BUY, Decimal("1"), OrderType.LIMIT, Decimal("50")))
        await client.cancel_order("BTCUSDT", "l2", Category.LINEAR)
        client.open_bar("BTCUSDT", BARS[2])
        await client.place_order(OrderRequest("m3", "BTCUSDT", Side.SELL, Decimal("0.5")))  # stopped inside a candle

    asyncio.run(go())


def test_restore_when_venue_traded_then_every_order_fill_position_and_id_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "account.jsonl"
    client = PaperExecutionClient(PaperAccount(cash=1_000.0), journal=PaperJournal(path))
    _trade(client)
    restored = PaperAccount(cash=5.0)
    assert PaperJournal(path).restore(restored)
    assert _state(restored) == _state(client.account)
    assert restored.orders["l2"].status is OrderStatus.CANCELLED and restored.orders["l1"].is_open
    assert restored.books["BTCUSDT"].bar == BARS[2]  # the candle in progress is known
    # the next ids continue, never reuse
    again = PaperExecutionClient(restored, journal=PaperJournal(path))
    ack = asyncio.run(again.place_order(OrderRequest("m2", "BTCUSDT", Side.SELL, Decimal("1"))))
    assert ack.venue_order_id not in {o.venue_order_id for c, o in client.account.orders.items()}


def test_restore_when_last_line_is_torn_then_it_is_dropped_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "account.jsonl"
    client = PaperExecutionClient(PaperAccount(cash=1_000.0), journal=PaperJournal(path))
    _trade(client)
    good = path.read_bytes()
    path.write_bytes(good + b'{"v": 1, "account": {"cash": 12')  # killed mid-write
    restored = PaperAccount()
    assert PaperJournal(path).restore(restored)
    assert _state(restored) == _state(client.account)
    assert path.read_bytes() == good


def test_compact_when_journal_is_long_then_one_line_restores_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "account.jsonl"
    client = PaperExecutionClient(PaperAccount(cash=1_000.0), journal=PaperJournal(path))
    _trade(client)
    assert len(path.read_text().splitlines()) > 3
    assert client.journal is not None
    client.journal.compact(client.account)
    assert len(path.read_text().splitlines()) == 1
    restored = PaperAccount()
    assert PaperJournal(path).restore(restored)
    assert _state(restored) == _state(client.account)


def test_place_when_journal_cannot_be_written_then_no_ack_and_venue_stops(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    client = PaperExecutionClient(PaperAccount(cash=1_000.0), journal=PaperJournal(blocker / "account.jsonl"))
    client.account.open_bar("BTCUSDT", BARS[0])
    with pytest.raises(ExchangeError, match="paper venue stopped"):
        asyncio.run(client.place_order(OrderRequest("m1", "BTCUSDT", Side.BUY, Decimal("1"))))
    with pytest.raises(ExchangeError, match="paper venue stopped"):
        asyncio.run(client.cancel_all_orders(Category.LINEAR))


def test_commit_when_only_marks_moved_then_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "account.jsonl"
    client = PaperExecutionClient(PaperAccount(cash=1_000.0), journal=PaperJournal(path))
    client.on_candle("BTCUSDT", BARS[0])  # a new book: one line
    size = path.stat().st_size
    for bar in BARS[1:6]:
        client.on_candle("BTCUSDT", bar)
    assert path.stat().st_size == size
    client.checkpoint()
    assert path.stat().st_size > size


def test_lock_when_held_then_second_trader_is_refused(tmp_path: Path) -> None:
    lock = PaperLock(tmp_path / "lock")
    with pytest.raises(PaperLockedError):
        PaperLock(tmp_path / "lock")
    lock.release()
    PaperLock(tmp_path / "lock").release()
