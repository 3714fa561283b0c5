"""Assemble the digest from the database: a handful of indexed, limited queries.

No query scans the event log or loads every pending approval: each list is a ``LIMIT``
over an index, and each total a ``COUNT`` over the same index.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.views import ApprovalView, DigestView, DoubtItem, RunView, ScheduledItem
from graph.retry import RETRYABLE
from memory.models import Approval, Effect, Run

PAGE = 25
FINISHED = ("completed", "rejected", "cancelled")


def _waiting(now: datetime) -> Any:
    return (Approval.status == "pending") & or_(
        Approval.snoozed_until.is_(None), Approval.snoozed_until <= now
    )


async def _count(session: AsyncSession, stmt: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def assemble(
    session: AsyncSession,
    *,
    key: str,
    period_start: datetime,
    now: datetime,
    scheduled: tuple[ScheduledItem, ...] = (),
    page: int = PAGE,
    zone: tzinfo = UTC,
) -> DigestView:
    """Build the digest for ``period_start``..``now``.

    Args:
        session: an open session.
        key: the digest's identity (one per local day).
        period_start: where the previous digest ended.
        now: the end of the period.
        scheduled: what will happen next (from the scheduler).
        page: how many items each list shows.
        zone: the operator's time zone, which the digest shows its times in.

    Returns:
        The digest; lists hold at most ``page`` items, totals count everything.
    """
    failed = select(Run.id).where(Run.status == "failed", Run.updated_at >= period_start)
    failed_rows = await session.scalars(
        select(Run)
        .where(Run.status == "failed", Run.updated_at >= period_start)
        .order_by(Run.updated_at.desc())
        .limit(page)
    )
    doubt = select(Effect.key).where(Effect.status == "in_doubt")
    doubt_rows = await session.scalars(
        select(Effect).where(Effect.status == "in_doubt").order_by(Effect.updated_at).limit(page)
    )
    unsent = (Run.status.not_in(("cancelled", "failed"))) & Run.outcome.in_(RETRYABLE)
    unsent_rows = await session.scalars(
        select(Run).where(unsent).order_by(Run.updated_at.desc()).limit(page)
    )
    unsent_total = await _count(session, select(Run.id).where(unsent))
    waiting = select(Approval.id).where(_waiting(now))
    waiting_rows = await session.scalars(
        select(Approval)
        .where(_waiting(now))
        .order_by(Approval.requested_at, Approval.id)
        .limit(page)
    )
    done = select(Run.id).where(Run.status.in_(FINISHED), Run.updated_at >= period_start)
    done_rows = await session.scalars(
        select(Run)
        .where(Run.status.in_(FINISHED), Run.updated_at >= period_start)
        .order_by(Run.updated_at.desc())
        .limit(page)
    )
    return DigestView(
        key=key,
        period_start=period_start,
        period_end=now,
        failed=tuple(RunView.of(r) for r in failed_rows),
        failed_total=await _count(session, failed),
        in_doubt=tuple(
            DoubtItem(
                e.run_id or "?", str(e.request.get("to", "?")), str(e.request.get("subject", ""))
            )
            for e in doubt_rows
        ),
        in_doubt_total=await _count(session, doubt),
        waiting=tuple(ApprovalView.of(a) for a in waiting_rows),
        waiting_total=await _count(session, waiting),
        completed=tuple(RunView.of(r) for r in done_rows),
        completed_total=await _count(session, done),
        scheduled=scheduled,
        not_sent=tuple(RunView.of(r) for r in unsent_rows),
        not_sent_total=unsent_total,
        zone=zone,
    )
