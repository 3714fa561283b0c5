"""Per-run locks: resumes of one LangGraph thread must never overlap.

Two concurrent ``Command(resume=...)`` on one thread both run their nodes (side effects
twice, forked history), so every advance of a run holds its lock:

- in one process, an ``asyncio.Lock`` per run;
- across processes on SQLite (the bot and a ``deskhand approve`` from a shell), a POSIX
  byte-range lock on a lock file beside the database, one byte per hashed run id;
- across replicas on PostgreSQL, a session-level advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from memory.db import is_transient

_LOCK_SLOTS = 1 << 20
# How long taking a lock keeps trying while PostgreSQL is unreachable (a restart takes a
# few seconds) before the caller gets the error.
LOCK_RECONNECT_S = 15.0


def _slot(run_id: str) -> int:
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big") % _LOCK_SLOTS


async def _lock_range(fd: int, slot: int) -> None:
    # Non-blocking attempts keep the event loop and the thread pool free while another
    # process (say, `deskhand approve` in a shell) holds the same run.
    delay = 0.001
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot, os.SEEK_SET)
            return
        except OSError:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)


class RunLocks:
    """Serialises work on one run across coroutines, processes and replicas.

    On PostgreSQL every advisory lock of this process lives on one dedicated connection,
    taken with ``pg_try_advisory_lock`` and retried: a lock never holds a connection of
    the session pool, so resumes in flight can never starve the pool they need.
    """

    def __init__(self, *, pg_conninfo: str | None = None, lock_file: Path | None = None):
        self._conninfo = pg_conninfo
        self._lock_file = lock_file
        self._fd: int | None = None
        self._pg: Any = None
        self._pg_guard = asyncio.Lock()
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _file(self) -> int:
        if self._fd is None:
            assert self._lock_file is not None
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @asynccontextmanager
    async def hold(self, run_id: str) -> AsyncIterator[None]:
        """Hold the run's lock for the duration of the block."""
        lock = self._local.get(run_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local[run_id] = lock
        async with lock:
            if self._conninfo is not None:
                await self._advisory(run_id, "pg_try_advisory_lock")
                try:
                    yield
                finally:
                    await self._advisory(run_id, "pg_advisory_unlock")
            elif self._lock_file is not None:
                fd, slot = self._file(), _slot(run_id)
                await _lock_range(fd, slot)
                try:
                    yield
                finally:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)
            else:
                yield

    async def _advisory(self, run_id: str, function: str) -> None:
        delay = 0.001
        deadline = asyncio.get_running_loop().time() + LOCK_RECONNECT_S
        while True:
            try:
                async with self._pg_guard:
                    conn = await self._connection()
                    cursor = await conn.execute(
                        f"SELECT {function}(hashtextextended(%s, 0))", (run_id,)
                    )
                    row = await cursor.fetchone()
            except Exception as error:
                if not is_transient(error):
                    raise
                # PostgreSQL restarted: the session ended and every advisory lock it held
                # went with it, so there is nothing left to unlock; a lock is taken again
                # on a new connection once the server answers.
                await self._drop_connection()
                if function == "pg_advisory_unlock":
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
                continue
            if function != "pg_try_advisory_lock" or (row and row[0]):
                return
            # Another replica holds this run: wait without keeping anything busy.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _drop_connection(self) -> None:
        if self._pg is not None:
            pg, self._pg = self._pg, None
            with contextlib.suppress(Exception):
                await pg.close()

    async def _connection(self) -> Any:
        if self._pg is None or self._pg.closed:
            import psycopg

            assert self._conninfo is not None
            self._pg = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._pg

    async def aclose(self) -> None:
        """Release the lock file and the lock connection."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
