"""SQLAlchemy tables of the candle store. Change them only together with a new Alembic revision."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

metadata = MetaData()

# Decimal fields are text so that tick sizes like 0.00001 survive exactly.
instruments = Table(
    "instruments",
    metadata,
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("category", String(16), nullable=False),
    Column("base", String(32), nullable=False),
    Column("quote", String(32), nullable=False),
    Column("tick_size", String(40), nullable=False),
    Column("qty_step", String(40), nullable=False),
    Column("min_qty", String(40), nullable=False),
    Column("min_notional", String(40), nullable=False),
    Column("contract_size", String(40), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", name="pk_instruments"),
)

# One row per series and UTC month; `data` holds the six columns encoded by `codec`.
candle_chunks = Table(
    "candle_chunks",
    metadata,
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("month_ms", BigInteger, nullable=False),
    Column("codec", String(16), nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("first_ts", BigInteger, nullable=False),
    Column("last_ts", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", "interval", "kind", "month_ms", name="pk_candle_chunks"),
)

funding_rates = Table(
    "funding_rates",
    metadata,
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("rate", Float, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", "ts", name="pk_funding_rates"),
)

# Bars that `data repair --fill` made up for a gap the sources could not supply, one row per
# filled range [start_ts, end_ts): a check or a backtest can tell them from real bars.
filled_ranges = Table(
    "filled_ranges",
    metadata,
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("start_ts", BigInteger, nullable=False),
    Column("end_ts", BigInteger, nullable=False),
    Column("bars", Integer, nullable=False),
    Column("method", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", "interval", "kind", "start_ts", name="pk_filled_ranges"),
)

VERSION_TABLE = "candle_store_alembic_version"
