"""memory/db.py: a connection never goes back to the pool inside a transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from memory.db import create_engine
from tests.fixtures.db import async_url


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(database_url: str) -> None:
    engine = create_engine(async_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        async with engine.connect() as conn:
            # Written through the driver, so SQLAlchemy does not know a transaction is open:
            # only the pool's reset can end it.
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("INSERT INTO probe (x) VALUES (1)")
        async with engine.begin() as conn:  # would wait for the write lock on SQLite
            await conn.execute(text("INSERT INTO probe (x) VALUES (2)"))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT x FROM probe"))).scalars().all()
        assert rows == [2]
    finally:
        await engine.dispose()


async def test_a_committed_connection_goes_back_without_a_rollback(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(async_url(database_url))
    try:
        async with engine.connect() as conn:
            adapter: Any = type((await conn.get_raw_connection()).dbapi_connection)
        rollbacks: list[object] = []
        original = adapter.rollback

        def counted(self: Any) -> None:
            rollbacks.append(self)
            original(self)

        monkeypatch.setattr(adapter, "rollback", counted)
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
        assert rollbacks == []
    finally:
        await engine.dispose()
