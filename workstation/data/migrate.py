"""The candle store's Alembic migrations (scripts in ./migrations, version table of its own)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from workstation.data.schema import VERSION_TABLE
from workstation.storage.migrations import Migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATIONS = Migrations(MIGRATIONS_DIR, VERSION_TABLE)


def head_revision() -> str:
    return MIGRATIONS.head_revision()


def current_revision(engine: Engine) -> str | None:
    return MIGRATIONS.current_revision(engine)


def upgrade_to_head(engine: Engine) -> bool:
    """Bring the database to the newest schema. Returns False when it already was (a no-op)."""
    return MIGRATIONS.upgrade_to_head(engine)
