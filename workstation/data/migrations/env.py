"""Alembic environment of the data store (its own version table); see workstation/storage/migrations.py."""

from workstation.data.schema import VERSION_TABLE, metadata
from workstation.storage.migrations import run_alembic_env

run_alembic_env(metadata, VERSION_TABLE)
