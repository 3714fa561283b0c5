"""The delivery claims: their keys, and old claims deleted while other jobs' stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import select

from bot.core.once import Once
from bot.slack.replays import JOB_ID, KEEP, delivery_key
from memory.db import Sessions
from memory.models import JobClaim


def test_events_are_keyed_by_event_id_in_either_mode() -> None:
    body = {"type": "event_callback", "event_id": "Ev0ONE", "event": {"type": "message"}}
    http = AsyncBoltRequest(body="{}", headers={"x-slack-signature": "v0=aa"})
    socket = AsyncBoltRequest(body={}, mode="socket_mode")
    assert delivery_key(http, body) == delivery_key(socket, body)
    assert delivery_key(http, body) != delivery_key(http, {**body, "event_id": "Ev0TWO"})


def test_other_requests_are_keyed_by_signature_over_http_only() -> None:
    command = {"command": "/deskhand", "text": "pending"}
    one = AsyncBoltRequest(body="x", headers={"x-slack-signature": "v0=aa"})
    two = AsyncBoltRequest(body="x", headers={"x-slack-signature": "v0=bb"})
    assert delivery_key(one, command) != delivery_key(two, command)
    assert len(delivery_key(one, command) or "") <= 60  # job_claims.fire_key
    assert delivery_key(AsyncBoltRequest(body={}, mode="socket_mode"), command) is None


async def test_claims_older_than_an_hour_are_deleted_other_jobs_kept(sessions: Sessions) -> None:
    old = datetime.now(UTC) - KEEP - timedelta(minutes=1)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                JobClaim(job_id=JOB_ID, fire_key="sig:old", claimed_at=old, claimed_by="a"),
                JobClaim(job_id="batch:slack", fire_key="w1", claimed_at=old, claimed_by="a"),
            ]
        )
    once = Once(sessions, job_id=JOB_ID, keep=KEEP)
    once._pruned -= 3600  # as if the last clean-up was long ago
    assert await once.first("sig:new")
    assert not await once.first("sig:new")
    async with sessions() as session:
        left = (await session.execute(select(JobClaim.job_id, JobClaim.fire_key))).all()
    assert sorted(left) == [("batch:slack", "w1"), (JOB_ID, "sig:new")]
