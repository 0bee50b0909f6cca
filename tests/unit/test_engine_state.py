"""The order state machine, the portfolio arithmetic and the ledger file, without any network."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.core.enums import OrderStatus, OrderType, Side
from workstation.core.types import Fill, Order, OrderRequest, Position
from workstation.engine.ledger import DuplicateOrderError, Ledger, head_revision
from workstation.engine.portfolio import Portfolio, PositionState, apply_fill
from workstation.engine.schema import VERSION_TABLE
from workstation.engine.state import OrderRecord, advance, report

D = Decimal


def pending(qty: str = "1") -> OrderRecord:
    request = OrderRequest("c1", "BTCUSDT", Side.BUY, D(qty), OrderType.LIMIT, price=D(100))
    return OrderRecord.pending(request, "bybit-testnet", now_ms=1)


def venue(record: OrderRecord, status: OrderStatus, filled: str = "0") -> Order:
    return replace(record.order, status=status, filled_qty=D(filled), venue_order_id="v1")


def fill(exec_id: str, side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(exec_id, "c1", "BTCUSDT", side, D(qty), D(price), D(fee), "USDT", 1)


def test_advance_when_status_would_go_backwards_then_kept() -> None:
    record = advance(pending(), OrderStatus.PARTIALLY_FILLED, now_ms=2, filled_qty=D("0.5"))
    assert record is not None
    assert advance(record, OrderStatus.NEW, now_ms=3) is None
    assert advance(record, OrderStatus.PENDING, now_ms=3) is None


def test_report_when_duplicated_then_second_changes_nothing() -> None:
    record = report(pending(), venue(pending(), OrderStatus.NEW), now_ms=2)
    assert record is not None and record.status is OrderStatus.NEW and record.order.venue_order_id == "v1"
    assert report(record, venue(pending(), OrderStatus.NEW), now_ms=3) is None


def test_advance_when_filled_qty_reaches_qty_then_filled_and_never_shrinks() -> None:
    record = advance(pending("2"), OrderStatus.NEW, now_ms=2, filled_qty=D(2))
    assert record is not None and record.status is OrderStatus.FILLED
    assert advance(record, OrderStatus.PARTIALLY_FILLED, now_ms=3, filled_qty=D(1)) is None


def test_advance_when_terminal_then_other_terminal_ignored_unless_ours_was_inferred() -> None:
    filled = advance(pending(), OrderStatus.FILLED, now_ms=2, filled_qty=D(1))
    assert filled is not None and advance(filled, OrderStatus.CANCELLED, now_ms=3) is None
    guessed = advance(pending(), OrderStatus.REJECTED, now_ms=2, inferred=True, reason="not found")
    assert guessed is not None and guessed.inferred
    corrected = report(guessed, venue(guessed, OrderStatus.NEW), now_ms=3)
    assert corrected is not None and corrected.status is OrderStatus.NEW and not corrected.inferred


def test_record_when_resent_then_request_is_identical() -> None:
    request = OrderRequest("c9", "ETHUSDT", Side.SELL, D("0.1"), OrderType.LIMIT, price=D(2000), reduce_only=True)
    assert OrderRecord.pending(request, "bybit-testnet", 5).request() == request


def test_apply_fill_when_adding_reducing_and_flipping_then_average_cost_pnl() -> None:
    state = PositionState("v", "BTCUSDT")
    state = apply_fill(state, fill("1", Side.BUY, "1", "100", "0.1"), 1)
    state = apply_fill(state, fill("2", Side.BUY, "1", "200"), 2)
    assert (state.size, state.entry_price) == (D(2), D(150))
    state = apply_fill(state, fill("3", Side.SELL, "3", "170"), 3)
    assert (state.size, state.entry_price, state.realized_pnl) == (D(-1), D(170), D(40))
    state = apply_fill(state, fill("4", Side.BUY, "1", "160"), 4)
    assert (state.size, state.entry_price, state.realized_pnl, state.fees) == (D(0), D(0), D(50), D("0.1"))


def test_portfolio_when_venue_reports_other_size_then_adopted_else_kept() -> None:
    portfolio = Portfolio()
    portfolio.apply_fill("v", fill("1", Side.BUY, "1", "100"), 1)

    same = Position("v", "BTCUSDT", Side.BUY, D(1), D(100), D(110), D(10))
    assert portfolio.adopt(same, 2) is None
    assert portfolio.unrealized_pnl() == D(10)
    short = Position("v", "BTCUSDT", Side.SELL, D(2), D(105), D(110), D(-10))
    adopted = portfolio.adopt(short, 3)
    assert adopted is not None and adopted.size == D(-2) and adopted.source == "exchange"


def test_ledger_when_opened_then_wal_own_version_table_and_reopen_is_noop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(head_revision(),)]
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name='candle_store_alembic_version'").fetchall()
    Ledger.open(path).close()


def test_ledger_when_fill_recorded_twice_then_stored_once_and_order_id_unique(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "ledger.sqlite")
    ledger.insert_order(pending())
    with pytest.raises(DuplicateOrderError):
        ledger.insert_order(pending())
    position = PositionState("v", "BTCUSDT", size=D(1), entry_price=D(100))
    assert ledger.record_fill(fill("e1", Side.BUY, "1", "100"), "v", position) is True
    assert ledger.record_fill(fill("e1", Side.BUY, "1", "100"), "v", position) is False
    assert [f.exec_id for f in ledger.fills()] == ["e1"]
    assert ledger.positions("v") == [position]
    kinds = [e["kind"] for e in ledger.audit_entries()]
    assert kinds == ["order_created", "fill"]
    ledger.close()
