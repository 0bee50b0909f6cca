"""Alembic migrations run programmatically (no alembic.ini): each store has its own scripts
folder and its own version table, so several stores can share one database file or not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine


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
        """Bring the database to the newest schema. False when it already was (a no-op)."""
        if self.current_revision(engine) == self.head_revision():
            return False
        config = self._config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return True


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
