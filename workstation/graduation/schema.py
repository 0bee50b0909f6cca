"""Tables of the graduation history. Change them only together with a new Alembic revision.

All three tables are append-only: SQLite triggers abort any UPDATE or DELETE, so the history
cannot be rewritten through this code, through sqlite3 on the command line, or by a bug.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, MetaData, String, Table, Text

VERSION_TABLE = "graduation_alembic_version"
APPEND_ONLY = ("candidates", "transitions", "evaluations")

metadata = MetaData()

candidates = Table(
    "candidates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("strategy", String(64), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("symbol", String(64), nullable=False),
    Column("interval", String(16), nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: backtest, walk-forward, Monte Carlo band
    Column("created_ms", BigInteger, nullable=False),
    Column("created_by", String(64), nullable=False),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False, index=True),
    Column("ts", BigInteger, nullable=False),
    Column("from_stage", String(16)),
    Column("to_stage", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("by", String(64), nullable=False),
    Column("metrics", Text, nullable=False),  # JSON: the numbers that justified it
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False, index=True),
    Column("ts", BigInteger, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("met", Boolean, nullable=False),
    Column("days_in_stage", Text, nullable=False),
    Column("shortfalls", Text, nullable=False),  # JSON list
    Column("breaches", Text, nullable=False),  # JSON list
    Column("performance", Text, nullable=False),  # JSON
)
