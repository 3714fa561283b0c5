"""memory/decisions.py: the first decision wins, one event each, on both backends."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from memory import approvals, decisions, deliveries, events, runs
from memory.approvals import Action
from memory.db import Sessions, create_engine, create_sessions
from memory.decisions import Decision
from memory.models import Approval, Base, Event
from tests.fixtures.db import async_url

PREVIEW = {"kind": "email", "to": "ana@example.com", "subject": "Caf\u00e9 <&> \u201cquotes\u201d"}


@dataclass
class Store:
    sessions: Sessions


@asynccontextmanager
async def _open_store(database_url: str) -> AsyncIterator[Store]:
    url = async_url(database_url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield Store(create_sessions(engine))
    finally:
        await engine.dispose()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with _open_store(database_url) as opened:
        yield opened


async def _waiting_run(store: Store, *, expires: datetime | None = None) -> Approval:
    async with store.sessions.begin() as session:
        run = await runs.create(
            session, workflow="onboarding", workflow_version="2", inputs={"n": 1}, started_by="t"
        )
        approval = await approvals.create(
            session,
            run_id=run.id,
            gate_key="send:0",
            workflow="onboarding",
            step="send",
            title="Send the welcome email",
            summary="To Ana",
            preview=PREVIEW,
            risk="high",
            allowed_actions=("approve", "reject"),
            expires_at=expires,
        )
    return approval


async def _decide(
    store: Store,
    approval: Approval,
    action: Action = "approve",
    *,
    actor: str = "t",
    actor_name: str | None = None,
    details: dict[str, Any] | None = None,
    approval_id: str | None = None,
) -> Decision | None:
    return await decisions.decide(
        store.sessions,
        approval_id=approval_id or approval.id,
        action=action,
        actor=actor,
        actor_name=actor_name,
        details=details or {},
    )


async def test_with_run_reads_the_approval_and_its_run(store: Store) -> None:
    expires = datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC)
    written = await _waiting_run(store, expires=expires)

    pair = await decisions.with_run(store.sessions, approval_id=written.id)

    assert pair is not None
    approval = pair[0]
    assert approval.preview == PREVIEW
    assert approval.expires_at == expires
    assert approval.requested_at == written.requested_at
    assert approval.allowed_actions == {"actions": ["approve", "reject"]}
    assert approval.status == "pending" and approval.decision is None
    assert pair[1].id == written.run_id and pair[1].inputs == {"n": 1}
    assert await decisions.with_run(store.sessions, approval_id="NOPE1") is None


async def test_the_decision_and_its_event_are_stored(store: Store) -> None:
    written = await _waiting_run(store)
    before = datetime.now(UTC)

    outcome = await _decide(
        store,
        written,
        actor="telegram:1",
        actor_name="Ana \u00c9",
        details={"note": written.title},
    )

    assert outcome is not None and outcome.won
    async with store.sessions() as session:
        stored = await approvals.get(session, approval_id=written.id)
        logged = (await session.scalars(select(Event).where(Event.approval_id == written.id))).all()
    assert stored is not None
    assert stored.status == "approved" and stored.decided_by_name == "Ana \u00c9"
    assert stored.decision == {"action": "approve", "note": "Send the welcome email"}
    assert stored.decided_at is not None and before <= stored.decided_at <= datetime.now(UTC)
    assert stored.decided_at == outcome.approval.decided_at
    assert [(e.kind, e.data, e.actor) for e in logged] == [
        ("approval.decided", {"action": "approve"}, "telegram:1")
    ]
    assert logged[0].summary == f"Approval {written.id} approved by Ana \u00c9"
    assert logged[0].at - stored.decided_at < timedelta(seconds=1)


async def test_first_of_many_concurrent_decisions_wins(store: Store) -> None:
    written = await _waiting_run(store)

    results = await asyncio.gather(
        *(
            _decide(store, written, "approve" if i % 2 else "reject", actor=f"slack:U{i}")
            for i in range(20)
        )
    )

    winners = [r for r in results if r is not None and r.won]
    assert len(winners) == 1
    losers = [r for r in results if r is not None and not r.won]
    assert len(losers) == 19
    assert {r.approval.decided_by for r in losers} == {winners[0].approval.decided_by}
    async with store.sessions() as session:
        count = len((await session.scalars(select(Event))).all())
    assert count == 1


async def test_the_decision_returns_the_row_and_its_run(store: Store) -> None:
    written = await _waiting_run(store)

    won = await _decide(store, written, "reject", details={"reason": "too soon"})
    lost = await _decide(store, written, actor="u")
    missing = await _decide(store, written, actor="u", approval_id="NOPE1")

    assert won is not None and won.won and lost is not None and not lost.won
    for outcome in (won, lost):
        assert outcome.approval.status == "rejected" and outcome.approval.decided_by == "t"
        assert outcome.approval.decision == {"action": "reject", "reason": "too soon"}
        assert outcome.run.id == written.run_id and outcome.run.inputs == {"n": 1}
    assert missing is None
    async with store.sessions() as session:
        assert len((await session.scalars(select(Event))).all()) == 1


async def test_finish_marks_applied_moves_the_run_once_and_logs_it(store: Store) -> None:
    written = await _waiting_run(store)
    await _decide(store, written)

    async with store.sessions() as session:
        run = await runs.get(session, run_id=written.run_id)
    assert run is not None

    first, moved = await decisions.finish(
        store.sessions,
        run=run,
        status="completed",
        outcome="sent",
        detail="Sent to ana@example.com",
        applied=written.id,
    )
    second, moved_again = await decisions.finish(
        store.sessions, run=run, status="failed", outcome="x", detail=None, applied=written.id
    )

    assert moved and not moved_again
    assert (first.status, first.outcome, first.detail) == (
        "completed",
        "sent",
        "Sent to ana@example.com",
    )
    assert (second.status, second.outcome) == ("completed", "sent")
    async with store.sessions() as session:
        stored_run = await runs.get(session, run_id=written.run_id)
        applied = await approvals.get(session, approval_id=written.id)
        kinds = [e.kind for e in await events.for_run(session, run_id=written.run_id)]
    assert stored_run is not None and stored_run.updated_at == first.updated_at
    assert applied is not None and applied.applied_at is not None
    assert applied.applied_at - first.updated_at < timedelta(seconds=1)
    assert kinds.count("run.completed") == 1


async def test_mark_shown_records_what_a_card_shows_once(store: Store) -> None:
    written = await _waiting_run(store)
    async with store.sessions.begin() as session:
        await deliveries.add_message(
            session,
            approval_id=written.id,
            channel="telegram",
            chat_id="111",
            message_id="42",
            rendered_status="pending",
        )
    where = {"channel": "telegram", "chat_id": "111", "message_id": "42"}
    card = {"approval_id": written.id, **where}

    assert await decisions.mark_shown(store.sessions, **card, status="approved")
    assert not await decisions.mark_shown(
        store.sessions, **card, status="approved"
    )  # already shows it
    async with store.sessions() as session:
        row = await deliveries.find_message(session, **where)
    assert row is not None and row.rendered_status == "approved"


async def test_what_a_card_shows_only_moves_forward(store: Store) -> None:
    # Whoever claims a state first edits the card; a late writer (a stale dispatcher pass,
    # a decision's edit after the outcome was claimed) records nothing and edits nothing.
    written = await _waiting_run(store)
    where = {"channel": "telegram", "chat_id": "111", "message_id": "43"}
    card = {"approval_id": written.id, **where}
    async with store.sessions.begin() as session:
        await deliveries.add_message(session, **card, rendered_status="pending")

    assert await decisions.mark_shown(store.sessions, **card, status="approved+run")
    assert not await decisions.mark_shown(store.sessions, **card, status="approved")
    assert not await decisions.mark_shown(store.sessions, **card, status="pending")
    async with store.sessions.begin() as session:  # a stale give-back leaves a later claim
        await deliveries.give_back(session, **where, status="approved")
    async with store.sessions() as session:
        row = await deliveries.find_message(session, **where)
    assert row is not None and row.rendered_status == "approved+run"

    async with store.sessions.begin() as session:  # its own claim's edit failed
        await deliveries.give_back(session, **where, status="approved+run")
    assert await decisions.mark_shown(store.sessions, **card, status="approved")


async def test_a_card_tapped_before_its_post_is_recorded_keeps_what_the_tap_showed(
    store: Store,
) -> None:
    # The tap's handler edits the card and records it first; the poster's record comes
    # second, with the status the card had when it was posted, and must not undo it.
    written = await _waiting_run(store)
    where = {"channel": "slack", "chat_id": "C0OPS", "message_id": "1700000000.000100"}
    assert await decisions.mark_shown(
        store.sessions, approval_id=written.id, **where, status="approved"
    )
    async with store.sessions.begin() as session:
        recorded = await deliveries.add_message(
            session, approval_id=written.id, **where, rendered_status="pending"
        )
    assert recorded is False
    async with store.sessions() as session:
        row = await deliveries.find_message(session, **where)
        shown = await deliveries.messages(session, approval_id=written.id)
    assert row is not None and row.rendered_status == "approved" and row.created_at is not None
    assert [m.message_id for m in shown] == [where["message_id"]]


async def test_sqlite_waits_for_another_writer_without_blocking_the_loop(sqlite_url: str) -> None:
    async with _open_store(sqlite_url) as store:
        written = await _waiting_run(store)
        # Another connection (a `deskhand approve` in a shell, say) holds the write lock.
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        deciding = asyncio.create_task(_decide(store, written))
        began = time.monotonic()
        for _ in range(10):  # the loop keeps running while the decision waits
            await asyncio.sleep(0.01)
        assert time.monotonic() - began < 1.0 and not deciding.done()
        other.execute("COMMIT")
        other.close()
        outcome = await asyncio.wait_for(deciding, 5)
        assert outcome is not None and outcome.won
