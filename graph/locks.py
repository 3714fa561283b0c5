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
import fcntl
import hashlib
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_LOCK_SLOTS = 1 << 20


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
    """Serialises work on one run across coroutines, processes and replicas."""

    def __init__(self, *, engine: AsyncEngine | None = None, lock_file: Path | None = None):
        self._engine = engine
        self._lock_file = lock_file
        self._fd: int | None = None
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
            if self._engine is not None:
                async with self._advisory(run_id):
                    yield
            elif self._lock_file is not None:
                fd, slot = self._file(), _slot(run_id)
                await _lock_range(fd, slot)
                try:
                    yield
                finally:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)
            else:
                yield

    @asynccontextmanager
    async def _advisory(self, run_id: str) -> AsyncIterator[None]:
        assert self._engine is not None
        key = {"k": run_id}
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), key)
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key)
                await conn.commit()

    def close(self) -> None:
        """Release the lock file descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
