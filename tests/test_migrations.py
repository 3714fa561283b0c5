"""Migrations: apply on both backends, match the models, leave LangGraph's tables alone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from graph.checkpointer import open_checkpointer
from memory.db import create_engine
from memory.migrate import LANGGRAPH_TABLES, include_object, status, upgrade
from memory.models import Base
from tests.fixtures.db import async_url


async def test_upgrade_matches_models_and_ignores_langgraph(database_url: str) -> None:
    url = async_url(database_url)
    engine = create_engine(url)
    try:
        async with open_checkpointer(url):
            pass  # LangGraph creates its own tables in the same database
        await upgrade(engine)
        await upgrade(engine)  # idempotent
        current, head = await status(engine)
        assert current == head == "0005"

        def diff(conn):  # type: ignore[no-untyped-def]
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": False}
            )
            return compare_metadata(context, Base.metadata), inspect(conn).get_table_names()

        async with engine.connect() as conn:
            changes, tables = await conn.run_sync(diff)
        assert changes == []
        assert LANGGRAPH_TABLES & set(tables)  # present, and not reported as "remove table"
    finally:
        await engine.dispose()
