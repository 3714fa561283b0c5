"""Expiry and snoozing: what happens to approvals nobody decides.

At expiry an approval takes its ``on_expiry`` action (reject unless the workflow says
otherwise) through the same atomic path as a person's decision, and the run continues.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from graph.errors import AlreadyDecided, NotFound
from graph.reports import DecideReport, RunReport, describe_decision
from memory import approvals, events
from memory.db import Sessions
from memory.models import Approval


async def expire_due(
    *, sessions: Sessions, apply: Callable[[Approval], Awaitable[RunReport]], now: datetime
) -> list[DecideReport]:
    """Expire every pending approval past its time and resume each run once.

    Args:
        sessions: the session factory.
        apply: resumes a run with a committed decision (the run manager's).
        now: the current time.

    Returns:
        One report per approval this call expired (others may have raced it).
    """
    async with sessions() as session:
        due = await approvals.expired_due(session, now=now)
    reports = []
    for candidate in due:
        async with sessions.begin() as session:
            if not await approvals.expire(session, approval_id=candidate.id, now=now):
                continue  # decided or expired elsewhere in the meantime
            approval = await approvals.get(session, approval_id=candidate.id)
            assert approval is not None
            await events.append(
                session,
                actor="system:expiry",
                kind="approval.expired",
                summary=f"Approval {approval.id} {describe_decision(approval)}",
                run_id=approval.run_id,
                approval_id=approval.id,
                workflow=approval.workflow,
            )
        reports.append(DecideReport(approval=approval, report=await apply(approval)))
    return reports


async def snooze(*, sessions: Sessions, approval_id: str, until: datetime, actor: str) -> Approval:
    """Keep a pending approval out of batches and digests until ``until``.

    Raises:
        NotFound: no such approval.
        AlreadyDecided: it is no longer pending.
    """
    async with sessions.begin() as session:
        current = await approvals.get(session, approval_id=approval_id)
        if current is None:
            raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
        if not await approvals.snooze(session, approval_id=approval_id, until=until):
            raise AlreadyDecided(
                f"Approval {approval_id} was already {describe_decision(current)}.",
                approval=current,
            )
        await events.append(
            session,
            actor=actor,
            kind="approval.snoozed",
            summary=f"Approval {approval_id} snoozed until {until:%Y-%m-%d %H:%M UTC}",
            run_id=current.run_id,
            approval_id=approval_id,
        )
        fresh = await approvals.get(session, approval_id=approval_id)
    assert fresh is not None
    return fresh
