"""Engine and session factories for SQLite (the embedded default) and PostgreSQL.

Nothing connects at import time: call :func:`create_engine` from start-up code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

Sessions = async_sessionmaker[AsyncSession]

# Long enough that 50 concurrent deciders queue for SQLite's single write lock instead of
# failing with "database is locked"; short writes keep the real wait in milliseconds.
SQLITE_BUSY_TIMEOUT_S = 30.0


def is_sqlite(url: str) -> bool:
    """Tell whether a SQLAlchemy URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def libpq_url(url: str) -> str:
    """Turn a SQLAlchemy PostgreSQL URL into a libpq connection string for psycopg."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


# Every SQLite connection Deskhand opens runs these first.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create an async engine for ``url`` with the settings Deskhand relies on.

    Args:
        url: a SQLAlchemy async URL (``sqlite+aiosqlite:///...`` or
            ``postgresql+psycopg://...``).
        echo: log every statement.

    Returns:
        The engine; it opens connections lazily.
    """
    if is_sqlite(url):
        engine = _create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return _create_async_engine(url, echo=echo, pool_size=10, max_overflow=40, pool_pre_ping=True)


def create_sessions(engine: AsyncEngine) -> Sessions:
    """Return the session factory; callers own transactions (``async with s.begin()``)."""
    return async_sessionmaker(engine, expire_on_commit=False)
