"""Alembic environment of the graduation history. The store passes an open connection in
`config.attributes['connection']`; its version table is its own."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from workstation.graduation.schema import VERSION_TABLE, metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
