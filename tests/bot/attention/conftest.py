"""Fixtures for the attention tests: requests created at simulated times."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.attention.policy import AttentionPolicy, QuietHours
from bot.attention.service import Attention
from bot.runtime import Runtime
from memory import approvals, runs

POLICY = AttentionPolicy(
    zone=ZoneInfo("UTC"),
    batch_minutes=60,
    digest_at=time(8, 0),
    quiet=QuietHours.parse("22:00-07:00"),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def request(
    rt: Runtime,
    risk: str,
    *,
    title: str = "Request",
    remind_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> str:
    """A pending approval of ``risk`` on a run of its own (no graph behind it)."""
    async with rt.sessions.begin() as session:
        run = await runs.create(
            session, workflow="onboarding", workflow_version="t", inputs={}, started_by="test"
        )
        approval = await approvals.create(
            session,
            run_id=run.id,
            gate_key="g:0",
            workflow="onboarding",
            step="s",
            title=title,
            summary=f"{risk} thing",
            preview={"kind": "note"},
            risk=risk,
            allowed_actions=("approve", "reject"),
            remind_at=remind_at,
            expires_at=expires_at,
        )
        return approval.id


def attention(
    rt: Runtime, *notifiers: object, instance: str = "a", policy: AttentionPolicy = POLICY
) -> Attention:
    return Attention(
        manager=rt.manager,
        sessions=rt.sessions,
        policy=policy,
        notifiers=list(notifiers),
        instance=instance,  # type: ignore[arg-type]
        schedules=rt.schedules,
    )
