"""Deliveries that must act once, whichever replica receives them and however often.

Chat platforms deliver some requests more than once (Slack's event retries, Telegram's
webhook redeliveries) and a captured request can be sent again. Each front-end names a
delivery by a key (an event id, a signature hash, an update id) and asks :class:`Once`
before acting: the key is claimed in ``job_claims`` (:func:`memory.jobs.claim`) under the
front-end's job id, so the first claimant wins on every replica sharing the database.
Claims outlive the platform's retry window (``keep``); older ones are deleted about every
ten minutes, in the transaction of a claim.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta

from memory import jobs
from memory.db import Sessions

PRUNE_EVERY_S = 600.0


class Once:
    """First-claimant-wins on delivery keys for one job id; see the module docstring."""

    def __init__(self, sessions: Sessions, *, job_id: str, keep: timedelta) -> None:
        self._sessions = sessions
        self.job_id = job_id
        self._keep = keep
        self._by = f"{socket.gethostname()}:{os.getpid()}"
        self._pruned = time.monotonic()

    async def first(self, key: str) -> bool:
        """Claim ``key`` (at most 60 characters).

        Returns:
            True for the first delivery of ``key``; False for any later one.
        """
        async with self._sessions() as session, session.begin():
            won = await jobs.claim(session, job_id=self.job_id, fire_key=key, by=self._by)
            if won and time.monotonic() - self._pruned > PRUNE_EVERY_S:
                self._pruned = time.monotonic()
                before = datetime.now(UTC) - self._keep
                await jobs.forget(session, job_id=self.job_id, before=before)
        return won
