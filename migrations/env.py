"""Alembic environment: runs on the connection Deskhand hands it (see memory.migrate).

LangGraph's checkpoint tables live in the same database but are created and migrated by
LangGraph itself, so autogenerate must ignore them.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from memory.models import Base

LANGGRAPH_TABLES = frozenset(
    {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations", "writes"}
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave LangGraph's tables (and their indexes) out of autogenerate."""
    table = obj.table.name if type_ in {"index", "column", "unique_constraint"} else name
    return table not in LANGGRAPH_TABLES and not (name or "").startswith("apscheduler")


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
