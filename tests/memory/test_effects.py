"""The effects ledger on a real SQLite file, and its race-sensitive parts on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from memory import effects, events
from memory.db import Sessions, create_engine, create_sessions
from memory.models import Base
from tests.fixtures.db import async_url

REQUEST = {"to": "ada@example.com", "subject": "Hello"}


async def _record(sessions: Sessions, key: str = "run1:email", run_id: str | None = "run1") -> None:
    async with sessions() as session, session.begin():
        await effects.record_intent(session, key=key, kind="email", run_id=run_id, request=REQUEST)


async def _status(sessions: Sessions, key: str = "run1:email") -> tuple[str, int] | None:
    async with sessions() as session:
        effect = await effects.get(session, key=key)
    return None if effect is None else (effect.status, effect.attempts)


async def test_record_intent_inserts_pending_row(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        effect = await effects.record_intent(
            session, key="run1:email", kind="email", run_id="run1", request=REQUEST
        )
        assert effect.status == "pending"
        assert effect.attempts == 0
    async with sessions() as session:
        stored = await effects.get(session, key="run1:email")
    assert stored is not None
    assert (stored.kind, stored.run_id, stored.request) == ("email", "run1", REQUEST)
    assert stored.created_at.tzinfo is not None


async def test_record_intent_returns_existing_row_unchanged(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert await effects.mark_attempt(session, key="run1:email")
        assert await effects.mark_succeeded(session, key="run1:email", result={"ok": True})
    async with sessions() as session, session.begin():
        again = await effects.record_intent(
            session, key="run1:email", kind="other", run_id="run2", request={"x": 1}
        )
    assert (again.status, again.kind, again.run_id, again.request) == (
        "succeeded",
        "email",
        "run1",
        REQUEST,
    )
    assert again.result == {"ok": True}


async def test_get_unknown_key_is_none(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await effects.get(session, key="nope") is None


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_record_intent_rejects_bad_keys(sessions: Sessions, key: str) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(ValueError, match="1 to 200"):
            await effects.record_intent(session, key=key, kind="email", run_id=None, request={})


async def test_mark_attempt_counts_and_compares(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert await effects.mark_attempt(session, key="run1:email", expected_attempts=0)
        # A second worker that also read attempts == 0 loses.
        assert not await effects.mark_attempt(session, key="run1:email", expected_attempts=0)
        assert await effects.mark_attempt(session, key="run1:email")
    assert await _status(sessions) == ("pending", 2)


async def test_terminal_states_only_leave_pending(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert await effects.mark_failed(session, key="run1:email", error="550 no such user")
        # Once failed, nothing but reopen moves it.
        assert not await effects.mark_in_doubt(session, key="run1:email", error="x")
        assert not await effects.mark_failed(session, key="run1:email", error="x")
        assert not await effects.mark_attempt(session, key="run1:email")
        assert not await effects.mark_succeeded(session, key="run1:email", result={})
    async with sessions() as session:
        failed = await effects.get(session, key="run1:email")
    assert failed is not None and failed.error == "550 no such user"


async def test_reopen_failed_row(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert await effects.mark_failed(session, key="run1:email", error="boom")
        assert await effects.reopen(session, key="run1:email", request={"to": "new@example.com"})
        assert not await effects.reopen(session, key="run1:email")
    async with sessions() as session:
        row = await effects.get(session, key="run1:email")
    assert row is not None
    assert (row.status, row.error, row.request) == ("pending", None, {"to": "new@example.com"})


async def test_success_beats_a_peers_in_doubt_guess(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert await effects.mark_in_doubt(session, key="run1:email", error="looked dead")
        assert await effects.mark_succeeded(session, key="run1:email", result={"id": "m1"})
    assert await _status(sessions) == ("succeeded", 0)


async def test_in_doubt_lists_oldest_first_with_limit(sessions: Sessions) -> None:
    for key in ("a", "b", "c", "d"):
        await _record(sessions, key=key)
    for key in ("c", "a", "b"):
        async with sessions() as session, session.begin():
            assert await effects.mark_in_doubt(session, key=key, error="died")
    async with sessions() as session:
        listed = await effects.in_doubt(session, limit=2)
        everything = await effects.in_doubt(session)
    assert [e.key for e in listed] == ["c", "a"]
    assert [e.key for e in everything] == ["c", "a", "b"]


async def test_resolve_in_doubt_as_succeeded_appends_event(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        await effects.mark_in_doubt(session, key="run1:email", error="connection dropped")
    async with sessions() as session, session.begin():
        won = await effects.resolve(
            session,
            key="run1:email",
            outcome="succeeded",
            actor="telegram:42",
            note="found it in Sent",
        )
    assert won
    async with sessions() as session:
        row = await effects.get(session, key="run1:email")
        resolved = await events.of_kind(session, kind="effect.resolved")
        left = await effects.in_doubt(session)
    assert row is not None and row.status == "succeeded"
    assert row.result == {"resolved_by": "telegram:42", "note": "found it in Sent"}
    assert len(resolved) == 1
    event = resolved[0]
    assert (event.actor, event.run_id, event.reason) == ("telegram:42", "run1", "found it in Sent")
    assert event.data == {"key": "run1:email", "outcome": "succeeded"}
    assert left == []


async def test_resolve_in_doubt_as_failed(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        await effects.mark_in_doubt(session, key="run1:email", error="timeout")
        assert await effects.resolve(
            session, key="run1:email", outcome="failed", actor="terminal:local", note=None
        )
    assert await _status(sessions) == ("failed", 0)


async def test_resolve_only_from_in_doubt(sessions: Sessions) -> None:
    await _record(sessions)
    async with sessions() as session, session.begin():
        assert not await effects.resolve(
            session, key="run1:email", outcome="succeeded", actor="terminal:local"
        )
        assert not await effects.resolve(
            session, key="missing", outcome="failed", actor="terminal:local"
        )
    async with sessions() as session:
        assert await events.of_kind(session, kind="effect.resolved") == []
    assert await _status(sessions) == ("pending", 0)


async def test_resolve_rejects_unknown_outcome(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(ValueError, match="outcome"):
            await effects.resolve(
                session,
                key="k",
                outcome="maybe",  # type: ignore[arg-type]
                actor="terminal:local",
            )


async def test_concurrent_record_intent_same_key_sqlite(sessions: Sessions) -> None:
    async def one(i: int) -> str:
        async with sessions() as session, session.begin():
            effect = await effects.record_intent(
                session, key="shared", kind="email", run_id=None, request={"i": i}
            )
            return effect.key

    assert await asyncio.gather(*(one(i) for i in range(10))) == ["shared"] * 10


# -- PostgreSQL ----------------------------------------------------------------------


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(async_url(pg_url))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_ledger_lifecycle_on_postgres(pg_engine: AsyncEngine) -> None:
    sessions = create_sessions(pg_engine)
    await _record(sessions)
    await _record(sessions)  # a repeat is a no-op, not a unique violation
    async with sessions() as session, session.begin():
        assert await effects.mark_attempt(session, key="run1:email", expected_attempts=0)
        assert await effects.mark_in_doubt(session, key="run1:email", error="dropped")
    async with sessions() as session, session.begin():
        doubtful = await effects.in_doubt(session, limit=10)
        assert [e.key for e in doubtful] == ["run1:email"]
        assert await effects.resolve(
            session, key="run1:email", outcome="succeeded", actor="slack:U1", note="seen"
        )
    async with sessions() as session:
        row = await effects.get(session, key="run1:email")
        resolved = await events.of_kind(session, kind="effect.resolved")
    assert row is not None and (row.status, row.attempts) == ("succeeded", 1)
    assert [e.run_id for e in resolved] == ["run1"]


async def test_transitions_race_on_postgres(pg_engine: AsyncEngine) -> None:
    """Many connections race for the same row: exactly one insert and one CAS win."""
    sessions = create_sessions(pg_engine)
    start = asyncio.Event()

    async def record(i: int) -> str:
        await start.wait()
        async with sessions() as session, session.begin():
            effect = await effects.record_intent(
                session, key="shared", kind="email", run_id=None, request={"i": i}
            )
            return effect.status

    async def claim() -> bool:
        await start.wait()
        async with sessions() as session, session.begin():
            return await effects.mark_attempt(session, key="shared", expected_attempts=0)

    tasks = [asyncio.create_task(record(i)) for i in range(20)]
    start.set()
    assert await asyncio.gather(*tasks) == ["pending"] * 20

    start.clear()
    claims = [asyncio.create_task(claim()) for _ in range(20)]
    start.set()
    assert sorted(await asyncio.gather(*claims)) == [False] * 19 + [True]
    assert await _status(sessions, key="shared") == ("pending", 1)
