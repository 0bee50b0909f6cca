"""The declarative record table and the account panels built on it."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from workstation.core.enums import Side
from workstation.core.types import Balance, Position
from workstation.ui.panels.account import balances_table, orders_table, positions_table
from workstation.ui.table import Column, RecordTable


def cell(table: RecordTable, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    model = table.view.model()
    return model.data(model.index(row, column), role)


def position(symbol: str, pnl: str) -> Position:
    return Position("paper", symbol, Side.BUY, Decimal("0.5"), Decimal(100), Decimal(101), Decimal(pnl))


def test_table_when_no_rows_then_header_and_the_reason_are_shown(qtbot: QtBot) -> None:
    table = RecordTable([Column("coin", "Coin")], key=lambda b: b.coin, empty_message="nothing yet")
    qtbot.addWidget(table)
    table.show()
    assert table.showing_empty_message() and table.empty_label.text() == "nothing yet"
    table.model.upsert(Balance("paper", "USDT", Decimal(10), Decimal(10)))
    assert not table.showing_empty_message()


def test_table_when_row_with_same_key_arrives_then_it_replaces_the_old_one(qtbot: QtBot) -> None:
    table = positions_table()
    qtbot.addWidget(table)
    table.model.upsert(position("BTCUSDT", "1.5"))
    table.model.upsert(position("ETHUSDT", "-2"))
    table.model.upsert(position("BTCUSDT", "3.25"))
    assert table.model.rowCount() == 2
    assert [p.unrealized_pnl for p in table.model.rows()] == [Decimal("3.25"), Decimal(-2)]
    table.model.remove(("paper", "ETHUSDT"))
    assert [p.symbol for p in table.model.rows()] == ["BTCUSDT"]


def test_table_when_cells_rendered_then_declared_formats_colours_and_alignment_apply(qtbot: QtBot) -> None:
    table = positions_table()
    qtbot.addWidget(table)
    table.model.set_rows([position("BTCUSDT", "-2.5"), position("ETHUSDT", "12")])
    titles = [table.model.headerData(i, Qt.Orientation.Horizontal) for i in range(table.model.columnCount())]
    assert titles[:4] == ["Venue", "Symbol", "Side", "Size"] and "Liquidation" in titles
    pnl = titles.index("Unrealized PnL")
    assert cell(table, 0, pnl) == "-2.50" and cell(table, 0, titles.index("Liquidation")) == "-"
    assert cell(table, 0, titles.index("Size")) == "0.5" and cell(table, 0, titles.index("Entry")) == "100.00"
    assert cell(table, 0, titles.index("Side")) == "Buy"
    assert cell(table, 0, pnl, Qt.ItemDataRole.ForegroundRole).name() == "#ef5350"
    assert cell(table, 1, pnl, Qt.ItemDataRole.ForegroundRole).name() == "#26a69a"
    assert cell(table, 0, pnl, Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight


def test_position_cells_when_values_are_long_decimals_then_they_are_rounded_for_reading(qtbot: QtBot) -> None:
    table = positions_table()
    qtbot.addWidget(table)
    row = Position("paper", "BTCUSDT", Side.BUY, Decimal("0.136958390924512"), Decimal("68699.98123"),
                   Decimal("68700.5"), Decimal("0.0000000000001"))  # fmt: skip
    table.model.set_rows([row])
    titles = [c.title for c in table.model.columns]
    assert cell(table, 0, titles.index("Size")) == "0.136958"
    assert cell(table, 0, titles.index("Entry")) == "68,699.98"
    assert cell(table, 0, titles.index("Unrealized PnL")) == "0.00"


def test_table_when_sorted_by_a_number_column_then_rows_order_by_value_not_text(qtbot: QtBot) -> None:
    table = positions_table()
    qtbot.addWidget(table)
    table.model.set_rows([position("A", "9"), position("B", "10"), position("C", "-1")])
    pnl = [c.title for c in table.model.columns].index("Unrealized PnL")
    table.view.sortByColumn(pnl, Qt.SortOrder.AscendingOrder)
    assert [cell(table, r, 1) for r in range(3)] == ["C", "A", "B"]


def test_account_panels_when_no_engine_then_they_say_no_venue_is_connected(qtbot: QtBot) -> None:
    for make, word in ((balances_table, "balances"), (positions_table, "positions"), (orders_table, "orders")):
        table = make()
        qtbot.addWidget(table)
        assert table.model.rowCount() == 0
        assert "No venue connected" in table.empty_label.text() and word in table.empty_label.text()


def test_balances_when_rate_configured_then_total_in_aud_and_when_not_then_it_says_so(qtbot: QtBot, qloop) -> None:
    import datetime as dt

    from workstation.settings.models import FixedRateSettings, GrowthSettings
    from workstation.ui.fx import Converter
    from workstation.ui.panels.account import BalancesPanel

    venues = [
        {"venue": "paper", "connected": True, "balances": [{"coin": "USDT", "total": "1000", "available": "900"}]},
        {"venue": "bybit-testnet", "connected": True, "balances": [{"coin": "USDT", "total": "500", "available": "5"}]},
    ]
    rate = FixedRateSettings(kind="fixed", rate=1.5, as_of=dt.date.today(), max_age_days=30)
    panel = BalancesPanel(Converter(GrowthSettings(rate=rate)))
    qtbot.addWidget(panel)
    panel.show_balances(venues)
    assert panel.table.model.rowCount() == 2
    qtbot.waitUntil(lambda: "AUD" in panel.total.text(), timeout=5000)
    assert panel.total.text() == "Total: 1,500.00 USDT  (paper 1,000.00, bybit-testnet 500.00)  ·  2,250.00 AUD"

    unconfigured = BalancesPanel(Converter(GrowthSettings()))
    qtbot.addWidget(unconfigured)
    unconfigured.show_balances(venues)
    qtbot.waitUntil(lambda: "AUD" in unconfigured.total.text(), timeout=5000)
    assert unconfigured.total.text().endswith("AUD: no rate")
    assert "never assumed to be 1:1" in unconfigured.note.text()
