"""Candle store: instruments, month chunks of candle columns, funding rates.

Revision ID: 0001_candle_store
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_candle_store"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("base", sa.String(32), nullable=False),
        sa.Column("quote", sa.String(32), nullable=False),
        sa.Column("tick_size", sa.String(40), nullable=False),
        sa.Column("qty_step", sa.String(40), nullable=False),
        sa.Column("min_qty", sa.String(40), nullable=False),
        sa.Column("min_notional", sa.String(40), nullable=False),
        sa.Column("contract_size", sa.String(40), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("venue", "symbol", name="pk_instruments"),
    )
    op.create_table(
        "candle_chunks",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("month_ms", sa.BigInteger, nullable=False),
        sa.Column("codec", sa.String(16), nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("first_ts", sa.BigInteger, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("venue", "symbol", "interval", "kind", "month_ms", name="pk_candle_chunks"),
    )
    op.create_table(
        "funding_rates",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("venue", "symbol", "ts", name="pk_funding_rates"),
    )


def downgrade() -> None:
    op.drop_table("funding_rates")
    op.drop_table("candle_chunks")
    op.drop_table("instruments")
