"""Emails given up on: each chat is told once, with a one-tap Retry.

When an email's retry window passes (``graph.retry``), its run waits for the operator's
Retry. The dispatcher (``bot.core.delivery``) hands each channel that can show a notice
the give-ups it has not been told yet. As with batches and digests, each (give-up,
channel) is claimed in ``job_claims`` before the post, so several replicas and restarts
post it once, and a bot that was down when the retry gave up posts it at its next pass;
a failed post gives the claim back for the next pass. The tap itself goes through the
core (``Core.check_retry``, then ``/retry``), like the typed command.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.core.views import RetryNotice
from memory import jobs, retries
from memory.db import Sessions
from memory.models import Effect, Run

if TYPE_CHECKING:  # bot.core.delivery imports this module
    from bot.core.delivery import MessageRef

log = logging.getLogger(__name__)


@runtime_checkable
class RetryNotifier(Protocol):
    """A chat channel that can post a "Not sent ... [Retry]" notice."""

    channel: str

    async def post_retry(self, notice: RetryNotice) -> MessageRef | None:
        """Post the notice to the channel's default destination; None when there is none."""
        ...


def job_of(channel: str) -> str:
    """The ``job_claims`` job under which a channel's notices are claimed."""
    return f"retry-notice:{channel}"


def notice_of(key: str, effect: Effect, run: Run) -> RetryNotice:
    """The notice for a given-up email."""
    request = effect.request
    return RetryNotice(
        key=key,
        run_id=run.id,
        workflow=run.workflow,
        to=str(request.get("to", "?")),
        subject=str(request.get("subject", "")),
        why=effect.error or "the mail server did not take it",
    )


async def deliver(sessions: Sessions, notifier: RetryNotifier) -> int:
    """Post every notice ``notifier``'s channel is owed; returns how many were posted."""
    job = job_of(notifier.channel)
    async with sessions() as session:
        owed = await retries.given_up(session, unclaimed_by=job)
    posted = 0
    for key, effect, run in owed:
        async with sessions.begin() as session:
            won = await jobs.claim(session, job_id=job, fire_key=key, by=notifier.channel)
        if not won:
            continue  # another pass or replica posts it
        try:
            ref = await notifier.post_retry(notice_of(key, effect, run))
        except Exception:
            ref = None
            log.exception(
                "could not post a retry notice",
                extra={"channel": notifier.channel, "run_id": run.id},
            )
        if ref is None:
            async with sessions.begin() as session:
                await jobs.release(session, job_id=job, fire_key=key)
            continue
        posted += 1
    return posted
