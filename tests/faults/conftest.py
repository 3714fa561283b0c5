"""Fault fixtures: a PostgreSQL server of the test's own, so a test may restart it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest


@dataclass
class RestartablePostgres:
    """A private PostgreSQL 16 (from the ``pgserver`` wheel) that a test can restart."""

    server: object
    url: str

    def restart(self) -> None:
        """Restart in fast mode: every open connection is cut, as in a real restart."""
        self._pg_ctl("restart")

    def stop(self) -> None:
        """Stop in fast mode; connections are cut and new ones refused until start()."""
        self._pg_ctl("stop")

    def start(self) -> None:
        """Start again after stop(), on the same socket and data."""
        self.server.ensure_postgres_running()  # type: ignore[attr-defined]

    def _pg_ctl(self, action: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", action],
            pgdata=self.server.pgdata,  # type: ignore[attr-defined]
            user=self.server.system_user,  # type: ignore[attr-defined]
            timeout=30,
        )


@pytest.fixture(scope="module")
def restartable_pg() -> Iterator[RestartablePostgres]:
    """A PostgreSQL server for this module alone, with a fresh database ``deskhand``."""
    import pgserver

    datadir = Path(tempfile.mkdtemp(prefix="deskhand-pg-restart-"))
    server = pgserver.get_server(datadir, cleanup_mode="delete")
    try:
        admin = server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE deskhand")
        url = server.get_uri("deskhand")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield RestartablePostgres(server, url)
    finally:
        server.cleanup()
