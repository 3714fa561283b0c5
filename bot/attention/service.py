"""The attention service: expiry, batches, reminders and the daily digest, per tick.

The scheduler calls :meth:`Attention.tick` every minute with the real time; tests call it
with simulated times. Every send is claimed in the database first, so several replicas
(or a restart in the middle of a window) never send the same batch or digest twice.

The attention budget (``batch_limit`` batches per channel per digest period) is counted
from those claims too, never held in memory: a restart or a second replica sees the
batches already sent, and once the budget is spent low- and medium-risk requests wait
for the next digest (``/pending`` lists them meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attention.digest import assemble
from bot.attention.policy import AttentionPolicy
from bot.attention.schedules import Schedules
from bot.core.delivery import Notifier
from bot.core.views import ApprovalView, BatchView, DigestView, ScheduledItem
from graph.runs import RunManager
from memory import approvals, deliveries, events, jobs
from memory.db import Sessions
from memory.models import Approval, JobClaim

log = logging.getLogger(__name__)

HELD_RISKS = ("low", "medium")
# Each batch sent takes a slot ``<budget key>#<n>`` under this job id in ``job_claims``:
# counting them gives the budget spent, and the primary key keeps it exact across replicas.
BUDGET_JOB = "batch-budget"
# Without any earlier digest, only a tick within this long after digest time sends one:
# a fresh install at 15:00 should not open with a "catch-up" digest.
FIRST_DIGEST_GRACE = timedelta(hours=1)


class AttentionNotifier(Notifier, Protocol):
    """A chat channel that can also show batches and digests."""

    async def post_batch(self, view: BatchView) -> None:
        """Post one message holding the batch."""
        ...

    async def post_digest(self, view: DigestView) -> None:
        """Post the digest (one message, or a first page plus "N more")."""
        ...


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    expired: int = 0
    retried: int = 0
    batches: int = 0
    digests: int = 0
    reminded: int = 0


def _awake(approval: Approval, now: datetime) -> bool:
    return approval.snoozed_until is None or approval.snoozed_until <= now


async def _batches_sent(session: AsyncSession, *, channel: str, budget: str) -> int:
    """How many batches ``channel`` was sent under the budget ``budget`` (by any replica)."""
    count = await session.scalar(
        select(func.count())
        .select_from(JobClaim)
        .where(
            JobClaim.job_id == f"{BUDGET_JOB}:{channel}",
            JobClaim.fire_key.startswith(f"{budget}#", autoescape=True),
        )
    )
    return int(count or 0)


class Attention:
    """Decides what reaches the operator, and when."""

    def __init__(
        self,
        *,
        manager: RunManager,
        sessions: Sessions,
        policy: AttentionPolicy,
        notifiers: Sequence[AttentionNotifier],
        instance: str = "deskhand",
        schedules: Schedules | None = None,
    ) -> None:
        self._manager = manager
        self._sessions = sessions
        self._policy = policy
        self._notifiers = list(notifiers)
        self._instance = instance
        self._schedules = schedules

    @property
    def policy(self) -> AttentionPolicy:
        """The policy in force."""
        return self._policy

    def add_notifier(self, notifier: AttentionNotifier) -> None:
        """Deliver batches and digests to another channel from now on."""
        self._notifiers.append(notifier)

    async def tick(self, now: datetime) -> TickReport:
        """Expire what is due, retry unsent email, send the digest and batches when due."""
        expired = len(await self._manager.expire_due(now=now))
        # Emails the mail server could not take yet: due retries go out, expired ones give up.
        retried = len(await self._manager.retry_due(now=now))
        if self._schedules is not None:
            await self._schedules.fire_due_once(now)
        # The digest first: a batch in the same window would repeat what it just showed.
        digests = await self._daily_digest(now)
        batches, reminded = await self._batches(now)
        return TickReport(
            expired=expired, retried=retried, batches=batches, digests=digests, reminded=reminded
        )

    async def _batches(self, now: datetime) -> tuple[int, int]:
        window = self._policy.batch_window(now).isoformat()
        budget = self._policy.budget_key(now)
        async with self._sessions() as session:
            last_digest = await jobs.last_digest_end(session)
            due = await approvals.reminders_due(session, now=now)
        sent = 0
        for notifier in self._notifiers:
            channel = notifier.channel
            async with self._sessions.begin() as session:
                spent = await _batches_sent(session, channel=channel, budget=budget)
                slot = self._policy.batch_slot(now, sent=spent, last_digest=last_digest)
                won = slot is not None and await jobs.claim(
                    session, job_id=f"batch:{channel}", fire_key=window, by=self._instance
                )
            if slot is None or not won:
                continue
            new = await self._take(channel, slot, now, reminders=bool(due))
            if new is None:
                continue
            fresh_ids = {a.id for a in new}
            view = BatchView(
                key=f"batch:{window}",
                new=tuple(ApprovalView.of(a) for a in new),
                reminders=tuple(ApprovalView.of(a) for a in due if a.id not in fresh_ids),
                zone=self._policy.zone,
            )
            try:
                await notifier.post_batch(view)
            except Exception:
                # Give the requests back so a later batch or the digest shows them; the
                # budget slot stays spent, so a flaky channel can never exceed the limit.
                log.exception("batch not delivered", extra={"channel": channel, "slot": slot})
                async with self._sessions.begin() as session:
                    for approval in new:
                        await deliveries.release(session, approval_id=approval.id, channel=channel)
                continue
            sent += 1
        reminded = await self._mark_reminded(due, now) if sent else 0
        return sent, reminded

    async def _take(
        self, channel: str, slot: str, now: datetime, *, reminders: bool
    ) -> list[Approval] | None:
        """Claim a budget slot and the held requests its batch delivers, in one transaction.

        Returns:
            The requests claimed for the batch; None when there is nothing to send or
            another replica took the slot (then nothing is claimed).
        """
        async with self._sessions() as session:
            held = await deliveries.undelivered(
                session, channel=channel, risks=HELD_RISKS, limit=200
            )
        awake = [a for a in held if _awake(a, now)]
        if not awake and not reminders:
            return None
        async with self._sessions.begin() as session:
            if not await jobs.claim(
                session, job_id=f"{BUDGET_JOB}:{channel}", fire_key=slot, by=self._instance
            ):
                return None
            claimed = [
                a
                for a in awake
                if await deliveries.claim(session, approval_id=a.id, channel=channel)
            ]
            if not claimed and not reminders:
                # All of it went out elsewhere meanwhile: keep the slot for a real batch.
                await session.rollback()
                return None
        return claimed

    async def _mark_reminded(self, due: Sequence[Approval], now: datetime) -> int:
        count = 0
        for approval in due:
            async with self._sessions.begin() as session:
                if await approvals.mark_reminded(session, approval_id=approval.id, now=now):
                    count += 1
                    await events.append(
                        session,
                        actor="system:attention",
                        kind="approval.reminded",
                        summary=f"Reminded about approval {approval.id}",
                        run_id=approval.run_id,
                        approval_id=approval.id,
                    )
        return count

    async def _daily_digest(self, now: datetime) -> int:
        scheduled_at = self._policy.last_digest_time(now)
        async with self._sessions() as session:
            last_end = await jobs.last_digest_end(session)
        if last_end is None and now - scheduled_at > FIRST_DIGEST_GRACE:
            return 0
        if last_end is not None and last_end >= scheduled_at:
            return 0
        view = await self.digest(now, key=self._policy.digest_key(now), record=True)
        return 0 if view is None else 1

    async def digest(self, now: datetime, *, key: str, record: bool) -> DigestView | None:
        """Assemble the digest since the last one and send it to every channel.

        With ``record`` it is the daily digest: claimed under ``key`` (so it goes out once
        however many replicas or restarts) and the next one starts where it ends. None
        when another replica had already sent it.
        """
        async with self._sessions.begin() as session:
            last_end = await jobs.last_digest_end(session)
            start = last_end or now - timedelta(days=1)
            view = await assemble(
                session,
                key=key,
                period_start=start,
                now=now,
                scheduled=await self._upcoming(now),
                zone=self._policy.zone,
            )
            summary = {"low_risk_ids": list(view.low_risk_ids), "waiting": view.waiting_total}
            if record:
                if not await jobs.claim_digest(
                    session, key=key, period_start=start, period_end=now, summary=summary
                ):
                    return None
            else:
                # Kept so its "Approve all low-risk" button can find the items it showed.
                await jobs.claim_digest(
                    session, key=key, period_start=start, period_end=now, summary=summary
                )
        for notifier in self._notifiers if record else ():
            await self._claim_shown(notifier.channel, view)
            try:
                await notifier.post_digest(view)
            except Exception:
                log.exception("digest not delivered", extra={"channel": notifier.channel})
        return view

    async def _claim_shown(self, channel: str, view: DigestView) -> None:
        async with self._sessions.begin() as session:
            for item in view.waiting:
                await deliveries.claim(session, approval_id=item.id, channel=channel)

    async def _upcoming(self, now: datetime) -> tuple[ScheduledItem, ...]:
        digest = ScheduledItem(self._policy.next_digest_time(now), "next digest")
        planned = await self._schedules.upcoming(now) if self._schedules else ()
        return tuple(sorted((digest, *planned), key=lambda item: item.at))
