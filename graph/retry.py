"""Sending again what the mail server could not take: due retries, giving up, Retry.

One mechanism. The effects ledger holds each retry (``retrying`` with ``next_try_at`` and
``retry_until``, :mod:`memory.retries`); the scheduler's minute tick calls
:meth:`Retrier.send_due` with its ``now``, and the operator's ``/retry`` calls
:meth:`Retrier.retry`. Both send under the run's lock through the same
:class:`~adapters.email.EmailSender` and key, so the ledger lets one attempt through at
a time and a success is never repeated. A run waiting in its workflow for the retry is
resumed once the email went out (the send node then finds it ``already_sent`` and the
workflow goes on); any other run only has its outcome updated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo

from adapters.email import EmailSender
from adapters.errors import EffectDeferred, EffectFailed, EffectInDoubt
from adapters.mime import EmailMessage
from graph.errors import NotFound
from graph.locks import RunLocks
from graph.reports import RunReport
from memory import effects, events, retries, runs
from memory.db import Sessions
from memory.models import Effect, Run

log = logging.getLogger(__name__)

RETRYABLE = ("retrying", "gave_up")  # run outcomes that /retry applies to

# Resume a run that waits in its workflow for a send retry (its lock held); None when
# the run does not wait for one.
Resume = Callable[[Run], Awaitable[RunReport | None]]


def not_sent_yet(short: str, next_try_at: datetime, zone: tzinfo = UTC) -> str:
    """The card's line while a retry is pending, the time in the operator's ``zone``.

    The database may hand back a naive time; the ledger keeps UTC.
    """
    aware = next_try_at if next_try_at.tzinfo else next_try_at.replace(tzinfo=UTC)
    return f"Not sent yet: {short}, next try {aware.astimezone(zone):%H:%M %Z}"


def in_doubt_detail(to: str, run_id: str) -> str:
    """The line for an email that may or may not have gone out."""
    return (
        f"The email to {to} may or may not have gone out (sending was interrupted). Check "
        f"your Sent folder, then /resolve {run_id} sent or /resolve {run_id} resend."
    )


def message_of(effect: Effect) -> EmailMessage:
    """The email an effect's request describes."""
    request = effect.request
    return EmailMessage(
        to=request["to"],
        subject=request["subject"],
        body=request["body"],
        reply_to=request.get("reply_to"),
    )


class Retrier:
    """Sends due email retries, gives up after the window, and does the operator's Retry."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        email: EmailSender,
        locks: RunLocks,
        resume: Resume,
        zone: tzinfo = UTC,
    ) -> None:
        self._sessions = sessions
        self._zone = zone  # the operator's, for "next try 14:05"
        self._email = email
        self._locks = locks
        self._resume = resume

    async def send_due(self, *, now: datetime) -> list[RunReport]:
        """Try every email whose retry is due at ``now``; give up on those past the window."""
        async with self._sessions() as session:
            due = await retries.retries_due(session, now=now)
            stuck = await retries.sent_while_waiting(session)
        reports = []
        for row in due:
            if row.run_id is None:
                continue
            async with self._locks.hold(row.run_id):
                report = await self._due(row.key, row.run_id, now=now)
            if report is not None:
                reports.append(report)
        for run_id in stuck:  # sent, then the process died before the workflow went on
            async with self._locks.hold(run_id):
                report = await self.went_out(run_id, None)
            if report is not None:
                reports.append(report)
        return reports

    async def retry(self, run_id: str, *, actor: str) -> RunReport:
        """The operator's Retry: send the run's unsent email now, whatever the schedule.

        Raises:
            NotFound: no such run, or nothing of it waits to be sent again.
        """
        async with self._locks.hold(run_id):
            unsent = await self._unsent(run_id)
            report = None
            for row in unsent:
                report = await self.send(row, actor=actor)
            assert report is not None
            return report

    async def check(self, run_id: str) -> None:
        """Whether :meth:`retry` would find something to send (read only, no lock).

        Raises:
            NotFound: no such run, or nothing of it waits to be sent again.
        """
        await self._unsent(run_id)

    async def _unsent(self, run_id: str) -> list[Effect]:
        async with self._sessions() as session:
            run = await runs.get(session, run_id=run_id)
            rows = await effects.for_run(session, run_id=run_id)
        if run is None:
            raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
        unsent = [e for e in rows if e.status in (effects.RETRYING, effects.FAILED)]
        if run.outcome not in RETRYABLE or run.status == "cancelled" or not unsent:
            raise NotFound(f"Run {run_id} has nothing to retry.")
        return unsent

    async def send(self, row: Effect, *, actor: str) -> RunReport:
        """Send ``row``'s email now and record where its run stands (hold the run's lock)."""
        assert row.run_id is not None
        try:
            await self._email.send(message_of(row), key=row.key, run_id=row.run_id, actor=actor)
        except EffectDeferred as exc:
            return await self._note(
                row.run_id, "retrying", not_sent_yet(exc.short, exc.next_try_at, self._zone)
            )
        except EffectFailed as exc:
            text = f"Not sent: {exc.reason}. Fix it, then /retry {row.run_id}."
            return await self._note(row.run_id, "gave_up", text)
        except EffectInDoubt:
            text = in_doubt_detail(str(row.request.get("to", "?")), row.run_id)
            return await self._note(row.run_id, "in_doubt", text)
        report = await self.went_out(row.run_id, f"Sent to {row.request.get('to')}")
        assert report is not None
        return report

    async def _due(self, key: str, run_id: str, *, now: datetime) -> RunReport | None:
        async with self._sessions() as session:
            row = await effects.get(session, key=key)
            run = await runs.get(session, run_id=run_id)
        if row is None or row.status != effects.RETRYING or row.next_try_at is None:
            return None  # someone else got to it first
        if row.next_try_at > now:
            return None
        if run is not None and run.status == "cancelled":
            return await self._give_up(row, "the run was cancelled", note=False)
        if row.retry_until is not None and row.retry_until <= now:
            return await self._give_up(row, f"gave up after {row.attempts} tries: {row.error}")
        return await self.send(row, actor="system:retry")

    async def _give_up(self, row: Effect, why: str, *, note: bool = True) -> RunReport | None:
        assert row.run_id is not None
        async with self._sessions.begin() as session:
            if await retries.give_up(session, key=row.key, error=why):
                await events.append(
                    session,
                    actor="system:retry",
                    kind="effect.gave_up",
                    summary=f"email to {row.request.get('to')} not sent: {why}",
                    run_id=row.run_id,
                    reason=why,
                    data={"key": row.key},
                )
        log.warning("gave up sending an email", extra={"effect_key": row.key, "error": why})
        if not note:
            return None
        return await self._note(
            row.run_id, "gave_up", f"Not sent: {why}. Retry with /retry {row.run_id}."
        )

    async def went_out(self, run_id: str, detail: str | None) -> RunReport | None:
        """The run's email went out: resume a run waiting for it, or note ``detail``.

        Hold the run's lock. None when there was nothing to resume and no ``detail``.
        """
        async with self._sessions() as session:
            run = await runs.get(session, run_id=run_id)
        if run is None:
            return None
        if run.status in runs.ACTIVE:
            report = await self._resume(run)
            if report is not None:
                return report
        if detail is None:
            return None
        return await self._note(run_id, "sent", detail)

    async def _note(self, run_id: str, outcome: str, detail: str) -> RunReport:
        async with self._sessions.begin() as session:
            run = await runs.get(session, run_id=run_id)
            assert run is not None
            await runs.set_status(
                session, run_id=run_id, status=run.status, outcome=outcome, detail=detail
            )
            fresh = await runs.get(session, run_id=run_id)
        assert fresh is not None
        return RunReport(run=fresh)
