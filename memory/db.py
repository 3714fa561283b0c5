"""Engine and session factories for SQLite (the embedded default) and PostgreSQL.

Nothing connects at import time: call :func:`create_engine` from start-up code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")

log = logging.getLogger(__name__)

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


# How long the checkpointer's pool may take to hand out a connection
# that passed its check, before the caller gets PoolTimeout (transient, retried).
POOL_TIMEOUT_S = 10.0


def is_transient(error: BaseException) -> bool:
    """Tell whether a database error may go away by itself, so the work is worth retrying.

    True for a lost or refused connection (PostgreSQL restarting: ``AdminShutdown``,
    ``connection refused``; a pool that could not hand out a live connection in time) and
    for SQLite's "database is locked"; False for anything a retry cannot cure (a
    constraint, a missing table, a bug).
    """
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "busy" in str(error)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    # psycopg_pool.PoolTimeout and every lost-connection error (AdminShutdown,
    # "connection refused", "server closed the connection") are OperationalErrors;
    # InterfaceError is raised when a connection already known to be closed is used.
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


async def retrying(
    work: Callable[[], Awaitable[T]],
    *,
    within: float,
    what: str,
    stop: asyncio.Event | None = None,
) -> T:
    """Run ``work``, again after a growing pause while it fails for a transient reason.

    Args:
        work: builds and awaits one attempt; it must be safe to repeat (one transaction,
            or work that re-reads where it stands first).
        within: seconds after which a transient failure is raised to the caller.
        what: names the work in the log.
        stop: once set (the process is stopping), a transient failure is raised at once
            instead of waiting for the next attempt.

    Returns:
        What the successful attempt returned.

    Raises:
        Exception: a non-transient error at once, a transient one once ``within`` passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = 0.2
    while True:
        try:
            return await work()
        except Exception as error:
            if not is_transient(error) or loop.time() + delay > deadline:
                raise
            if stop is not None and stop.is_set():
                raise
            log.warning(
                "database unavailable, retrying",
                extra={"what": what, "retry_in_s": delay, "error": type(error).__name__},
            )
        if stop is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 5.0)


def _in_transaction(driver_connection: Any) -> bool:
    """Tell, without a round trip, whether a driver connection is inside a transaction."""
    if hasattr(driver_connection, "in_transaction"):  # aiosqlite, like sqlite3
        return bool(driver_connection.in_transaction)
    info = getattr(driver_connection, "info", None)  # psycopg
    status = getattr(info, "transaction_status", None)
    return status is None or status != 0  # psycopg.pq.TransactionStatus.IDLE


def _rollback_if_open(dbapi_connection: Any, record: ConnectionPoolEntry, state: Any) -> None:
    """Roll back a connection on its way back to the pool when a transaction is open.

    SQLAlchemy's default reset rolls back every returned connection, although a session
    that committed or rolled back has left none open: one more thread hop on aiosqlite,
    one more round trip on PostgreSQL, three times on every decision. Asking the driver
    first (a flag it already holds) keeps the guarantee, no connection goes back to the
    pool inside a transaction, without the empty rollbacks.
    """
    assert isinstance(state, PoolResetState)
    if state.terminate_only or not state.asyncio_safe:
        return  # the pool discards this connection rather than reuse it
    if _in_transaction(record.driver_connection):
        dbapi_connection.rollback()


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
            pool_reset_on_return=None,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = _create_async_engine(
            url,
            echo=echo,
            pool_size=10,
            max_overflow=40,
            pool_pre_ping=True,
            pool_reset_on_return=None,
        )
    event.listen(engine.sync_engine, "reset", _rollback_if_open)
    return engine


def create_sessions(engine: AsyncEngine) -> Sessions:
    """Return the session factory; callers own transactions (``async with s.begin()``)."""
    return async_sessionmaker(engine, expire_on_commit=False)
