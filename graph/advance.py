"""Taking a run forward on its graph and recording where it stands.

Every way a run moves (a start, a decision applied, recovery, a send retry) ends here:
the graph is invoked until it waits or ends, and the outcome is recorded through
:mod:`memory.decisions`. The caller holds the run's lock (:class:`graph.locks.RunLocks`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from graph.deps import WorkflowDeps
from graph.errors import NotFound
from graph.locks import RunLocks
from graph.reports import RunReport
from graph.spec import WorkflowSpec
from memory import decisions, runs
from memory.db import Sessions, is_transient
from memory.models import Approval, Run

log = logging.getLogger(__name__)

_STATUS_FOR_OUTCOME = {"sent": "completed", "in_doubt": "completed", "rejected": "rejected"}


class Advancer:
    """Invokes the workflows' compiled graphs and records each run's progress."""

    def __init__(
        self,
        *,
        deps: WorkflowDeps,
        checkpointer: BaseCheckpointSaver[str],
        workflows: Mapping[str, WorkflowSpec],
        locks: RunLocks,
    ) -> None:
        self.sessions: Sessions = deps.sessions
        self.locks = locks
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {
            name: spec.build(deps=deps).compile(checkpointer=checkpointer, name=name)
            for name, spec in workflows.items()
        }

    async def snapshot(self, run: Run) -> StateSnapshot:
        """The run's state as its last checkpoint has it."""
        return await self._graphs[run.workflow].aget_state(config(run.id))

    async def apply(self, approval: Approval, *, verify: bool = True) -> RunReport:
        """Resume the run with a committed decision, unless that already happened.

        Takes the run's lock and re-reads the approval and its run under it. With
        ``verify`` the checkpoint is checked first, because a crash may have left the run
        anywhere; without it the resume goes straight to the interrupt the approval names.
        """
        async with self.locks.hold(approval.run_id):
            found = await decisions.with_run(self.sessions, approval_id=approval.id)
            if found is None:
                raise NotFound(f"There is no approval {approval.id}.")
            return await self.apply_held(*found, verify=verify)

    async def apply_held(self, fresh: Approval, run: Run, *, verify: bool) -> RunReport:
        """:meth:`apply` once the run's lock is held and the rows are fresh."""
        if fresh.applied_at is not None or run.status not in runs.ACTIVE:
            return RunReport(run=run)
        decision = {
            **(fresh.decision or {}),
            "by": fresh.decided_by,
            "by_name": fresh.decided_by_name,
        }
        if not verify and fresh.interrupt_id:
            resume: Command[Any] = Command(resume={fresh.interrupt_id: decision})
            return await self.advance(run, resume, applied=fresh.id)
        snapshot = await self.snapshot(run)
        waiting = [i for i in snapshot.interrupts if approval_of(i.value) == fresh.id]
        if waiting:
            resume = Command(resume={waiting[0].id: decision})
            return await self.advance(run, resume, applied=fresh.id)
        if not snapshot.tasks and not snapshot.values:
            log.error("run has no checkpoint", extra={"run_id": run.id})
            return await self.finish(
                run,
                status="failed",
                outcome="lost",
                detail="Its saved state is missing; start the workflow again.",
                applied=fresh.id,
            )
        # The resume started before a crash and got past the gate: carry on from there.
        return await self.carry_on(run, snapshot, applied=fresh.id)

    async def carry_on(
        self, run: Run, snapshot: StateSnapshot, *, applied: str | None = None
    ) -> RunReport:
        """Continue a run from its last checkpoint, or settle it if its graph reached END.

        A task whose writes were saved but not yet folded into a checkpoint (the process
        died in between) is missing from ``snapshot.next`` yet still listed in
        ``snapshot.tasks``; only a snapshot with no task left is the end of the graph.
        Invoking with no input applies those saved writes and runs what follows.
        """
        if snapshot.tasks:
            log.info("continuing interrupted run", extra={"run_id": run.id})
            return await self.advance(run, None, applied=applied)
        return await self.settle(run, snapshot.values, applied=applied)

    async def continue_held(self, run: Run) -> RunReport:
        """Take a run on from its checkpoint (its lock held): wait, carry on or settle."""
        snapshot = await self.snapshot(run)
        if snapshot.interrupts:
            return await self.waiting(run, snapshot.interrupts)
        if not snapshot.tasks and not snapshot.values:
            # Died before the first checkpoint: the run row exists, so start it now.
            return await self.advance(run, {"inputs": run.inputs})
        return await self.carry_on(run, snapshot)

    async def resume_send(self, run: Run) -> RunReport | None:
        """Resume a run whose workflow waits for its send retry (its lock held)."""
        snapshot = await self.snapshot(run)
        waiting = [i for i in snapshot.interrupts if _is_retry(i.value)]
        if not waiting:
            return None
        return await self.advance(run, Command(resume={waiting[0].id: {}}))

    async def advance(self, run: Run, graph_input: Any, *, applied: str | None = None) -> RunReport:
        """Run the graph until it waits or ends, and record where it stands."""
        graph = self._graphs[run.workflow]
        try:
            result = await graph.ainvoke(graph_input, config(run.id), durability="sync")
        except Exception as error:
            if is_transient(error):
                raise  # the caller retries; the checkpoint has the run where it got to
            ref = secrets.token_hex(4)
            log.exception("run failed", extra={"run_id": run.id, "ref": ref})
            return await self.finish(
                run,
                status="failed",
                outcome="error",
                detail=f"Internal error (ref {ref})",
                applied=applied,
            )
        interrupts = result.get("__interrupt__", ()) if isinstance(result, dict) else ()
        if interrupts:
            return await self.waiting(run, interrupts, applied=applied)
        return await self.settle(run, result, applied=applied)

    async def waiting(
        self, run: Run, interrupts: Sequence[Any], *, applied: str | None = None
    ) -> RunReport:
        """Record that the run waits at its first interrupt."""
        first = interrupts[0]
        fresh, approval = await decisions.waiting(
            self.sessions,
            run_id=run.id,
            approval_id=approval_of(first.value),
            interrupt_id=first.id,
            applied=applied,
        )
        return RunReport(run=fresh, approval=approval)

    async def settle(
        self, run: Run, values: Mapping[str, Any], *, applied: str | None = None
    ) -> RunReport:
        """Record the end of a run whose graph reached END with ``values``."""
        outcome = str(values.get("outcome") or "done")
        status = _STATUS_FOR_OUTCOME.get(outcome, "failed" if outcome == "failed" else "completed")
        return await self.finish(
            run, status=status, outcome=outcome, detail=values.get("detail"), applied=applied
        )

    async def finish(
        self,
        run: Run,
        *,
        status: str,
        outcome: str,
        detail: str | None,
        applied: str | None = None,
    ) -> RunReport:
        """Record a run's final status and outcome (and the decision it applied)."""
        fresh, _ = await decisions.finish(
            self.sessions,
            run=run,
            status=status,
            outcome=outcome,
            detail=detail,
            applied=applied,
        )
        return RunReport(run=fresh)


def config(run_id: str) -> RunnableConfig:
    """The LangGraph config of a run: its id is the thread id."""
    return {"configurable": {"thread_id": run_id}}


def approval_of(value: Any) -> str | None:
    """The approval an interrupt waits on, if it is an approval gate's."""
    return value.get("approval_id") if isinstance(value, dict) else None


def _is_retry(value: Any) -> bool:
    return isinstance(value, dict) and "retry" in value
