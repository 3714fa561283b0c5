"""Retries in the effects ledger: an effect that did not happen is tried again later.

A temporary failure moves a ``pending`` row to ``retrying`` with the time of the next
attempt; the scheduler's tick takes due rows back to ``pending`` (one winner per row, so
one attempt) and the sender tries again. Once ``retry_until`` has passed the row is given
up (``failed``) and waits for the operator's Retry. See :mod:`memory.effects` for the
other states; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory.effects import FAILED, PENDING, RETRYING, SUCCEEDED, transition
from memory.models import Effect, JobClaim, Run


async def mark_retrying(
    session: AsyncSession, *, key: str, error: str, next_try_at: datetime, retry_until: datetime
) -> bool:
    """Record that the effect did not happen this time and is to be tried again.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        error: why this attempt failed.
        next_try_at: when the next attempt is due.
        retry_until: when to stop trying; kept from an earlier failure when one set it.

    Returns:
        Whether this call won (the row was ``pending``).
    """
    return await transition(
        session,
        key=key,
        allowed_from=[PENDING],
        values={
            "status": RETRYING,
            "error": error,
            "next_try_at": next_try_at,
            "retry_until": func.coalesce(Effect.retry_until, retry_until),
        },
    )


async def take_retry(
    session: AsyncSession, *, key: str, request: dict[str, Any] | None = None
) -> bool:
    """Move a ``retrying`` effect back to ``pending`` to attempt it now.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        request: a replacement request, when the new attempt carries new details.

    Returns:
        Whether this call won (the row was ``retrying``).
    """
    values: dict[str, Any] = {"status": PENDING}
    if request is not None:
        values["request"] = request
    return await transition(session, key=key, allowed_from=[RETRYING], values=values)


async def give_up(session: AsyncSession, *, key: str, error: str) -> bool:
    """Stop retrying: the effect did not happen and waits for the operator's Retry.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        error: why, in words an operator understands.

    Returns:
        Whether this call won (the row was ``retrying``).
    """
    return await transition(
        session,
        key=key,
        allowed_from=[RETRYING],
        values={"status": FAILED, "error": error, "next_try_at": None},
    )


async def retries_due(
    session: AsyncSession, *, now: datetime, limit: int = 100
) -> Sequence[Effect]:
    """Return ``retrying`` effects whose next attempt is due at ``now``, earliest first.

    Args:
        session: an open session.
        now: the time to compare ``next_try_at`` with.
        limit: at most this many.

    Returns:
        The due rows.
    """
    result = await session.scalars(
        select(Effect)
        .where(Effect.status == RETRYING, Effect.next_try_at <= now)
        .order_by(Effect.next_try_at, Effect.key)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return result.all()


def give_up_key() -> ColumnElement[str | None]:
    """Names one giving-up: ``<run>#<attempts>``; a Retry that gives up again makes a new one.

    Per run, since a Retry is per run. Fits ``job_claims.fire_key`` (60 characters).
    """
    return Effect.run_id + literal("#") + cast(Effect.attempts, String)


async def given_up(
    session: AsyncSession, *, unclaimed_by: str, limit: int = 50
) -> Sequence[tuple[str, Effect, Run]]:
    """Emails given up on (``failed`` after retrying) whose run still waits for a Retry.

    Oldest first. A run that failed at once (a permanent refusal) or was cancelled is not
    one of them: its outcome is not ``gave_up``.

    Args:
        session: an open session.
        unclaimed_by: leave out those whose :func:`give_up_key` this job has claimed
            (``memory.jobs.claim``).
        limit: at most this many.

    Returns:
        (give-up key, effect, run) for each.
    """
    key = give_up_key()
    claimed = select(JobClaim.fire_key).where(JobClaim.job_id == unclaimed_by)
    result = await session.execute(
        select(key, Effect, Run)
        .join(Run, Run.id == Effect.run_id)
        .where(
            Effect.status == FAILED,
            Run.outcome == "gave_up",
            Run.status.not_in(("cancelled", "failed")),
            key.not_in(claimed),
        )
        .order_by(Effect.updated_at, Effect.key)
        .limit(limit)
    )
    seen: set[str] = set()
    found: list[tuple[str, Effect, Run]] = []
    for fire_key, effect, run in result.all():
        key_text = str(fire_key)  # never NULL: the join needs the run id
        if key_text not in seen:  # two emails of one run given up together: one notice
            seen.add(key_text)
            found.append((key_text, effect, run))
    return found


async def sent_while_waiting(session: AsyncSession, *, limit: int = 100) -> Sequence[str]:
    """Return runs still waiting for a send retry although their email went out.

    A process that died between the send and resuming the workflow leaves them so.

    Args:
        session: an open session.
        limit: at most this many.

    Returns:
        Their run ids.
    """
    result = await session.scalars(
        select(Run.id)
        .join(Effect, Effect.run_id == Run.id)
        .where(
            Run.status == "waiting",
            Run.outcome.in_(("retrying", "gave_up")),
            Effect.status == SUCCEEDED,
        )
        .distinct()
        .limit(limit)
    )
    return result.all()
