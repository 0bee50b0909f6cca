"""SQLAlchemy tables of the ledger. Change them only together with a new Alembic revision.

Decimals are stored as text so that quantities and prices survive exactly.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

VERSION_TABLE = "ledger_alembic_version"

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", String(64), primary_key=True),  # Bybit orderLinkId (<= 36 for ours)
    Column("venue", String(32), nullable=False),
    Column("category", String(16), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("qty", String(40), nullable=False),
    Column("price", String(40)),
    Column("trigger_price", String(40)),
    Column("time_in_force", String(16), nullable=False),
    Column("reduce_only", Boolean, nullable=False),
    Column("stop_loss", String(40)),
    Column("take_profit", String(40)),
    Column("status", String(24), nullable=False),
    Column("filled_qty", String(40), nullable=False),
    Column("avg_price", String(40)),
    Column("venue_order_id", String(64)),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("origin", String(16), nullable=False),  # local: written before sending; adopted: found on the venue
    Column("inferred", Boolean, nullable=False),  # status concluded by us (e.g. confirmed misses), not reported
    Column("misses", Integer, nullable=False),  # consecutive confirmed "not found" lookups
)

fills = Table(
    "fills",
    metadata,
    Column("exec_id", String(64), primary_key=True),
    Column("client_order_id", String(64), nullable=False),
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("qty", String(40), nullable=False),
    Column("price", String(40), nullable=False),
    Column("fee", String(40), nullable=False),
    Column("fee_currency", String(16), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("is_maker", Boolean, nullable=False),
    Column("recorded_ms", BigInteger, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("size", String(40), nullable=False),  # signed: + long, - short
    Column("entry_price", String(40), nullable=False),
    Column("realized_pnl", String(40), nullable=False),
    Column("fees", String(40), nullable=False),
    Column("source", String(16), nullable=False),  # fills | exchange
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", name="pk_positions"),
)

balance_snapshots = Table(
    "balance_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", String(32), nullable=False),
    Column("coin", String(16), nullable=False),
    Column("total", String(40), nullable=False),
    Column("available", String(40), nullable=False),
    Column("ts", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("client_order_id", String(64)),
    Column("detail", Text, nullable=False),
)

funding = Table(
    "funding",
    metadata,
    Column("exec_id", String(64), primary_key=True),  # the venue's execution id: one row per settlement
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),  # settlement time, ms
    Column("amount", String(40), nullable=False),  # paid (+) / received (-): Bybit's execFee sign (core.funding)
    Column("currency", String(16), nullable=False),
    Column("rate", String(40)),
    Column("position_qty", String(40), nullable=False),  # signed: + long, - short
    Column("price", String(40)),
    Column("source", String(16), nullable=False),  # rest | stream: what delivered it first
    Column("recorded_ms", BigInteger, nullable=False),
)
