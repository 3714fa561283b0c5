"""The decision path's bookkeeping, executed on the database driver itself.

Every tap on Approve runs the same handful of statements: read the approval, the atomic
``UPDATE ... WHERE status = 'pending' RETURNING``, an event, a locked re-read with the
run, then ``applied_at``, the run's final status and one more event. Through an
``AsyncSession`` each statement costs 0.5 to 0.7 ms of CPU (greenlet switches, the async
adapter's several thread hops per statement on aiosqlite, cache-key generation); on the
driver connection it costs about 0.06 ms (measured 2026-11-21: one-insert transaction
1.0 ms through SQLAlchemy Core against 0.13 ms on aiosqlite, 2.1 ms against 0.33 ms on
psycopg). That difference is most of what Deskhand adds to a bare LangGraph resume.

So these statements are written out here once, with column lists taken from the models'
tables, and values encoded and decoded by the same SQLAlchemy column types the ORM uses
(:meth:`TypeEngine.dialect_impl` processors), so rows written here read back identically
through the ORM and the other way round. Everything else in ``memory/`` stays on the ORM.

- SQLite: one sqlite3 connection used inline on the event loop (see :class:`_Sqlite`),
  under the checkpointer's lock; writes use ``BEGIN IMMEDIATE``.
- PostgreSQL: a small psycopg pool; each write is one statement (a data-modifying CTE).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Table
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import configure_mappers

from memory.approvals import DECIDED_STATUS, OPEN, Action
from memory.db import (
    POOL_TIMEOUT_S,
    SQLITE_BUSY_TIMEOUT_S,
    SQLITE_PRAGMAS,
    is_sqlite,
    libpq_url,
)
from memory.models import Approval, ApprovalMessage, Event, Run, utcnow
from memory.runs import ACTIVE

Row = Sequence[Any]


T = TypeVar("T")
M = TypeVar("M")


class _Tx(Protocol):
    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[Row]: ...


Body = Callable[[_Tx], Coroutine[Any, Any, T]]


class _Driver(Protocol):
    async def run(self, body: Body[T], *, write: bool) -> T: ...

    async def aclose(self) -> None: ...


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()


class _Sqlite:
    """A sqlite3 connection used on the event loop itself, never waiting inside SQLite.

    A statement here costs microseconds (7.6 us for a keyed SELECT on this machine), and a
    hop to a connection thread as aiosqlite makes one costs ten times that in CPU, more in
    wake-ups when the loop is busy: a tap on Approve made nine. So statements run inline,
    and what could block the loop is ruled out:

    - ``busy_timeout`` is 0: when another connection holds the write lock (an ORM write, a
      ``deskhand approve`` in a shell), ``BEGIN IMMEDIATE`` fails at once and the whole
      transaction is tried again after an ``asyncio.sleep``, for up to
      ``SQLITE_BUSY_TIMEOUT_S`` like every other connection;
    - ``wal_autocheckpoint`` is 0: this connection never runs a WAL checkpoint (which
      writes the database file) at commit; the other connections' commits do;
    - ``guard`` is the checkpointer's lock (AsyncSqliteSaver holds it around each of its
      transactions), so the two writers of every decision take turns instead of colliding.
    """

    def __init__(self, conn: sqlite3.Connection, guard: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._guard = guard or asyncio.Lock()

    async def run(self, body: Body[T], *, write: bool) -> T:
        # Bodies never suspend (every statement is inline), so transactions on this
        # connection cannot interleave; the guard only keeps writes out of the
        # checkpointer's way, and reads (WAL: never blocked by a writer) skip it.
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + SQLITE_BUSY_TIMEOUT_S, 0.001
        while True:
            try:
                if not write:
                    return await body(_SqliteTx(self._conn))
                async with self._guard:
                    return await self._write(body)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in _BUSY or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)  # another connection is writing: let it finish
            delay = min(delay * 2, 0.05)

    async def _write(self, body: Body[T]) -> T:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = await body(_SqliteTx(self._conn))
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return result

    async def aclose(self) -> None:
        self._conn.close()


_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _PgTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[Row]:
        cursor = await self._conn.execute(sql, params)
        # pgresult, not description: that builds a Column object per column, every time.
        result = cursor.pgresult
        return list(await cursor.fetchall()) if result is not None and result.nfields else []


class _Postgres:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def run(self, body: Body[T], *, write: bool) -> T:
        async with self._pool.connection() as conn:
            if not write:
                return await body(_PgTx(conn))
            async with conn.transaction():
                return await body(_PgTx(conn))

    async def aclose(self) -> None:
        await self._pool.close()


class _Codec(Generic[M]):
    """Encodes parameters and loads rows of one model's table exactly as the ORM would."""

    def __init__(self, model: type[M], dialect: Dialect) -> None:
        table: Table = model.__table__  # type: ignore[attr-defined]
        self.columns = list(table.columns)
        self._names = [c.name for c in self.columns]
        self._new = model.__mapper__.class_manager.new_instance  # type: ignore[attr-defined]
        types = [c.type.dialect_impl(dialect) for c in self.columns]
        self._bind = {
            c.name: t.bind_processor(dialect) for c, t in zip(self.columns, types, strict=True)
        }
        self._result = [t.result_processor(dialect, None) for t in types]

    def select_list(self, alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + c.name for c in self.columns)

    def params(self, **values: Any) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            process = self._bind[name]
            out[name] = process(value) if process is not None and value is not None else value
        return out

    def decode(self, row: Row) -> dict[str, Any]:
        return {
            name: (p(v) if p is not None and v is not None else v)
            for name, p, v in zip(self._names, self._result, row, strict=True)
        }

    def load(self, row: Row) -> M:
        """The row as a (transient) model object, built as the ORM's loader builds one.

        Filling the instance's ``__dict__`` skips the attribute events a constructor
        fires per column (36 us against 2 us an approval, measured 2026-11-21); the
        object reads the same, and nothing here adds it to a session.
        """
        instance = self._new()
        instance.__dict__.update(self.decode(row))
        return instance


def _named(sql: str, dialect: Dialect) -> str:
    """``:name`` placeholders for sqlite3, ``%(name)s`` for psycopg."""
    if dialect.name == "sqlite":
        return sql
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


@dataclass(frozen=True)
class Decision:
    """The outcome of :meth:`HotPath.decide`: ``won`` is False when someone decided first."""

    won: bool
    approval: Approval
    run: Run


class HotPath:
    """The statements on every decision's path, on the driver connection.

    Build it with :func:`open_hotpath`; it shares the database with the ORM engine.
    """

    def __init__(self, driver: _Driver, dialect: Dialect) -> None:
        configure_mappers()  # model objects are built without their constructors
        self._driver = driver
        self._a = a = _Codec(Approval, dialect)
        self._r = r = _Codec(Run, dialect)
        self._e = e = _Codec(Event, dialect)
        self._m = _Codec(ApprovalMessage, dialect)
        active = ", ".join(f"'{s}'" for s in ACTIVE)
        event_cols = [c.name for c in e.columns if c.name != "id"]
        sql = {
            "approval": f"SELECT {a.select_list()} FROM approvals WHERE id = :id",
            "decide": (
                "UPDATE approvals SET status = :status, decided_at = :decided_at,"
                " decided_by = :decided_by, decided_by_name = :decided_by_name,"
                f" decision = :decision WHERE id = :id AND status = '{OPEN}'"
                f" RETURNING {a.select_list()}"
            ),
            "event": (
                f"INSERT INTO events ({', '.join(event_cols)})"
                f" VALUES ({', '.join(':e_' + c for c in event_cols)})"
            ),
            "with_run": (
                f"SELECT {a.select_list('a')}, {r.select_list('r')}"
                " FROM approvals a JOIN runs r ON r.id = a.run_id WHERE a.id = :id"
            ),
            "applied": (
                "UPDATE approvals SET applied_at = :applied_at"
                " WHERE id = :applied AND applied_at IS NULL"
            ),
            "finish": (
                "UPDATE runs SET status = :status, outcome = :outcome, detail = :detail,"
                f" updated_at = :updated_at WHERE id = :id AND status IN ({active})"
                f" RETURNING {r.select_list()}"
            ),
            "run": f"SELECT {r.select_list()} FROM runs WHERE id = :id",
            # An upsert: a tap can land on a card before its post is recorded.
            "shown": (
                "INSERT INTO approval_messages (approval_id, channel, chat_id, message_id,"
                " rendered_status, created_at) VALUES (:approval_id, :channel, :chat_id,"
                " :message_id, :status, :created_at)"
                " ON CONFLICT (channel, chat_id, message_id) DO UPDATE"
                " SET rendered_status = excluded.rendered_status"
                " WHERE approval_messages.rendered_status != excluded.rendered_status"
                " RETURNING id"
            ),
        }
        # PostgreSQL runs data-modifying CTEs: each write and its event is one statement,
        # one round trip, atomic without BEGIN and COMMIT. (SQLite has no such CTEs; its
        # statements cost no round trip, so it keeps an explicit transaction.)
        self._one_statement = dialect.name == "postgresql"
        if self._one_statement:
            typed = ", ".join(
                f"CAST(:e_{c.name} AS {c.type.compile(dialect=dialect)})"
                for c in e.columns
                if c.name != "id"
            )
            log_from = f"INSERT INTO events ({', '.join(event_cols)}) SELECT {typed} FROM"
            sql["decide_logged"] = (
                f"WITH d AS ({sql['decide']}), e AS ({log_from} d)"
                f" SELECT {a.select_list('d')}, {r.select_list('r')}"
                " FROM d JOIN runs r ON r.id = d.run_id"
            )
            sql["finish_logged"] = (
                f"WITH a AS ({sql['applied']}), r AS ({sql['finish']}), e AS ({log_from} r)"
                f" SELECT {r.select_list()} FROM r"
            )
        self._sql = {key: _named(text, dialect) for key, text in sql.items()}

    async def get(self, approval_id: str) -> Approval | None:
        """Return one approval, or None."""

        async def body(tx: _Tx) -> Approval | None:
            rows = await tx.rows(self._sql["approval"], {"id": approval_id})
            return self._a.load(rows[0]) if rows else None

        return await self._driver.run(body, write=False)

    async def decide(
        self,
        approval_id: str,
        action: Action,
        *,
        actor: str,
        actor_name: str | None,
        details: Mapping[str, Any],
        event: Mapping[str, Any],
    ) -> Decision | None:
        """Decide a pending approval atomically, with its event; the first decision wins.

        Nothing is read first: the caller checked the action against what the approval
        offers (which never changes), and the ``UPDATE ... WHERE status = 'pending'``
        either wins or finds the row decided, which is then read to say by whom.

        Args:
            approval_id: the approval.
            action: approve, reject or edit.
            actor: who decides.
            actor_name: their display name.
            details: the decision's details besides the action (a reason, the edits).
            event: the ``approval.decided`` event's fields, written with the decision
                when this call wins.

        Returns:
            The decision (``won`` False with the row as it stands when someone else
            decided first), or None when there is no such approval.
        """
        now = utcnow()
        params = self._a.params(
            id=approval_id,
            status=DECIDED_STATUS[action],
            decided_at=now,
            decided_by=actor,
            decided_by_name=actor_name,
            decision={"action": action, **details},
        )
        logged = self._event(now, event)

        async def body(tx: _Tx) -> Decision | None:
            if self._one_statement:
                rows = await tx.rows(self._sql["decide_logged"], {**params, **logged})
                if rows:
                    return Decision(True, *self._pair(rows[0]))
            else:
                rows = await tx.rows(self._sql["decide"], params)
                if rows:
                    await tx.rows(self._sql["event"], logged)
                    decided = self._a.load(rows[0])
                    run = await tx.rows(self._sql["run"], {"id": decided.run_id})
                    return Decision(True, decided, self._r.load(run[0]))
            rows = await tx.rows(self._sql["with_run"], {"id": approval_id})
            return Decision(False, *self._pair(rows[0])) if rows else None

        return await self._driver.run(body, write=not self._one_statement)

    async def with_run(self, approval_id: str) -> tuple[Approval, Run] | None:
        """Return an approval and its run, fresh from the database, or None."""

        async def body(tx: _Tx) -> tuple[Approval, Run] | None:
            rows = await tx.rows(self._sql["with_run"], {"id": approval_id})
            return self._pair(rows[0]) if rows else None

        return await self._driver.run(body, write=False)

    def _pair(self, row: Row) -> tuple[Approval, Run]:
        split = len(self._a.columns)
        return self._a.load(row[:split]), self._r.load(row[split:])

    async def finish(
        self,
        run_id: str,
        *,
        status: str,
        outcome: str,
        detail: str | None,
        applied: str | None,
        event: Mapping[str, Any],
    ) -> tuple[Run, bool]:
        """Mark the decision applied and move an active run to ``status``, atomically.

        Returns:
            The run as it stands and True when this call moved it (then ``event`` was
            written too).
        """
        now = utcnow()
        params = {
            **self._r.params(
                id=run_id, status=status, outcome=outcome, detail=detail, updated_at=now
            ),
            "applied": applied,
            "applied_at": self._a.params(applied_at=now)["applied_at"],
            **self._event(now, event),
        }

        async def body(tx: _Tx) -> tuple[Run, bool]:
            if self._one_statement:
                rows = await tx.rows(self._sql["finish_logged"], params)
            else:
                if applied is not None:
                    await tx.rows(self._sql["applied"], params)
                rows = await tx.rows(self._sql["finish"], params)
                if rows:
                    await tx.rows(self._sql["event"], params)
            if rows:
                return self._r.load(rows[0]), True
            rows = await tx.rows(self._sql["run"], {"id": run_id})
            return self._r.load(rows[0]), False

        return await self._driver.run(body, write=not self._one_statement)

    async def mark_shown(
        self, *, approval_id: str, channel: str, chat_id: str, message_id: str, status: str
    ) -> bool:
        """Record that a card of ``approval_id`` now shows ``status``; True when it changed.

        True too when the card was not recorded yet (a tap on it came before its post was
        recorded, see ``memory.deliveries.add_message``). One statement on every tap's
        path, after the card's edit (see ``bot.core.delivery.mark_refreshed``).
        """
        params = {
            "approval_id": approval_id,
            "channel": channel,
            "chat_id": chat_id,
            "message_id": message_id,
            **self._m.params(created_at=utcnow()),
        }

        async def body(tx: _Tx) -> bool:
            return bool(await tx.rows(self._sql["shown"], {**params, "status": status}))

        return await self._driver.run(body, write=not self._one_statement)

    def _event(self, now: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {c.name: None for c in self._e.columns if c.name != "id"}
        values.update(fields)
        values["at"] = now
        values["data"] = values["data"] or {}
        return {f"e_{k}": v for k, v in self._e.params(**values).items()}

    async def aclose(self) -> None:
        """Close the driver connection(s)."""
        await self._driver.aclose()


@asynccontextmanager
async def open_hotpath(
    url: str, dialect: Dialect, *, guard: asyncio.Lock | None = None
) -> AsyncIterator[HotPath]:
    """Open the hot path's driver connection(s) for ``url``; close them on exit.

    Args:
        url: the SQLAlchemy URL of Deskhand's database.
        dialect: the ORM engine's dialect (``engine.dialect``), whose column types encode
            and decode values here.
        guard: on SQLite, the lock the checkpointer holds around each of its transactions
            (``AsyncSqliteSaver.lock``); the hot path holds it around its own, so the two
            take turns rather than one waiting out the other's write lock.
    """
    driver: _Driver
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the hot path needs a SQLite file, not an in-memory database")
        conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in (*SQLITE_PRAGMAS, "PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0"):
            conn.execute(pragma)
        driver = _Sqlite(conn, guard)
    else:
        from psycopg_pool import AsyncConnectionPool

        # Each connection is checked before it is handed out, so one that a PostgreSQL
        # restart has cut is replaced instead of failing the next tap.
        pool: AsyncConnectionPool = AsyncConnectionPool(
            libpq_url(url),
            min_size=1,
            max_size=10,
            open=False,
            timeout=POOL_TIMEOUT_S,
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True},
        )
        await pool.open(wait=True)
        driver = _Postgres(pool)
    hot = HotPath(driver, dialect)
    try:
        yield hot
    finally:
        await hot.aclose()
