"""Balances, positions and orders: declared columns over the generic RecordTable.

Until the trading engine feeds them, each says so rather than showing anything made up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from workstation.core.types import Balance, Order, Position
from workstation.ui.table import Column, RecordTable, plain, signed_color

NO_ENGINE = "No venue connected: {what} appear here once the trading engine is running (paper, testnet or live)."


def _time(ms: Any) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


BALANCE_COLUMNS = (
    Column("venue", "Venue"),
    Column("coin", "Coin"),
    Column("total", "Total", numeric=True),
    Column("available", "Available", numeric=True),
)

POSITION_COLUMNS = (
    Column("venue", "Venue"),
    Column("symbol", "Symbol"),
    Column("side", "Side", fmt=lambda v: plain(v) if v is not None else "flat"),
    Column("size", "Size", numeric=True),
    Column("entry_price", "Entry", numeric=True),
    Column("mark_price", "Mark", numeric=True),
    Column("unrealized_pnl", "Unrealized PnL", color=signed_color, numeric=True),
    Column("leverage", "Leverage", numeric=True),
    Column("liquidation_price", "Liquidation", numeric=True),
)

ORDER_COLUMNS = (
    Column("client_order_id", "Client id"),
    Column("venue", "Venue"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("order_type", "Type"),
    Column("qty", "Qty", numeric=True),
    Column("price", "Price", numeric=True),
    Column("filled_qty", "Filled", numeric=True),
    Column("avg_price", "Avg price", numeric=True),
    Column("status", "Status"),
    Column("updated_ms", "Updated (UTC)", fmt=_time),
)


def balances_table() -> RecordTable:
    def key(b: Balance) -> tuple[str, str]:
        return (b.venue, b.coin)

    return RecordTable(BALANCE_COLUMNS, key, NO_ENGINE.format(what="balances"))


def positions_table() -> RecordTable:
    def key(p: Position) -> tuple[str, str]:
        return (p.venue, p.symbol)

    return RecordTable(POSITION_COLUMNS, key, NO_ENGINE.format(what="positions"))


def orders_table() -> RecordTable:
    def key(o: Order) -> str:
        return o.client_order_id

    return RecordTable(ORDER_COLUMNS, key, NO_ENGINE.format(what="open orders and trade history"))
