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

from langgraph.checkpoint.base import BaseCheckpointSaver

from graph import cancel, deciding, expiry, recovery
from graph.advance import Advancer
from graph.deps import WorkflowDeps
from graph.doubt import settle_in_doubt
from graph.errors import NotFound
from graph.locks import RunLocks
from graph.reports import DecideReport, RunDetail, RunReport
from graph.retry import Retrier
from graph.spec import WorkflowSpec
from graph.tasks import TaskSet
from memory import approvals, decisions, effects, events, records, runs
from memory.approvals import Action
from memory.db import is_transient, retrying
from memory.models import Approval, Effect, Run

log = logging.getLogger(__name__)

# How many decided runs resume at once in the background. Each resume holds a database
# connection and its run's lock; more would only queue on SQLite's single writer.
DECISIONS_AT_ONCE = 4

# A resume in the background retries this long while the database is away (a tap or a
# /run gives up sooner, see ``deciding.ANSWER_RETRY_S``), then the minute tick takes over.
RESUME_RETRY_S = 600.0


class RunManager:
    """Starts and advances workflow runs on a LangGraph checkpointer: the bot's one door."""

    def __init__(
        self,
        *,
        deps: WorkflowDeps,
        checkpointer: BaseCheckpointSaver[str],
        workflows: Mapping[str, WorkflowSpec],
        locks: RunLocks,
    ) -> None:
        self._sessions = deps.sessions
        self._resuming = TaskSet()
        self._stopping = asyncio.Event()
        self._resume_slots = asyncio.Semaphore(DECISIONS_AT_ONCE)
        self._locks = locks
        self._specs = dict(workflows)
        self._advancer = Advancer(
            deps=deps, checkpointer=checkpointer, workflows=self._specs, locks=locks
        )
        self._retrier = Retrier(
            sessions=deps.sessions,
            email=deps.email,
            locks=locks,
            resume=self._advancer.resume_send,
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

        run = await retrying(create, within=deciding.ANSWER_RETRY_S, what="start a run")
        async with self._locks.hold(run.id):
            try:
                return await self._advancer.advance(run, {"inputs": clean})
            except Exception as error:
                if not is_transient(error):
                    raise
            try:
                # Carry on from wherever the failed attempt's checkpoints got to.
                return await retrying(
                    lambda: self._advancer.continue_held(run),
                    within=deciding.ANSWER_RETRY_S,
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
        return await deciding.decide(
            self._advancer,
            specs=self._specs,
            resume_later=self._resume_later,
            approval_id=approval_id,
            action=action,
            actor=actor,
            actor_name=actor_name,
            reason=reason,
            changes=changes,
            wait=wait,
        )

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
            return await self._advancer.apply(approval, verify=checked)

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

    async def refused(self, *, actor: str, approval: Approval | None, why: str) -> None:
        """Log a refused attempt to decide (already decided, not allowed, unknown)."""
        await decisions.refused(self._sessions, actor=actor, approval=approval, why=why)

    # -- expiry and snooze -------------------------------------------------------------

    async def expire_due(self, *, now: datetime) -> list[DecideReport]:
        """Expire every approval past its time; each run continues with its default."""
        return await expiry.expire_due(sessions=self._sessions, apply=self._advancer.apply, now=now)

    async def snooze(self, approval_id: str, *, until: datetime, actor: str) -> Approval:
        """Keep a pending approval out of batches and digests until ``until``."""
        return await expiry.snooze(
            sessions=self._sessions, approval_id=approval_id, until=until, actor=actor
        )

    # -- cancel (graph/cancel.py) --------------------------------------------------------

    async def cancel(self, run_id: str, *, actor: str, reason: str | None = None) -> Run:
        """Cancel a running or waiting run and close its open approvals.

        Raises:
            NotFound: no such run.
            RunNotActive: it already finished.
        """
        return await cancel.cancel(
            sessions=self._sessions, locks=self._locks, run_id=run_id, actor=actor, reason=reason
        )

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

    # -- cards --------------------------------------------------------------------------

    async def with_run(self, approval_id: str) -> tuple[Approval, Run] | None:
        """Return an approval and its run, fresh from the database, or None."""
        return await decisions.with_run(self._sessions, approval_id=approval_id)

    async def mark_shown(
        self, *, approval_id: str, channel: str, chat_id: str, message_id: str, status: str
    ) -> bool:
        """Record that a card of ``approval_id`` now shows ``status``; True when it changed.

        True too when the card was not recorded yet (a tap on it came before its post was
        recorded); see :func:`memory.decisions.mark_shown`.
        """
        return await decisions.mark_shown(
            self._sessions,
            approval_id=approval_id,
            channel=channel,
            chat_id=chat_id,
            message_id=message_id,
            status=status,
        )

    # -- read --------------------------------------------------------------------------

    async def get_approval(self, approval_id: str) -> Approval:
        """Return an approval or raise NotFound."""
        return await self._read_approval(approval_id)

    async def _read_approval(self, approval_id: str) -> Approval:
        async with self._sessions() as session:
            approval = await approvals.get(session, approval_id=approval_id)
        if approval is None:
            raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
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

    # -- recovery (graph/recovery.py) ----------------------------------------------------

    async def recover(self) -> list[RunReport]:
        """Finish what a crash interrupted: apply committed decisions, continue runs.

        Safe to call on every start and from several replicas at once: each run is
        re-checked under its lock.
        """
        return await recovery.recover(self._advancer, before=None)

    async def resume_stalled(self, *, before: datetime) -> list[RunReport]:
        """Apply decisions and continue runs that nobody has advanced since ``before``.

        A resume that gave up (the database was away longer than its retries) or a run
        whose start could not finish leaves work behind while the bot keeps running; the
        scheduler's minute tick calls this so it is not left until the next start.
        """
        return await recovery.recover(self._advancer, before=before)
