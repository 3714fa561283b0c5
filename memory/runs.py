"""Runs: Deskhand's own index of workflow runs (status, inputs, outcome).

Updates are Core statements on the table, as in ``memory.approvals`` (the ORM's DML path
cost about 1 ms more a statement on the decision's path); :func:`get` and :func:`finish`,
on that path, are built once with bound parameters, as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory.ids import new_run_id
from memory.models import Run, utcnow

ACTIVE = ("running", "waiting")
FINISHED = ("completed", "rejected", "cancelled", "failed")

_RUNS: Table = Run.__table__  # type: ignore[assignment]

_BY_ID = select(_RUNS).where(_RUNS.c.id == bindparam("run_id"))
_FINISH = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run_id"), _RUNS.c.status.in_(ACTIVE))
    .values(
        status=bindparam("new_status"),
        outcome=bindparam("new_outcome"),
        detail=bindparam("new_detail"),
        updated_at=bindparam("now"),
    )
    .returning(*_RUNS.c)
)


async def create(
    session: AsyncSession,
    *,
    workflow: str,
    workflow_version: str,
    inputs: dict[str, Any],
    started_by: str,
) -> Run:
    """Insert a run in status ``running``.

    Args:
        session: the session; the caller commits.
        workflow: workflow name.
        workflow_version: its version.
        inputs: the validated inputs.
        started_by: who started it.

    Returns:
        The new run; its id is also the LangGraph thread id.
    """
    run = Run(
        id=new_run_id(),
        workflow=workflow,
        workflow_version=workflow_version,
        status="running",
        inputs=inputs,
        started_by=started_by,
    )
    session.add(run)
    await session.flush()
    return run


async def get(session: AsyncSession, *, run_id: str) -> Run | None:
    """Return one run, or None."""
    row = (await session.execute(_BY_ID, {"run_id": run_id})).first()
    return None if row is None else Run(**row._mapping)


async def set_status(
    session: AsyncSession,
    *,
    run_id: str,
    status: str,
    outcome: str | None = None,
    detail: str | None = None,
    only_if: Sequence[str] | None = None,
) -> bool:
    """Move a run to ``status``; with ``only_if``, only from one of those statuses.

    Args:
        session: the session; the caller commits.
        run_id: the run.
        status: the new status.
        outcome: a short outcome code (``sent``, ``rejected``, ``in_doubt``...).
        detail: a human line about the outcome.
        only_if: statuses the change is allowed from.

    Returns:
        True when the row changed.
    """
    stmt = update(_RUNS).where(_RUNS.c.id == run_id)
    if only_if is not None:
        stmt = stmt.where(_RUNS.c.status.in_(list(only_if)))
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if outcome is not None:
        values["outcome"] = outcome
    if detail is not None:
        values["detail"] = detail
    result = await session.execute(stmt.values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def recent(
    session: AsyncSession, *, limit: int = 20, status: str | None = None
) -> Sequence[Run]:
    """Return the newest runs first, optionally only those in one status."""
    stmt = select(Run).order_by(Run.created_at.desc(), Run.id).limit(limit)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    return (await session.scalars(stmt)).all()


async def running(
    session: AsyncSession, *, updated_before: datetime | None = None
) -> Sequence[Run]:
    """Return runs left ``running``: nobody is advancing them if the process died.

    A run waiting at a gate is ``waiting`` and needs nothing until it is decided, so
    recovery reads only these (through ``ix_runs_status_updated``), not every open run.

    Args:
        session: an open session.
        updated_before: only those not updated since then (the minute tick's check).
    """
    stmt = select(Run).where(Run.status == "running")
    if updated_before is not None:
        stmt = stmt.where(Run.updated_at < updated_before)
    return (await session.scalars(stmt.order_by(Run.updated_at))).all()


async def finish(
    session: AsyncSession, *, run_id: str, status: str, outcome: str, detail: str | None
) -> tuple[Run, bool]:
    """Move an active run to ``status``; return the run and whether this call moved it.

    Args:
        session: the session; the caller commits.
        run_id: the run.
        status: the new status (``waiting`` or a final one).
        outcome: a short outcome code.
        detail: a human line about the outcome.

    Returns:
        The run as it now stands, and True when this call changed it.
    """
    params = {
        "run_id": run_id,
        "new_status": status,
        "new_outcome": outcome,
        "new_detail": detail,
        "now": utcnow(),
    }
    moved = (await session.execute(_FINISH, params)).first()
    if moved is not None:
        return Run(**moved._mapping), True
    current = await get(session, run_id=run_id)
    assert current is not None
    return current, False
