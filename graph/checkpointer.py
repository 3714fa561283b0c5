"""Checkpointer factory: AsyncSqliteSaver by default, AsyncPostgresSaver at scale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

from memory.db import POOL_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_S, libpq_url


@asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Open the saver matching the database URL, create its tables, close it on exit.

    Args:
        url: the SQLAlchemy URL of Deskhand's database; checkpoints live beside our tables.

    Yields:
        A ready checkpointer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        conn = await aiosqlite.connect(parsed.database or ":memory:", timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            yield saver
        finally:
            await conn.close()
        return

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool = AsyncConnectionPool(
        libpq_url(url),
        min_size=2,
        max_size=20,
        open=False,
        timeout=POOL_TIMEOUT_S,
        # A connection a PostgreSQL restart has cut is replaced before use, not handed
        # to the next resume (which would then fail with AdminShutdown).
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True)
    try:
        saver_pg = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        await saver_pg.setup()
        yield saver_pg
    finally:
        await pool.close()
