"""Ledger: orders, fills, positions, balance snapshots, audit log.

Revision ID: 0001_ledger
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("qty", sa.String(40), nullable=False),
        sa.Column("price", sa.String(40)),
        sa.Column("trigger_price", sa.String(40)),
        sa.Column("time_in_force", sa.String(16), nullable=False),
        sa.Column("reduce_only", sa.Boolean, nullable=False),
        sa.Column("stop_loss", sa.String(40)),
        sa.Column("take_profit", sa.String(40)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_qty", sa.String(40), nullable=False),
        sa.Column("avg_price", sa.String(40)),
        sa.Column("venue_order_id", sa.String(64)),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("inferred", sa.Boolean, nullable=False),
        sa.Column("misses", sa.Integer, nullable=False),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "fills",
        sa.Column("exec_id", sa.String(64), primary_key=True),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", sa.String(40), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("fee", sa.String(40), nullable=False),
        sa.Column("fee_currency", sa.String(16), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("is_maker", sa.Boolean, nullable=False),
        sa.Column("recorded_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_fills_order", "fills", ["client_order_id"])
    op.create_table(
        "positions",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("size", sa.String(40), nullable=False),
        sa.Column("entry_price", sa.String(40), nullable=False),
        sa.Column("realized_pnl", sa.String(40), nullable=False),
        sa.Column("fees", sa.String(40), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("venue", "symbol", name="pk_positions"),
    )
    op.create_table(
        "balance_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("coin", sa.String(16), nullable=False),
        sa.Column("total", sa.String(40), nullable=False),
        sa.Column("available", sa.String(40), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("client_order_id", sa.String(64)),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "balance_snapshots", "positions", "fills", "orders"):
        op.drop_table(table)
