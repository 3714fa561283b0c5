"""The run manager: start, decide (and resume), cancel, list and recover workflow runs.

Invariants it keeps:

- A decision is one atomic ``UPDATE ... WHERE status = 'pending'`` committed *before* the
  graph is resumed; the winner alone resumes, under the run's lock, so the graph resumes
  exactly once however many taps race.
- A decision committed but not applied (the process died in between) is applied by
  :meth:`RunManager.recover` at the next start.
- The database going away (PostgreSQL restarting) fails nothing: a tap or a ``/run``
  retries for a few seconds, a resume keeps retrying in the background, and the
  scheduler's minute tick (:meth:`RunManager.resume_stalled`) picks up whatever is left.
- Only runs Deskhand started are ever advanced: an unknown or finished id is refused and
  never started from START.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot

from graph import expiry
from graph.deps import WorkflowDeps
from graph.doubt import settle_in_doubt
from graph.errors import AlreadyDecided, InvalidInput, NotFound, RunNotActive
from graph.locks import RunLocks
from graph.reports import DecideReport, RunDetail, RunReport, describe_decision
from graph.retry import Retrier
from graph.spec import WorkflowSpec
from graph.tasks import TaskSet
from memory import approvals, effects, events, records, runs
from memory.approvals import DECIDED_STATUS, Action
from memory.db import is_transient, retrying
from memory.hotpath import HotPath
from memory.models import Approval, Effect, Run

log = logging.getLogger(__name__)

_REMEMBERED = 10_000  # approvals whose facts are kept, so a tap need not read them first

# While the database does not answer (a restart takes seconds), a tap or a /run retries
# this long before the operator is told; a resume in the background retries longer,
# then the minute tick takes over.
ANSWER_RETRY_S = 15.0
RESUME_RETRY_S = 600.0

_STATUS_FOR_OUTCOME = {"sent": "completed", "in_doubt": "completed", "rejected": "rejected"}


class _Facts(NamedTuple):
    """What never changes about an approval: its run, its workflow, the actions offered."""

    id: str
    run_id: str
    workflow: str
    actions: tuple[str, ...]


class RunManager:
    """Starts and advances workflow runs on a LangGraph checkpointer."""

    def __init__(
        self,
        *,
        deps: WorkflowDeps,
        checkpointer: BaseCheckpointSaver[str],
        workflows: Mapping[str, WorkflowSpec],
        locks: RunLocks,
        hotpath: HotPath,
        resume_slots: int = 4,
    ) -> None:
        self._sessions = deps.sessions
        self._hot = hotpath
        self._resuming = TaskSet()
        self._stopping = asyncio.Event()
        self._facts: dict[str, _Facts] = {}  # see _facts_of
        self._resume_slots = asyncio.Semaphore(resume_slots)
        self._email = deps.email
        self._locks = locks
        self._specs = dict(workflows)
        self._graphs = {
            name: spec.build(deps=deps).compile(checkpointer=checkpointer, name=name)
            for name, spec in self._specs.items()
        }
        self._retrier = Retrier(
            sessions=deps.sessions,
            email=deps.email,
            locks=locks,
            resume=self._resume_send,
            zone=deps.zone,
        )

    @property
    def workflows(self) -> Mapping[str, WorkflowSpec]:
        """The workflows this manager can start."""
        return self._specs

    # -- start -------------------------------------------------------------------------

    async def start(self, workflow: str, inputs: Mapping[str, str], *, actor: str) -> RunReport:
        """Validate inputs, record the run and advance it to its first gate or its end.

        Raises:
            NotFound: no such workflow.
            InvalidInput: the inputs do not validate.
        """
        spec = self._specs.get(workflow)
        if spec is None:
            raise NotFound(f"There is no workflow called \u201c{workflow}\u201d.")
        clean = spec.validate_inputs(inputs)

        async def create() -> Run:
            async with self._sessions.begin() as session:
                run = await runs.create(
                    session,
                    workflow=spec.name,
                    workflow_version=spec.version,
                    inputs=clean,
                    started_by=actor,
                )
                await events.append(
                    session,
                    actor=actor,
                    kind="run.started",
                    summary=f"Started {spec.name} run {run.id}",
                    run_id=run.id,
                    workflow=spec.name,
                    workflow_version=spec.version,
                    data={"inputs": clean},
                )
                return run

        run = await retrying(create, within=ANSWER_RETRY_S, what="start a run")
        async with self._locks.hold(run.id):
            try:
                return await self._advance(run, {"inputs": clean})
            except Exception as error:
                if not is_transient(error):
                    raise
            try:
                # Carry on from wherever the failed attempt's checkpoints got to.
                return await retrying(
                    lambda: self._continue_held(run),
                    within=ANSWER_RETRY_S,
                    what="start a run",
                    stop=self._stopping,
                )
            except Exception as error:
                if not is_transient(error):
                    raise
                log.warning("run left for the minute tick", extra={"run_id": run.id})
                return RunReport(run=run)

    # -- decide ------------------------------------------------------------------------

    async def decide(
        self,
        approval_id: str,
        action: Action,
        *,
        actor: str,
        actor_name: str | None = None,
        reason: str | None = None,
        changes: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> DecideReport:
        """Decide an approval atomically, then resume its run exactly once.

        With ``wait=False`` it returns as soon as the decision has committed (that is when
        a chat card can say "Approved by Ana"); the resume runs in the background, a few
        at a time, and the report's ``settled`` completes with where the run ends up. A
        decision is durable once committed: if the process dies before the resume, the
        next start applies it.

        Raises:
            NotFound: no such approval.
            AlreadyDecided: someone decided first (the message says who and when).
            InvalidInput: the action is not offered, or edited fields do not validate.
        """

        facts = await self._facts_of(approval_id)
        details = self._details(facts, action, reason=reason, changes=changes)
        decided = {
            "actor": actor,
            "kind": "approval.decided",
            "summary": f"Approval {approval_id} {DECIDED_STATUS[action]} by {actor_name or actor}",
            "run_id": facts.run_id,
            "approval_id": approval_id,
            "workflow": facts.workflow,
            "reason": reason,
            "data": {"action": action, **({"changes": dict(changes)} if changes else {})},
        }
        # The run's lock is taken before deciding: whoever wins then resumes without
        # letting go, so no recovery (here or on another replica) can apply the decision
        # in between, and nothing needs re-reading after the commit.
        async with self._locks.hold(facts.run_id):
            outcome = await retrying(
                lambda: self._hot.decide(
                    approval_id,
                    action,
                    actor=actor,
                    actor_name=actor_name,
                    details=details,
                    event=decided,
                ),
                within=ANSWER_RETRY_S,
                what="decide",
            )
            if outcome is None:
                raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
            approval = outcome.approval
            if not outcome.won:
                if approval.applied_at is None and approval.status != approvals.OPEN:
                    # Decided but not applied: this very tap may have committed before its
                    # connection was cut, or the winner's resume failed. Applying it is
                    # idempotent under the run's lock, so nudge it now, not at the tick.
                    self._resume_later(approval, verify=True)
                await self.refused(
                    actor=actor, approval=approval, why=f"already {describe_decision(approval)}"
                )
                raise AlreadyDecided(
                    f"Approval {approval_id} was already {describe_decision(approval)}.",
                    approval=approval,
                )
            if wait:
                try:
                    report = await self._apply_held(approval, outcome.run, verify=False)
                    return DecideReport(approval=approval, report=report)
                except Exception as error:
                    if not is_transient(error):
                        raise
        # The decision is committed: the run resumes in the background (and keeps trying
        # while the database is away); a crash before that is recovered at the next start.
        settled = self._resume_later(approval, verify=wait)
        return DecideReport(approval=approval, report=RunReport(run=outcome.run), settled=settled)

    async def _facts_of(self, approval_id: str) -> _Facts:
        """What never changes about an approval (remembered, so a tap need not read it)."""
        facts = self._facts.get(approval_id)
        if facts is None:
            approval = await self._hot.get(approval_id)
            if approval is None:
                raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
            facts = self._remember(approval)
        return facts

    def _remember(self, approval: Approval) -> _Facts:
        if len(self._facts) >= _REMEMBERED:
            del self._facts[next(iter(self._facts))]  # the oldest
        facts = _Facts(
            approval.id,
            approval.run_id,
            approval.workflow,
            tuple(approval.allowed_actions.get("actions", ())),
        )
        self._facts[approval.id] = facts
        return facts

    def _resume_later(self, approval: Approval, *, verify: bool) -> asyncio.Task[RunReport]:
        """Apply a committed decision in the background, a few at a time.

        A transient database failure is retried with a growing pause for
        ``RESUME_RETRY_S``; each retry checks the checkpoint first (``verify``), since the
        failed attempt may have got past the gate.
        """
        first = True

        async def attempt() -> RunReport:
            nonlocal first
            checked, first = verify or not first, False
            return await self._apply(approval, verify=checked)

        async def limited() -> RunReport:
            async with self._resume_slots:
                return await retrying(
                    attempt, within=RESUME_RETRY_S, what="resume", stop=self._stopping
                )

        task = self._resuming.spawn(limited())
        task.add_done_callback(functools.partial(self._resumed, approval_id=approval.id))
        return task

    def _resumed(self, task: asyncio.Task[RunReport], *, approval_id: str) -> None:
        if not task.cancelled() and task.exception() is not None:
            ref = secrets.token_hex(4)
            log.error(
                "resume after a decision failed; the minute tick or the next start applies it",
                exc_info=task.exception(),
                extra={"approval_id": approval_id, "ref": ref},
            )

    async def drain(self) -> None:
        """Wait for background resumes (at shutdown, before the checkpointer closes).

        A resume waiting for the database gives up at once: its decision stays committed
        and unapplied, and the next start applies it.
        """
        self._stopping.set()
        await self._resuming.wait()

    def _details(
        self,
        facts: _Facts,
        action: Action,
        *,
        reason: str | None,
        changes: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        if action not in facts.actions:
            raise InvalidInput(
                f"Approval {facts.id} cannot be {action}d; it offers {', '.join(facts.actions)}."
            )
        if action == "edit":
            spec = self._specs.get(facts.workflow)
            if spec is None:
                raise InvalidInput(f"Workflow {facts.workflow} is not available to edit.")
            return {"changes": spec.validate_edits(changes or {})}
        if action == "reject" and reason:
            return {"reason": reason}
        return {}

    async def refused(self, *, actor: str, approval: Approval | None, why: str) -> None:
        """Log a refused attempt to decide (already decided, not allowed, unknown)."""
        async with self._sessions.begin() as session:
            await events.append(
                session,
                actor=actor,
                kind="approval.refused",
                summary=f"Refused {actor} on approval {approval.id if approval else '?'}: {why}",
                run_id=approval.run_id if approval else None,
                approval_id=approval.id if approval else None,
                reason=why,
            )

    async def _apply(self, approval: Approval, *, verify: bool = True) -> RunReport:
        """Resume the run with a committed decision, unless that already happened.

        The decider that just won passes ``verify=False``: the run waits at the interrupt
        the inbox row names, so the resume goes straight there. Recovery verifies against
        the checkpoint, because a crash may have left the run anywhere.
        """
        async with self._locks.hold(approval.run_id):
            found = await self._hot.with_run(approval.id)
            if found is None:
                raise NotFound(f"There is no approval {approval.id}.")
            return await self._apply_held(*found, verify=verify)

    async def _apply_held(self, fresh: Approval, run: Run, *, verify: bool) -> RunReport:
        """:meth:`_apply` once the run's lock is held and the rows are fresh."""
        if fresh.applied_at is not None or run.status not in runs.ACTIVE:
            return RunReport(run=run)
        decision = {
            **(fresh.decision or {}),
            "by": fresh.decided_by,
            "by_name": fresh.decided_by_name,
        }
        if not verify and fresh.interrupt_id:
            resume: Command[Any] = Command(resume={fresh.interrupt_id: decision})
            return await self._advance(run, resume, applied=fresh.id)
        snapshot = await self._graphs[run.workflow].aget_state(_config(run.id))
        waiting = [i for i in snapshot.interrupts if _approval_of(i.value) == fresh.id]
        if waiting:
            resume = Command(resume={waiting[0].id: decision})
            return await self._advance(run, resume, applied=fresh.id)
        if not snapshot.tasks and not snapshot.values:
            log.error("run has no checkpoint", extra={"run_id": run.id})
            return await self._finish(
                run,
                status="failed",
                outcome="lost",
                detail="Its saved state is missing; start the workflow again.",
                applied=fresh.id,
            )
        # The resume started before a crash and got past the gate: carry on from there.
        return await self._carry_on(run, snapshot, applied=fresh.id)

    async def _carry_on(
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
            return await self._advance(run, None, applied=applied)
        return await self._settle(run, snapshot.values, applied=applied)

    # -- expiry and snooze -------------------------------------------------------------

    async def expire_due(self, *, now: datetime) -> list[DecideReport]:
        """Expire every approval past its time; each run continues with its default."""
        return await expiry.expire_due(sessions=self._sessions, apply=self._apply, now=now)

    async def snooze(self, approval_id: str, *, until: datetime, actor: str) -> Approval:
        """Keep a pending approval out of batches and digests until ``until``."""
        return await expiry.snooze(
            sessions=self._sessions, approval_id=approval_id, until=until, actor=actor
        )

    # -- cancel ------------------------------------------------------------------------

    async def cancel(self, run_id: str, *, actor: str, reason: str | None = None) -> Run:
        """Cancel a running or waiting run and close its open approvals.

        Raises:
            NotFound: no such run.
            RunNotActive: it already finished.
        """
        async with self._locks.hold(run_id), self._sessions.begin() as session:
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

    # -- effects in doubt ---------------------------------------------------------------

    async def in_doubt(self, *, limit: int = 20) -> Sequence[Effect]:
        """Effects that may or may not have happened, waiting for the operator's verdict."""
        async with self._sessions() as session:
            return await effects.in_doubt(session, limit=limit)

    async def resolve(self, run_id: str, verdict: str, *, actor: str) -> RunReport:
        """Settle a run's in-doubt email: ``sent`` (it went out) or ``resend`` (send it now).

        Raises:
            NotFound: the run does not exist or has nothing in doubt.
            InvalidInput: an unknown verdict.
        """
        async with self._locks.hold(run_id):
            run = await settle_in_doubt(
                sessions=self._sessions,
                retrier=self._retrier,
                run_id=run_id,
                verdict=verdict,
                actor=actor,
            )
        return RunReport(run=run)

    # -- send retries (graph/retry.py) ---------------------------------------------------

    async def retry_due(self, *, now: datetime) -> list[RunReport]:
        """Send the emails whose retry is due at ``now``; give up on those past the window."""
        return await self._retrier.send_due(now=now)

    async def retry(self, run_id: str, *, actor: str) -> RunReport:
        """The operator's Retry: send a run's unsent email now.

        Raises:
            NotFound: no such run, or nothing of it to send again.
        """
        return await self._retrier.retry(run_id, actor=actor)

    async def check_retry(self, run_id: str) -> None:
        """Whether :meth:`retry` would find something to send now, without sending it.

        Raises:
            NotFound: no such run, or nothing of it to send again.
        """
        await self._retrier.check(run_id)

    async def _resume_send(self, run: Run) -> RunReport | None:
        """Resume a run whose workflow waits for its send retry (its lock held)."""
        snapshot = await self._graphs[run.workflow].aget_state(_config(run.id))
        waiting = [i for i in snapshot.interrupts if _is_retry(i.value)]
        if not waiting:
            return None
        return await self._advance(run, Command(resume={waiting[0].id: {}}))

    # -- read --------------------------------------------------------------------------

    async def get_approval(self, approval_id: str) -> Approval:
        """Return an approval or raise NotFound."""
        approval = await self._hot.get(approval_id)
        if approval is None:
            raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
        self._remember(approval)
        return approval

    async def pending(self, *, limit: int = 50) -> Sequence[Approval]:
        """Return approvals waiting for a decision, oldest first."""
        async with self._sessions() as session:
            return await approvals.pending(session, limit=limit)

    async def list_runs(self, *, limit: int = 20, status: str | None = None) -> Sequence[Run]:
        """Return the newest runs first."""
        async with self._sessions() as session:
            return await runs.recent(session, limit=limit, status=status)

    async def detail(self, run_id: str) -> RunDetail:
        """Return a run with its approvals, events and sent messages, or raise NotFound."""
        async with self._sessions() as session:
            run = await runs.get(session, run_id=run_id)
            if run is None:
                raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
            return RunDetail(
                run=run,
                approvals=await approvals.for_run(session, run_id=run_id),
                events=await events.for_run(session, run_id=run_id),
                messages=await records.messages_for_run(session, run_id=run_id),
            )

    # -- recovery ----------------------------------------------------------------------

    async def recover(self) -> list[RunReport]:
        """Finish what a crash interrupted: apply committed decisions, continue runs.

        It costs what needs recovering, found by indexed queries: decisions committed
        but not applied, and runs left ``running``. A run waiting at a gate needs
        nothing. Safe to call on every start and from several replicas at once: each run
        is re-checked under its lock.
        """
        return await self._recover(before=None)

    async def resume_stalled(self, *, before: datetime) -> list[RunReport]:
        """Apply decisions and continue runs that nobody has advanced since ``before``.

        A resume that gave up (the database was away longer than its retries) or a run
        whose start could not finish leaves work behind while the bot keeps running; the
        scheduler's minute tick calls this so it is not left until the next start. Each
        is checked under its run's lock against the checkpoint, so work still in flight
        is never repeated.
        """
        return await self._recover(before=before)

    async def _recover(self, *, before: datetime | None) -> list[RunReport]:
        async with self._sessions() as session:
            unapplied = await approvals.decided_unapplied(session, decided_before=before)
            running = await runs.running(session, updated_before=before)
        reports: list[RunReport] = []
        for approval in unapplied:
            log.info("applying a decision left unapplied", extra={"approval_id": approval.id})
            reports.append(await self._apply(approval))
        for run in running:
            report = await self._continue(run.id)
            if report is not None:
                reports.append(report)
        return reports

    async def _continue(self, run_id: str) -> RunReport | None:
        async with self._locks.hold(run_id):
            async with self._sessions() as session:
                run = await runs.get(session, run_id=run_id)
            if run is None or run.status not in runs.ACTIVE:
                return None
            return await self._continue_held(run)

    async def _continue_held(self, run: Run) -> RunReport:
        """Take a run on from its checkpoint (its lock held): wait, carry on or settle."""
        snapshot = await self._graphs[run.workflow].aget_state(_config(run.id))
        if snapshot.interrupts:
            return await self._waiting(run, snapshot.interrupts)
        if not snapshot.tasks and not snapshot.values:
            # Died before the first checkpoint: the run row exists, so start it now.
            return await self._advance(run, {"inputs": run.inputs})
        return await self._carry_on(run, snapshot)

    # -- internals ---------------------------------------------------------------------

    async def _advance(
        self, run: Run, graph_input: Any, *, applied: str | None = None
    ) -> RunReport:
        """Run the graph until it waits or ends, and record where it stands."""
        graph = self._graphs[run.workflow]
        try:
            result = await graph.ainvoke(graph_input, _config(run.id), durability="sync")
        except Exception as error:
            if is_transient(error):
                raise  # the caller retries; the checkpoint has the run where it got to
            ref = secrets.token_hex(4)
            log.exception("run failed", extra={"run_id": run.id, "ref": ref})
            return await self._finish(
                run,
                status="failed",
                outcome="error",
                detail=f"Internal error (ref {ref})",
                applied=applied,
            )
        interrupts = result.get("__interrupt__", ()) if isinstance(result, dict) else ()
        if interrupts:
            return await self._waiting(run, interrupts, applied=applied)
        return await self._settle(run, result, applied=applied)

    async def _waiting(
        self, run: Run, interrupts: Sequence[Any], *, applied: str | None = None
    ) -> RunReport:
        first = interrupts[0]
        approval_id = _approval_of(first.value)
        async with self._sessions.begin() as session:
            if applied is not None:
                await approvals.mark_applied(session, approval_id=applied)
            approval = None
            if approval_id is not None:
                await approvals.set_interrupt(
                    session, approval_id=approval_id, interrupt_id=first.id
                )
                approval = await approvals.get(session, approval_id=approval_id)
            await runs.set_status(session, run_id=run.id, status="waiting", only_if=runs.ACTIVE)
            fresh = await runs.get(session, run_id=run.id)
        assert fresh is not None
        if approval is not None:
            self._remember(approval)
        return RunReport(run=fresh, approval=approval)

    async def _settle(
        self, run: Run, values: Mapping[str, Any], *, applied: str | None = None
    ) -> RunReport:
        outcome = str(values.get("outcome") or "done")
        status = _STATUS_FOR_OUTCOME.get(outcome, "failed" if outcome == "failed" else "completed")
        return await self._finish(
            run, status=status, outcome=outcome, detail=values.get("detail"), applied=applied
        )

    async def _finish(
        self,
        run: Run,
        *,
        status: str,
        outcome: str,
        detail: str | None,
        applied: str | None = None,
    ) -> RunReport:
        finished = {
            "actor": f"workflow:{run.workflow}",
            "kind": f"run.{status}",
            "summary": f"Run {run.id} {status}: {detail or outcome}",
            "run_id": run.id,
            "workflow": run.workflow,
            "workflow_version": run.workflow_version,
            "data": {"outcome": outcome},
        }
        fresh, _ = await self._hot.finish(
            run.id, status=status, outcome=outcome, detail=detail, applied=applied, event=finished
        )
        return RunReport(run=fresh)


def _config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}}


def _approval_of(value: Any) -> str | None:
    return value.get("approval_id") if isinstance(value, dict) else None


def _is_retry(value: Any) -> bool:
    return isinstance(value, dict) and "retry" in value
