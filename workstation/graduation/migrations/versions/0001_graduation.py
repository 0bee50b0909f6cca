"""Graduation: candidates, transitions, evaluations (append-only).

Revision ID: 0001_graduation
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_graduation"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("candidates", "transitions", "evaluations")


def upgrade() -> None:
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("interval", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
    )
    op.create_index("ix_transitions_candidate_id", "transitions", ["candidate_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("met", sa.Boolean, nullable=False),
        sa.Column("days_in_stage", sa.Text, nullable=False),
        sa.Column("shortfalls", sa.Text, nullable=False),
        sa.Column("breaches", sa.Text, nullable=False),
        sa.Column("performance", sa.Text, nullable=False),
    )
    op.create_index("ix_evaluations_candidate_id", "evaluations", ["candidate_id"])
    for table in TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'graduation {table} are append-only'); END"
            )


def downgrade() -> None:
    for table in TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    for table in reversed(TABLES):
        op.drop_table(table)
