"""Scheduled workflows: the source of truth the scheduler's job store mirrors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory.ids import new_id
from memory.models import Schedule


async def create(
    session: AsyncSession,
    *,
    workflow: str,
    description: str,
    inputs: dict[str, Any],
    created_by: str,
    cron: str | None = None,
    run_at: datetime | None = None,
    schedule_id: str | None = None,
) -> Schedule:
    """Add a schedule: a crontab (repeating) or ``run_at`` (once).

    Args:
        session: the session; the caller commits.
        workflow: the workflow to start.
        description: how the operator said it ("every monday 9:00").
        inputs: the validated workflow inputs.
        created_by: who scheduled it (a person, or ``run:<id>`` for a follow-up).
        cron: a 5-field crontab in the operator's time zone.
        run_at: when to run once.
        schedule_id: the id, when the caller derives it (a workflow's follow-up, so a
            re-run finds the schedule it made); a new one otherwise.

    Returns:
        The new schedule.
    """
    if (cron is None) == (run_at is None):
        raise ValueError("give exactly one of cron and run_at")
    schedule = Schedule(
        id=schedule_id or "S" + new_id(4),
        workflow=workflow,
        cron=cron,
        run_at=run_at,
        description=description,
        inputs=inputs,
        created_by=created_by,
    )
    session.add(schedule)
    await session.flush()
    return schedule


async def get(session: AsyncSession, *, schedule_id: str) -> Schedule | None:
    """Return one schedule, or None."""
    return await session.get(Schedule, schedule_id, populate_existing=True)


async def active(session: AsyncSession) -> Sequence[Schedule]:
    """Every active schedule, oldest first (for ``/schedules``)."""
    result = await session.scalars(
        select(Schedule).where(Schedule.active.is_(True)).order_by(Schedule.created_at)
    )
    return result.all()


async def next_once(session: AsyncSession, *, limit: int) -> Sequence[Schedule]:
    """The active one-off schedules that run soonest (overdue ones first).

    Args:
        session: the session.
        limit: how many to return.

    Returns:
        At most ``limit`` schedules by ``run_at``, read through ``ix_schedules_active_run_at``
        however many check-ins are planned.
    """
    result = await session.scalars(
        select(Schedule)
        .where(Schedule.active.is_(True), Schedule.run_at.is_not(None))
        .order_by(Schedule.run_at, Schedule.id)
        .limit(limit)
    )
    return result.all()


async def repeating(session: AsyncSession) -> Sequence[Schedule]:
    """Every active crontab schedule, oldest first.

    A schedule has exactly one of ``cron`` and ``run_at`` (see :func:`create`), so "no
    ``run_at``" selects the crontab ones through the same index as :func:`next_once`.
    """
    result = await session.scalars(
        select(Schedule)
        .where(Schedule.active.is_(True), Schedule.run_at.is_(None))
        .order_by(Schedule.created_at)
    )
    return result.all()


async def due_once(session: AsyncSession, *, now: datetime) -> Sequence[Schedule]:
    """Active one-off schedules whose time has come."""
    result = await session.scalars(
        select(Schedule).where(Schedule.active.is_(True), Schedule.run_at <= now)
    )
    return result.all()


async def deactivate(session: AsyncSession, *, schedule_id: str) -> bool:
    """Stop a schedule; True when it was active."""
    result = await session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
