"""End-to-end on SQLite and PostgreSQL: onboarding, the gate, and exactly one email."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import func, select

from bot.core.messages import ButtonAction, DecisionNotice, Inbound, RunStarted, Text, User
from bot.runtime import Runtime
from memory import decisions, runs
from memory.models import Approval, Contact, Effect, Event
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, OPERATOR, card_of, say


async def count_events(rt: Runtime, kind: str, run_id: str | None = None) -> int:
    async with rt.sessions() as s:
        stmt = select(func.count()).select_from(Event).where(Event.kind == kind)
        if run_id:
            stmt = stmt.where(Event.run_id == run_id)
        return int(await s.scalar(stmt) or 0)


async def test_approve_sends_exactly_one_email(runtime: Runtime, smtp_sink: SmtpSink) -> None:
    started = await say(runtime, ONBOARD)
    run = next(r for r in started.replies if isinstance(r, RunStarted)).run
    card = card_of(started).approval
    assert run.status == "waiting" and card.risk == "high"
    assert card.preview["to"] == "bo@example.com" and "Acme & Co" in card.preview["body"]
    assert smtp_sink.messages == []

    decided = await say(runtime, f"/approve {card.id.lower()}")
    notice = decided.replies[0]
    assert isinstance(notice, DecisionNotice)
    assert notice.run.status == "completed" and notice.run.outcome == "sent"
    assert len(smtp_sink.messages) == 1
    sent = smtp_sink.messages[0]
    assert sent["To"] == "bo@example.com" and sent["Subject"] == card.preview["subject"]

    async with runtime.sessions() as s:
        contact = await s.scalar(select(Contact).where(Contact.email == "bo@example.com"))
        assert contact is not None and contact.created_by == f"run:{run.id}"
        effect = await s.scalar(select(Effect).where(Effect.run_id == run.id))
        assert effect is not None and effect.status == "succeeded"
        assert sent["Message-ID"] == effect.result["message_id"]
        kinds = list(
            await s.scalars(select(Event.kind).where(Event.run_id == run.id).order_by(Event.id))
        )
    assert kinds[:5] == [
        "run.started",
        "contact.created",
        "draft.created",
        "approval.requested",
        "approval.decided",
    ]
    assert "effect.succeeded" in kinds and kinds[-1] == "run.completed"


async def test_reject_sends_nothing_and_records_reason(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    decided = await say(runtime, f"/reject {card.id} budget is on hold")
    notice = decided.replies[0]
    assert isinstance(notice, DecisionNotice)
    assert notice.run.status == "rejected" and "budget is on hold" in (notice.run.detail or "")
    assert notice.approval.reason == "budget is on hold"
    await asyncio.sleep(0.2)
    assert smtp_sink.messages == []
    async with runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Effect)) == 0


async def test_edit_then_approve_sends_the_edited_email(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    first = card_of(await say(runtime, ONBOARD)).approval
    edited = await say(
        runtime,
        f'/edit {first.id} subject="Welcome, Bo" body="Hi Bo,\\n\\nShort and sweet.\\n\\nAna"',
    )
    assert not edited.refused
    second = card_of(edited).approval
    assert second.id != first.id and second.status == "pending"
    assert second.preview["subject"] == "Welcome, Bo"
    assert smtp_sink.messages == []
    # The first card is closed as edited; deciding it again is refused.
    again = await say(runtime, f"/approve {first.id}")
    assert again.refused and "already edited by Ana" in again.replies[0].text  # type: ignore[union-attr]

    await say(runtime, f"/approve {second.id}")
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert message["Subject"] == "Welcome, Bo"
    assert message.get_content().strip() == "Hi Bo,\n\nShort and sweet.\n\nAna"


async def test_an_edit_that_does_not_validate_changes_nothing(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval

    refused = await say(runtime, f"/edit {card.id} to=not-an-address")

    assert refused.refused
    async with runtime.sessions() as s:
        stored = await s.get(Approval, card.id)
        assert stored is not None and stored.status == "pending" and stored.decision is None
    assert await count_events(runtime, "approval.decided", card.run_id) == 0
    assert not (await say(runtime, f"/approve {card.id}")).refused
    assert len(smtp_sink.messages) == 1


async def test_fifty_concurrent_approvals_one_decision_one_email(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    users = [User("terminal", f"op{i}", f"Op{i}") for i in range(50)]
    responses = await asyncio.gather(
        *(runtime.core.handle(Inbound(u, action=ButtonAction("approve", card.id))) for u in users)
    )
    winners = [r for r in responses if not r.refused]
    assert len(winners) == 1
    notice = winners[0].replies[0]
    assert isinstance(notice, DecisionNotice)
    winner_name = notice.approval.decided_text.split(" by ")[1].split(" at ")[0]  # type: ignore[union-attr]
    for response in responses:
        if response.refused:
            text = response.replies[0]
            assert isinstance(text, Text) and f"already approved by {winner_name} at" in text.text
    assert len(smtp_sink.messages) == 1
    run_id = card.run_id
    assert await count_events(runtime, "approval.decided", run_id) == 1
    assert await count_events(runtime, "run.completed", run_id) == 1
    assert await count_events(runtime, "effect.succeeded", run_id) == 1
    assert await count_events(runtime, "approval.refused", run_id) == 49
    async with runtime.sessions() as s:
        row = await s.get(Approval, card.id)
        assert row is not None and row.applied_at is not None


async def test_cancel_closes_the_approval(runtime: Runtime, smtp_sink: SmtpSink) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    cancelled = await say(runtime, f"/cancel {card.run_id} client went quiet")
    assert not cancelled.refused
    late = await say(runtime, f"/approve {card.id}")
    assert late.refused and "already cancelled" in late.replies[0].text  # type: ignore[union-attr]
    again = await say(runtime, f"/cancel {card.run_id}")
    assert again.refused and "already cancelled" in again.replies[0].text  # type: ignore[union-attr]
    assert smtp_sink.messages == []


async def test_a_press_is_answered_at_commit_and_the_outcome_follows(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    smtp_sink.on_message = lambda message: time.sleep(0.5)  # the send is slow

    pressed = await runtime.core.handle(
        Inbound(OPERATOR, action=ButtonAction("approve", card.id)), resume_later=True
    )

    (notice,) = pressed.replies
    assert isinstance(notice, DecisionNotice)
    assert notice.approval.status == "approved"
    assert (notice.approval.decided_text or "").startswith("approved by Ana at ")
    assert notice.run.status == "waiting"  # answered before the run moved on
    assert smtp_sink.messages == [] and pressed.later is not None
    again = await runtime.core.handle(Inbound(OPERATOR, action=ButtonAction("approve", card.id)))
    assert again.refused  # already decided, whatever the resume is doing

    settled = await pressed.later
    (outcome,) = settled.replies
    assert isinstance(outcome, DecisionNotice)
    assert (outcome.run.status, outcome.run.outcome) == ("completed", "sent")
    assert len(smtp_sink.messages) == 1
    assert await count_events(runtime, "run.completed", notice.run.id) == 1


async def test_a_decision_whose_resume_never_ran_is_applied_by_the_tick(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    # Commit a decision the way a press does, with no resume after it (as if the resume
    # had failed).
    decided = await decisions.decide(
        runtime.sessions,
        approval_id=card.id,
        action="approve",
        actor="terminal:local",
        actor_name="Ana",
        details={},
    )
    assert decided is not None and decided.won

    too_soon = await runtime.manager.resume_stalled(before=decided.approval.decided_at)
    assert too_soon == [] and smtp_sink.messages == []

    later = decided.approval.decided_at + timedelta(minutes=5)
    (report,) = await runtime.manager.resume_stalled(before=later)
    assert (report.run.status, report.run.outcome) == ("completed", "sent")
    assert len(smtp_sink.messages) == 1
    assert await runtime.manager.resume_stalled(before=later) == []
    assert len(smtp_sink.messages) == 1


async def test_a_run_left_running_is_continued_by_the_tick(runtime: Runtime) -> None:
    """A run whose start could not finish (the database went away) is not left "running"
    with nobody working on it: the tick carries it on to its gate, once."""
    async with runtime.sessions.begin() as session:
        stranded = await runs.create(
            session,
            workflow="onboarding",
            workflow_version="2",
            inputs={"name": "Bo Diaz", "email": "bo@example.com"},
            started_by="terminal:local",
        )
    created = stranded.updated_at
    assert await runtime.manager.resume_stalled(before=created) == []

    (report,) = await runtime.manager.resume_stalled(before=created + timedelta(minutes=5))
    assert report.run.status == "waiting" and report.approval is not None
    assert [a.run_id for a in await runtime.manager.pending()] == [stranded.id]
    assert await runtime.manager.resume_stalled(before=created + timedelta(minutes=5)) == []
