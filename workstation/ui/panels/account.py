"""Balances, positions, open orders and trade history: declared columns over the generic
RecordTable, fed by the EngineModel with the API's JSON rows. Until a venue is connected each
says so rather than showing anything made up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from workstation.ui.engine_model import spawn
from workstation.ui.fmt import format_price
from workstation.ui.fx import Converter
from workstation.ui.table import Column, RecordTable, plain, signed_color
from workstation.ui.theme import MUTED

NO_ENGINE = "No venue connected: {what} appear here once the trading engine is running (paper, testnet or live)."
CONNECTED_EMPTY = {
    "positions": "No open positions.",
    "orders": "No orders yet.",
    "trades": "No trades yet.",
}
NOT_CONNECTED = {"positions": "positions", "orders": "open orders and trade history", "trades": "trades"}


def empty_message(table: str, connected: bool) -> str:
    """What an empty positions/orders/trades table says: flat, or nothing to read from."""
    return CONNECTED_EMPTY[table] if connected else NO_ENGINE.format(what=NOT_CONNECTED[table])


def _time(ms: Any) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _get(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _qty(value: Any) -> str:
    """A quantity to 6 decimals at most, trailing zeros dropped (0.136958390924512 -> 0.136958)."""
    if value is None or value == "":
        return "-"
    text = f"{_dec(value):,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _price(value: Any) -> str:
    if value is None or value == "":
        return "-"
    number = float(_dec(value))
    return "-" if number == 0 else format_price(number)  # 0: none (a flat entry, no liquidation)


def _money(value: Any) -> str:
    """An amount in the account currency: 2 decimals."""
    return "-" if value is None or value == "" else f"{_dec(value):,.2f}"


BALANCE_COLUMNS = (
    Column("venue", "Venue"),
    Column("coin", "Coin"),
    Column("total", "Total", fmt=_money, numeric=True),
    Column("available", "Available", fmt=_money, numeric=True),
)

POSITION_COLUMNS = (
    Column("venue", "Venue"),
    Column("symbol", "Symbol"),
    Column("side", "Side", fmt=lambda v: plain(v) if v is not None else "flat"),
    Column("size", "Size", fmt=_qty, numeric=True),
    Column("entry_price", "Entry", fmt=_price, numeric=True),
    Column("mark_price", "Mark", fmt=_price, numeric=True),
    Column("unrealized_pnl", "Unrealized PnL", fmt=_money, color=signed_color, numeric=True),
    Column("leverage", "Leverage", numeric=True),
    Column("liquidation_price", "Liquidation", fmt=_price, numeric=True),
)

ORDER_COLUMNS = (
    Column("client_order_id", "Client id"),
    Column("venue", "Venue"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("order_type", "Type"),
    Column("qty", "Qty", fmt=_qty, numeric=True),
    Column("price", "Price", fmt=_price, numeric=True),
    Column("filled_qty", "Filled", fmt=_qty, numeric=True),
    Column("avg_price", "Avg price", fmt=_price, numeric=True),
    Column("status", "Status"),
    Column("updated_ms", "Updated (UTC)", fmt=_time, fit=True),
)

TRADE_COLUMNS = (
    Column("ts", "Time (UTC)", fmt=_time, fit=True),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("qty", "Qty", fmt=_qty, numeric=True),
    Column("price", "Price", fmt=_price, numeric=True),
    Column("fee", "Fee", fmt=lambda v: "-" if v is None else f"{_dec(v):,.4f}", numeric=True),
    Column("fee_currency", "Fee coin"),
    Column("client_order_id", "Client id"),
)


def balances_table() -> RecordTable:
    return RecordTable(
        BALANCE_COLUMNS, lambda b: (_get(b, "venue"), _get(b, "coin")), NO_ENGINE.format(what="balances")
    )


def positions_table() -> RecordTable:
    return RecordTable(
        POSITION_COLUMNS, lambda p: (_get(p, "venue"), _get(p, "symbol")), NO_ENGINE.format(what="positions")
    )


def orders_table() -> RecordTable:
    return RecordTable(
        ORDER_COLUMNS,
        lambda o: _get(o, "client_order_id"),
        NO_ENGINE.format(what="open orders and trade history"),
        newest_first="updated_ms",
    )


def trades_table() -> RecordTable:
    return RecordTable(TRADE_COLUMNS, lambda t: _get(t, "exec_id"), NO_ENGINE.format(what="trades"), newest_first="ts")


def flatten_balances(venues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"venue": v["venue"], **b} for v in venues for b in v.get("balances", [])]


class BalancesPanel(QWidget):
    """Per-venue rows, then the total in the account currency and in the milestone currency."""

    def __init__(self, converter: Converter | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = balances_table()
        self.converter = converter
        self.total = QLabel("Total: -")
        self.total.setObjectName("balanceTotal")
        self.total.setStyleSheet("font-weight: 600; padding: 4px 8px;")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED}; padding: 0 8px 4px 8px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.total)
        layout.addWidget(self.note)
        self._seq = 0

    def show_balances(self, venues: list[dict[str, Any]]) -> None:
        rows = flatten_balances(venues)
        self.table.model.set_rows(rows)
        down = [v["venue"] for v in venues if not v.get("connected")]
        if down and not rows:
            self.table.set_empty_message(NO_ENGINE.format(what="balances") + f" ({', '.join(down)}: not connected)")
        account = self.converter.account_currency if self.converter else "USDT"
        total = sum((_dec(r["total"]) for r in rows if r["coin"] == account), Decimal(0))
        others = sorted({r["coin"] for r in rows if r["coin"] != account})
        per_venue = ", ".join(
            f"{v['venue']} {sum((_dec(b['total']) for b in v['balances'] if b['coin'] == account), Decimal(0)):,.2f}"
            for v in venues
            if v.get("connected")
        )
        if not any(v.get("connected") for v in venues):
            head = f"Total: - {account} (no venue connected)"
        else:
            head = f"Total: {total:,.2f} {account}" + (f"  ({per_venue})" if per_venue else "")
        if others:
            head += f"  · not converted: {', '.join(others)}"
        self.total.setText(head)
        if self.converter is None:
            return
        self._seq += 1
        seq = self._seq
        spawn(self.converter.convert(total), lambda c: self._show_conversion(seq, head, c), self.note.setText)

    def _show_conversion(self, seq: int, head: str, conversion: Any) -> None:
        if seq != self._seq:
            return
        if conversion.value is None:
            self.total.setText(f"{head}  ·  {conversion.currency}: no rate")
            self.note.setText(conversion.note)
        else:
            self.total.setText(f"{head}  ·  {conversion.value:,.2f} {conversion.currency}")
            self.note.setText(conversion.note)
