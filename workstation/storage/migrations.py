"""Alembic migrations run programmatically (no alembic.ini): each store has its own scripts
folder and its own version table, so several stores can share one database file or not."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.exc import OperationalError

# Alembic keeps the running migration's context in module globals (alembic.context, alembic.op), so
# two upgrades at once in one process clobber each other even on different files (seen: the GUI's
# paper replay migrating the ledger while the Graduation panel migrated its store). One at a time.
_UPGRADE_LOCK = threading.Lock()
OTHER_MIGRATION_WAIT_S = 30.0


@dataclass(frozen=True)
class Migrations:
    directory: Path
    version_table: str

    def _config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.directory).replace("%", "%%"))
        return config

    def head_revision(self) -> str:
        head = ScriptDirectory.from_config(self._config()).get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations found in {self.directory}")
        return head

    def current_revision(self, engine: Engine) -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": self.version_table}).get_current_revision()

    def upgrade_to_head(self, engine: Engine) -> bool:
        """Bring the database to the newest schema. False when it already was (a no-op), or when
        another process migrated it while this one tried."""
        head = self.head_revision()
        with _UPGRADE_LOCK:
            if self.current_revision(engine) == head:
                return False
            config = self._config()
            try:
                with engine.begin() as conn:
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
            except OperationalError:
                # SQLite commits DDL as it goes: another process migrating the same file can make
                # our CREATE TABLE fail half-way. Its upgrade finishing is success; anything else
                # (it crashed, a real schema problem) re-raises after the wait.
                if not self._wait_for(engine, head):
                    raise
                return False
            return True

    def _wait_for(self, engine: Engine, head: str) -> bool:
        deadline = time.monotonic() + OTHER_MIGRATION_WAIT_S
        while time.monotonic() < deadline:
            try:
                if self.current_revision(engine) == head:
                    return True
            except OperationalError:
                pass  # locked by the other migration for the moment
            time.sleep(0.05)
        return False


def run_alembic_env(metadata: MetaData, version_table: str) -> None:
    """The body of every env.py: migrate over the connection the store passed in
    `config.attributes['connection']`, or over `sqlalchemy.url` when run from the alembic CLI."""

    def run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        run(conn)
