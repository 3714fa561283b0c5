"""Approve all low-risk, expiry, reminders and snooze, through real workflow runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.core.messages import ButtonAction, Inbound, Text, User
from bot.runtime import Runtime
from memory import events, records
from memory.models import Approval
from tests.bot.attention.conftest import at, attention
from tests.bot.attention.recording import RecordingNotifier
from tests.fixtures.runtime import ONBOARD, card_of, say

ANA = User("terminal", "ana", "Ana")


async def low_risk_requests(runtime: Runtime, count: int) -> list[str]:
    async with runtime.sessions.begin() as session:
        for i in range(count):
            await records.upsert_contact(
                session,
                email=f"c{i}@example.com",
                name=f"C {i}",
                company=None,
                need=None,
                source="test",
            )
    ids = []
    for i in range(count):
        response = await say(runtime, f"/run update_contact email=c{i}@example.com company=New{i}")
        ids.append(card_of(response).approval.id)
    return ids


async def test_approve_all_low_risk_with_three_decided_elsewhere(runtime: Runtime) -> None:
    ids = await low_risk_requests(runtime, 20)
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(datetime.now(UTC).replace(hour=8, minute=0))
    digest = notifier.of("digest")[0].view
    assert len(digest.low_risk_ids) == 20  # type: ignore[attr-defined]
    bo = User("terminal", "bo", "Bo")
    # Bo decides three in another chat, all at once, before Ana taps the digest button.
    await asyncio.gather(
        *(
            runtime.core.handle(Inbound(bo, action=ButtonAction(v, i)))
            for v, i in zip(("approve", "reject", "approve"), ids[:3], strict=True)
        )
    )
    result = await runtime.core.handle(Inbound(ANA, action=ButtonAction("approve_all", digest.key)))  # type: ignore[attr-defined]
    text = result.replies[0]
    assert isinstance(text, Text)
    assert text.text.startswith("Approved 17 low-risk request(s). 3 were already decided: ")
    assert "rejected by Bo" in text.text
    assert await runtime.manager.pending() == []
    assert await count(runtime, "approval.decided") == 20
    assert await count(runtime, "run.completed") + await count(runtime, "run.rejected") == 20


async def test_approve_all_racing_single_taps_resumes_each_run_once(runtime: Runtime) -> None:
    ids = await low_risk_requests(runtime, 10)
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(datetime.now(UTC).replace(hour=8, minute=0))
    digest = notifier.of("digest")[0].view
    bo = User("terminal", "bo", "Bo")
    taps = [runtime.core.handle(Inbound(bo, action=ButtonAction("approve", i))) for i in ids]
    batch = runtime.core.handle(Inbound(ANA, action=ButtonAction("approve_all", digest.key)))  # type: ignore[attr-defined]
    await asyncio.gather(*taps, batch)
    assert await count(runtime, "approval.decided") == 10
    assert await count(runtime, "run.completed") == 10


async def count(runtime: Runtime, kind: str) -> int:
    async with runtime.sessions() as session:
        return len(await events.of_kind(session, kind=kind, limit=1000))


async def test_expiry_rejects_by_default_and_the_run_continues(
    runtime: Runtime, smtp_sink: object
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    assert card.expires_at is not None
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(card.expires_at + timedelta(minutes=1))
    detail = await runtime.manager.detail(card.run_id)
    assert detail.run.status == "rejected"
    assert detail.approvals[0].status == "expired"
    assert "approval.expired" in [e.kind for e in detail.events]
    late = await say(runtime, f"/approve {card.id}")
    assert late.refused and "expired, rejected by default" in late.replies[0].text  # type: ignore[union-attr]


async def test_reminded_once_in_the_next_batch(runtime: Runtime) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    # The gate stamps the request with the wall clock; move it to a known day, so the
    # ticks below fall outside the fixture's quiet hours (22:00-07:00) whenever this runs.
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Approval)
            .where(Approval.id == card.id)
            .values(
                requested_at=at("2026-11-20T10:00:00"),
                remind_at=at("2026-11-21T10:00:00"),
                expires_at=at("2026-11-27T10:00:00"),
            )
        )
    notifier = RecordingNotifier("telegram")
    service = attention(runtime, notifier)
    await service.tick(at("2026-11-21T11:00:00"))
    await service.tick(at("2026-11-21T12:00:00"))
    reminders = [s for s in notifier.of("batch") if card.id in s.ids]
    assert len(reminders) == 1


async def test_snoozed_items_wait_until_the_snooze_ends(runtime: Runtime) -> None:
    ids = await low_risk_requests(runtime, 2)
    snoozed = await say(runtime, f"/snooze {ids[0]} 3h")
    assert not snoozed.refused
    assert snoozed.replies[0].text == f"Snoozed {ids[0]}; it comes back in 3 h."  # type: ignore[union-attr]
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Approval)
            .where(Approval.id == ids[0])
            .values(snoozed_until=at("2026-11-21T12:00:00"))
        )
    notifier = RecordingNotifier("telegram")
    service = attention(runtime, notifier)
    await service.tick(at("2026-11-21T10:00:00"))
    await service.tick(at("2026-11-21T12:00:00"))
    batches = notifier.of("batch")
    assert [b.ids for b in batches] == [(ids[1],), (ids[0],)]
    for bad, expected in (
        ("/snooze", "Usage"),
        (f"/snooze {ids[1]} forever", "not a duration"),
        (f"/snooze {ids[1]} 99w", "eight weeks"),
        ("/snooze ZZZZZ 1h", "no approval"),
    ):
        response = await say(runtime, bad)
        assert response.refused and expected in response.replies[0].text  # type: ignore[union-attr]
