"""Alembic environment: migrations run on the connection ``voicebot.store`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from voicebot.store.schema import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("voicebot migrations run through voicebot.store.migrate, with a connection")
run_migrations(_connection)
