"""Funding settlements: parsed from Bybit's execType "Funding" executions with Bybit's sign, stored
in the ledger once per exec id, and an existing ledger file migrated to the table that holds them."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from workstation.core.funding import FundingPayment
from workstation.engine.ledger import MIGRATIONS, Ledger, head_revision
from workstation.exchanges.bybit import parse

VENUE = "bybit-testnet"


def funding_row(side: str, fee: str, exec_id: str = "f-1", rate: str = "0.0001") -> dict[str, object]:
    """An execution list row of execType Funding, as Bybit sends it (orderLinkId empty)."""
    return {
        "symbol": "BTCUSDT", "orderId": "", "orderLinkId": "", "side": side, "orderPrice": "0", "orderQty": "0",
        "leavesQty": "0", "orderType": "UNKNOWN", "stopOrderType": "UNKNOWN", "execFee": fee, "execId": exec_id,
        "execPrice": "31000", "execQty": "0.01", "execType": "Funding", "execValue": "310", "execTime": "1700006400000",
        "feeCurrency": "USDT", "isMaker": False, "feeRate": rate, "markPrice": "31000", "closedSize": "0",
    }  # fmt: skip


def test_parse_when_a_long_pays_funding_then_amount_is_execfee_and_position_is_positive() -> None:
    row = funding_row("Buy", "0.031")
    assert parse.is_funding(row) and not parse.is_fill(row)
    payment = parse.to_funding(row)
    assert payment == FundingPayment(
        "f-1", "BTCUSDT", 1700006400000, Decimal("0.031"), "USDT", Decimal("0.0001"), Decimal("0.01"), Decimal(31000)
    )


def test_parse_when_a_short_receives_funding_then_amount_is_negative_and_position_is_negative() -> None:
    payment = parse.to_funding(funding_row("Sell", "-0.031"))
    assert payment.amount == Decimal("-0.031") and payment.position_qty == Decimal("-0.01")


def test_parse_when_trade_and_funding_rows_are_mixed_then_each_goes_its_own_way() -> None:
    trade = funding_row("Buy", "0.1") | {"execType": "Trade", "orderLinkId": "x"}
    rows = [trade, funding_row("Buy", "0.031"), funding_row("Buy", "0", "s") | {"execType": "Settle"}]
    assert [r["execType"] for r in rows if parse.is_fill(r)] == ["Trade"]
    assert [r["execType"] for r in rows if parse.is_funding(r)] == ["Funding"]


def test_record_funding_when_the_same_exec_id_comes_twice_then_stored_once(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "ledger.sqlite")
    payment = parse.to_funding(funding_row("Buy", "0.031"))
    assert ledger.record_funding(payment, VENUE, source="stream") is True
    assert ledger.record_funding(payment, VENUE, source="rest") is False
    ledger.close()
    reopened = Ledger.open(tmp_path / "ledger.sqlite")
    assert reopened.funding(VENUE, "BTCUSDT") == [payment]
    assert reopened.funding_ids(VENUE) == {"f-1"}
    assert reopened.funding("bybit", "BTCUSDT") == [] and reopened.funding(VENUE, start_ms=1700006400001) == []
    assert [e["kind"] for e in reopened.audit_entries()] == ["funding"]
    reopened.close()


def test_ledger_when_it_was_made_before_funding_existed_then_opening_migrates_and_keeps_its_fills(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    config = MIGRATIONS._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_ledger")
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO fills VALUES ('e1','c1','bybit-testnet','BTCUSDT','Buy','0.01','30000','0.165','USDT',1,0,1)"
        )
        assert "funding" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    ledger = Ledger.open(path)
    assert MIGRATIONS.current_revision(ledger.engine) == head_revision() == "0002_funding"
    assert [f.exec_id for f in ledger.fills()] == ["e1"]
    assert ledger.record_funding(parse.to_funding(funding_row("Buy", "0.031")), VENUE)
    ledger.close()
