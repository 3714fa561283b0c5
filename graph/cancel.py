"""Cancelling a run: it stops where it is, and its open approvals close.

The run's lock is held throughout, so a decision being applied finishes first and the
cancel then finds the run as it left it.
"""

from __future__ import annotations

from graph.errors import NotFound, RunNotActive
from graph.locks import RunLocks
from memory import approvals, events, runs
from memory.db import Sessions
from memory.models import Run


async def cancel(
    *, sessions: Sessions, locks: RunLocks, run_id: str, actor: str, reason: str | None
) -> Run:
    """Cancel a running or waiting run and close its open approvals.

    Args:
        sessions: the session factory.
        locks: the run locks.
        run_id: the run.
        actor: who cancels.
        reason: why, if they said.

    Returns:
        The run as it stands afterwards.

    Raises:
        NotFound: no such run.
        RunNotActive: it already finished.
    """
    async with locks.hold(run_id), sessions.begin() as session:
        run = await runs.get(session, run_id=run_id)
        if run is None:
            raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
        if run.status not in runs.ACTIVE:
            raise RunNotActive(f"Run {run_id} is already {run.status}.")
        await runs.set_status(
            session,
            run_id=run_id,
            status="cancelled",
            outcome="cancelled",
            detail=reason or "cancelled",
            only_if=runs.ACTIVE,
        )
        for approval in await approvals.for_run(session, run_id=run_id):
            await approvals.close(
                session,
                approval_id=approval.id,
                status="cancelled",
                actor=actor,
                reason=reason or "run cancelled",
            )
        await events.append(
            session,
            actor=actor,
            kind="run.cancelled",
            summary=f"Run {run_id} cancelled",
            run_id=run_id,
            workflow=run.workflow,
            reason=reason,
        )
        refreshed = await runs.get(session, run_id=run_id)
        assert refreshed is not None
        return refreshed
