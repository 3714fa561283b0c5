"""Recovery: finish what a crash, or a database that went away, left half-done.

Two kinds of work are left behind: decisions committed but not applied (the process died
between the commit and the resume, or the resume gave up while the database was away),
and runs left ``running`` (their start or resume could not finish). Both are found by
indexed queries, so recovery costs what needs recovering; a run waiting at a gate needs
nothing. Each run is re-checked under its lock against its checkpoint, so work still in
flight (here or on another replica) is never repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime

from graph.advance import Advancer
from graph.reports import RunReport
from memory import approvals, runs

log = logging.getLogger(__name__)


async def recover(advancer: Advancer, *, before: datetime | None) -> list[RunReport]:
    """Apply unapplied decisions and continue runs left running.

    Args:
        advancer: takes runs forward on their graphs.
        before: only work nobody has touched since then (the minute tick); None for
            everything (at start-up).

    Returns:
        A report per run that moved.
    """
    async with advancer.sessions() as session:
        unapplied = await approvals.decided_unapplied(session, decided_before=before)
        running = await runs.running(session, updated_before=before)
    reports: list[RunReport] = []
    for approval in unapplied:
        log.info("applying a decision left unapplied", extra={"approval_id": approval.id})
        reports.append(await advancer.apply(approval))
    for run in running:
        report = await _continue(advancer, run.id)
        if report is not None:
            reports.append(report)
    return reports


async def _continue(advancer: Advancer, run_id: str) -> RunReport | None:
    async with advancer.locks.hold(run_id):
        async with advancer.sessions() as session:
            run = await runs.get(session, run_id=run_id)
        if run is None or run.status not in runs.ACTIVE:
            return None
        return await advancer.continue_held(run)
