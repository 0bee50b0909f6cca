"""Ledger: funding settlements the venue booked on the account's positions, keyed by exec id.

Revision ID: 0002_funding
Revises: 0001_ledger
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_funding"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding",
        sa.Column("exec_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("rate", sa.String(40)),
        sa.Column("position_qty", sa.String(40), nullable=False),
        sa.Column("price", sa.String(40)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_funding_venue_symbol_ts", "funding", ["venue", "symbol", "ts"])


def downgrade() -> None:
    op.drop_index("ix_funding_venue_symbol_ts", table_name="funding")
    op.drop_table("funding")
