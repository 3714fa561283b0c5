"""Alembic environment: runs on the connection Deskhand hands it (see memory.migrate).

LangGraph's checkpoint tables live in the same database but are created and migrated by
LangGraph itself, so autogenerate must ignore them.
"""

from __future__ import annotations

from alembic import context

from memory.migrate import include_object
from memory.models import Base


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `deskhand migrate`, which supplies a connection")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline SQL generation is not supported; use `deskhand migrate`")
run_migrations_online()
