"""Append-only event log: the audit trail and the digest's source.

Rows are only ever inserted; there is deliberately no update or delete here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory.models import Event, utcnow

_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_INSERT = insert(_EVENTS)


async def append(
    session: AsyncSession,
    *,
    actor: str,
    kind: str,
    summary: str,
    run_id: str | None = None,
    approval_id: str | None = None,
    workflow: str | None = None,
    workflow_version: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction.

    Args:
        session: the session whose transaction the event joins.
        actor: who acted: ``"telegram:123"``, ``"terminal:local"``, ``"system"``, a workflow.
        kind: dotted event kind, e.g. ``"approval.decided"``.
        summary: one human-readable line.
        run_id: the run concerned, if any.
        approval_id: the approval concerned, if any.
        workflow: workflow name, for events emitted by a workflow.
        workflow_version: the version of that workflow.
        reason: why, when a person gave a reason.
        data: structured details (JSON-serialisable).

    A Core ``INSERT`` on the table, not an ORM one: events are never read back in the
    transaction that writes them, and this is on every decision's path, where the ORM's
    DML path cost about 1 ms more a statement (``python -m bench.approvals``). The
    statement is built once and given its values as parameters, so SQLAlchemy finds its
    compiled form without building and hashing a new statement per event.
    """
    await session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor": actor,
            "kind": kind,
            "summary": summary,
            "run_id": run_id,
            "approval_id": approval_id,
            "workflow": workflow,
            "workflow_version": workflow_version,
            "reason": reason,
            "data": data or {},
        },
    )


async def for_run(session: AsyncSession, *, run_id: str) -> Sequence[Event]:
    """Return a run's events, oldest first.

    Args:
        session: an open session.
        run_id: the run.

    Returns:
        The events in insertion order.
    """
    result = await session.scalars(select(Event).where(Event.run_id == run_id).order_by(Event.id))
    return result.all()


async def of_kind(session: AsyncSession, *, kind: str, limit: int = 100) -> Sequence[Event]:
    """Return the newest events of one kind, newest first.

    Args:
        session: an open session.
        kind: the event kind.
        limit: at most this many.

    Returns:
        The events, newest first.
    """
    result = await session.scalars(
        select(Event).where(Event.kind == kind).order_by(Event.id.desc()).limit(limit)
    )
    return result.all()
