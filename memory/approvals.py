"""Approvals inbox: one row per approval request, decided exactly once.

Deciding is a single ``UPDATE ... WHERE status = 'pending'``: whoever's update changes the
row wins, on SQLite and PostgreSQL alike, however many deciders race.

Writes are Core statements on the table through the caller's session; reads load model
objects. The ORM's own DML path (``update(Approval)``) cost about 1 ms more a statement
on the decision's path (``python -m bench.approvals``, bench/README.md). The statements on
that path (:func:`get`, :func:`decide`, :func:`set_interrupt`, :func:`mark_applied`) are
built once, with bound parameters: SQLAlchemy then finds each compiled form by a cache
key it computed once, instead of building and hashing a new statement on every decision,
and :func:`get` builds the model from the row instead of an ORM load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from memory import runs
from memory.ids import new_approval_id
from memory.models import Approval, Run, utcnow

Action = Literal["approve", "reject", "edit"]
DECIDED_STATUS: dict[str, str] = {"approve": "approved", "reject": "rejected", "edit": "edited"}
OPEN = "pending"

_APPROVALS: Table = Approval.__table__  # type: ignore[assignment]

_RUNS: Table = Run.__table__  # type: ignore[assignment]

_BY_ID = select(_APPROVALS).where(_APPROVALS.c.id == bindparam("approval_id"))
# The decided approval's run, read by the deciding UPDATE itself (one statement fewer on
# every decision): SQLite cannot return a joined table's columns from an UPDATE, so each
# column of the run is a scalar subquery on its primary key, labelled ``run__<column>``.
_ITS_RUN = [
    select(column)
    .where(_RUNS.c.id == _APPROVALS.c.run_id)
    .scalar_subquery()
    .label(f"run__{column.key}")
    for column in _RUNS.c
]
_DECIDE = (
    update(_APPROVALS)
    .where(_APPROVALS.c.id == bindparam("approval_id"), _APPROVALS.c.status == OPEN)
    .values(
        status=bindparam("new_status"),
        decided_at=bindparam("now"),
        decided_by=bindparam("actor"),
        decided_by_name=bindparam("actor_name"),
        decision=bindparam("new_decision"),
    )
    .returning(*_APPROVALS.c, *_ITS_RUN)
)
_SET_INTERRUPT = (
    update(_APPROVALS)
    .where(_APPROVALS.c.id == bindparam("approval_id"), _APPROVALS.c.interrupt_id.is_(None))
    .values(interrupt_id=bindparam("new_interrupt_id"))
)
_MARK_APPLIED = (
    update(_APPROVALS)
    .where(_APPROVALS.c.id == bindparam("approval_id"), _APPROVALS.c.applied_at.is_(None))
    .values(applied_at=bindparam("now"))
)


@dataclass(frozen=True)
class Decided:
    """The outcome of a decide attempt: ``won`` is False when someone else decided first."""

    won: bool
    approval: Approval
    run: Run


async def get(session: AsyncSession, *, approval_id: str) -> Approval | None:
    """Return one approval by id.

    Args:
        session: an open session.
        approval_id: the normalised approval id.

    Returns:
        The approval, or None when there is no such id.
    """
    row = (await session.execute(_BY_ID, {"approval_id": approval_id})).first()
    return None if row is None else Approval(**row._mapping)


async def for_gate(session: AsyncSession, *, run_id: str, gate_key: str) -> Approval | None:
    """Return the approval a gate already created for this run and round, if any."""
    return await session.scalar(
        select(Approval).where(Approval.run_id == run_id, Approval.gate_key == gate_key)
    )


async def create(
    session: AsyncSession,
    *,
    run_id: str,
    gate_key: str,
    workflow: str,
    step: str,
    title: str,
    summary: str,
    preview: dict[str, Any],
    risk: str,
    allowed_actions: Sequence[str],
    expires_at: datetime | None = None,
    remind_at: datetime | None = None,
    on_expiry: str = "reject",
) -> Approval:
    """Insert a pending approval with a fresh short id.

    Args:
        session: the session; the caller commits.
        run_id: the run (and LangGraph thread) waiting on it.
        gate_key: identifies the gate and round within the run; unique per run.
        workflow: the workflow name.
        step: the step that waits.
        title: one line for the card's header.
        summary: a few lines saying what will happen.
        preview: the full effect as it will happen (for email: to, subject, body).
        risk: ``low``, ``medium`` or ``high``.
        allowed_actions: which of approve, reject, edit are offered.
        expires_at: when it expires, if it does.
        remind_at: when to remind the operator if it is still waiting.
        on_expiry: the action taken at expiry (``reject`` unless the workflow says).

    Returns:
        The new approval.
    """
    for _ in range(8):
        approval = Approval(
            id=new_approval_id(),
            run_id=run_id,
            gate_key=gate_key,
            workflow=workflow,
            step=step,
            title=title,
            summary=summary,
            preview=preview,
            risk=risk,
            allowed_actions={"actions": list(allowed_actions)},
            expires_at=expires_at,
            remind_at=remind_at,
            on_expiry=on_expiry,
        )
        try:
            async with session.begin_nested():
                session.add(approval)
        except IntegrityError:
            # Either the short id collided (retry with another) or the gate row exists.
            existing = await for_gate(session, run_id=run_id, gate_key=gate_key)
            if existing is not None:
                return existing
            continue
        return approval
    raise RuntimeError("could not allocate an approval id after 8 attempts")


async def decide(
    session: AsyncSession,
    *,
    approval_id: str,
    action: Action,
    actor: str,
    actor_name: str | None,
    payload: dict[str, Any],
) -> Decided | None:
    """Record a decision if the approval is still pending; first decision wins.

    Args:
        session: the session; the caller commits (commit before resuming the run).
        approval_id: the approval.
        action: approve, reject or edit.
        actor: who decides, e.g. ``telegram:123``.
        actor_name: a display name for messages ("Approved by Ana").
        payload: the decision details (reason, edited fields).

    Returns:
        ``Decided(won=True)`` when this call decided, ``Decided(won=False)`` with the
        row as it stands when someone else had, or None when the id does not exist; with
        the approval's run as it stands.
    """
    params = {
        "approval_id": approval_id,
        "new_status": DECIDED_STATUS[action],
        "now": utcnow(),
        "actor": actor,
        "actor_name": actor_name,
        "new_decision": {"action": action, **payload},
    }
    won = (await session.execute(_DECIDE, params)).first()
    if won is not None:
        values = won._mapping
        approval = Approval(**{c.key: values[c.key] for c in _APPROVALS.c})
        run = Run(**{c.key: values[f"run__{c.key}"] for c in _RUNS.c})
        return Decided(won=True, approval=approval, run=run)
    row = await get(session, approval_id=approval_id)
    if row is None:
        return None
    current = await runs.get(session, run_id=row.run_id)
    assert current is not None  # approvals.run_id is a foreign key
    return Decided(won=False, approval=row, run=current)


async def close(
    session: AsyncSession, *, approval_id: str, status: str, actor: str, reason: str
) -> bool:
    """Close a pending approval without a decision (cancelled or expired).

    Args:
        session: the session; the caller commits.
        approval_id: the approval.
        status: ``cancelled`` or ``expired``.
        actor: who closed it.
        reason: why.

    Returns:
        True when it was pending and is now closed.
    """
    result = await session.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.id == approval_id, _APPROVALS.c.status == OPEN)
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by=actor,
            decision={"action": status, "reason": reason},
            applied_at=utcnow(),
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def set_interrupt(session: AsyncSession, *, approval_id: str, interrupt_id: str) -> None:
    """Remember which LangGraph interrupt the approval answers."""
    await session.execute(
        _SET_INTERRUPT, {"approval_id": approval_id, "new_interrupt_id": interrupt_id}
    )


async def mark_applied(session: AsyncSession, *, approval_id: str) -> None:
    """Record that the decision has been applied to the run (the resume finished)."""
    await session.execute(_MARK_APPLIED, {"approval_id": approval_id, "now": utcnow()})


async def pending(session: AsyncSession, *, limit: int = 50) -> Sequence[Approval]:
    """Return pending approvals, oldest first.

    Args:
        session: an open session.
        limit: at most this many.

    Returns:
        The approvals waiting for a decision.
    """
    result = await session.scalars(
        select(Approval)
        .where(Approval.status == OPEN)
        .order_by(Approval.requested_at, Approval.id)
        .limit(limit)
    )
    return result.all()


async def decided_unapplied(
    session: AsyncSession, *, decided_before: datetime | None = None
) -> Sequence[Approval]:
    """Return decisions committed but not yet applied (a crash or a failure came between).

    Args:
        session: an open session.
        decided_before: only those decided before this time.
    """
    stmt = select(Approval).where(Approval.applied_at.is_(None), Approval.status != OPEN)
    if decided_before is not None:
        stmt = stmt.where(Approval.decided_at < decided_before)
    result = await session.scalars(stmt.order_by(Approval.decided_at))
    return result.all()


async def for_run(session: AsyncSession, *, run_id: str) -> Sequence[Approval]:
    """Return a run's approvals, oldest first."""
    result = await session.scalars(
        select(Approval).where(Approval.run_id == run_id).order_by(Approval.requested_at)
    )
    return result.all()


async def expire(session: AsyncSession, *, approval_id: str, now: datetime) -> bool:
    """Expire a pending approval: it takes its ``on_expiry`` action, decided by nobody.

    Args:
        session: the session; the caller commits, then resumes the run.
        approval_id: the approval.
        now: the current time (injected, so tests need not wait).

    Returns:
        True when it was still pending and has now expired.
    """
    row = await get(session, approval_id=approval_id)
    if row is None:
        return False
    result = await session.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.id == approval_id, _APPROVALS.c.status == OPEN)
        .values(
            status="expired",
            decided_at=now,
            decided_by="system:expiry",
            decided_by_name="expiry",
            decision={"action": row.on_expiry, "reason": "expired without a decision"},
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def expired_due(session: AsyncSession, *, now: datetime) -> Sequence[Approval]:
    """Pending approvals whose expiry time has passed, oldest expiry first."""
    result = await session.scalars(
        select(Approval)
        .where(Approval.status == OPEN, Approval.expires_at <= now)
        .order_by(Approval.expires_at)
    )
    return result.all()


async def snooze(session: AsyncSession, *, approval_id: str, until: datetime) -> bool:
    """Keep a pending approval out of batches and digests until ``until``.

    Returns:
        True when it was pending (and is now snoozed).
    """
    result = await session.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.id == approval_id, _APPROVALS.c.status == OPEN)
        .values(snoozed_until=until)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def reminders_due(session: AsyncSession, *, now: datetime) -> Sequence[Approval]:
    """Pending, not snoozed, reminder time passed and not reminded yet: oldest first."""
    result = await session.scalars(
        select(Approval)
        .where(
            Approval.status == OPEN,
            Approval.remind_at <= now,
            Approval.reminded_at.is_(None),
            (Approval.snoozed_until.is_(None)) | (Approval.snoozed_until <= now),
        )
        .order_by(Approval.requested_at)
    )
    return result.all()


async def mark_reminded(session: AsyncSession, *, approval_id: str, now: datetime) -> bool:
    """Record the one reminder an approval gets; True for the caller that set it."""
    result = await session.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.id == approval_id, _APPROVALS.c.reminded_at.is_(None))
        .values(reminded_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
