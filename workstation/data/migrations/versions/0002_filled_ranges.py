"""Filled ranges: bars made up by `data repair --fill`, kept apart from real ones.

Revision ID: 0002_filled_ranges
Revises: 0001_candle_store
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_filled_ranges"
down_revision = "0001_candle_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filled_ranges",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("bars", sa.Integer, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("venue", "symbol", "interval", "kind", "start_ts", name="pk_filled_ranges"),
    )


def downgrade() -> None:
    op.drop_table("filled_ranges")
