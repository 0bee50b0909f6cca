"""Alembic environment of the graduation store (its own version table); see workstation/storage/migrations.py."""

from workstation.graduation.schema import VERSION_TABLE, metadata
from workstation.storage.migrations import run_alembic_env

run_alembic_env(metadata, VERSION_TABLE)
