"""Claims for scheduled work: each firing runs once, whichever replica claims it first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from memory.models import Digest, JobClaim


async def claim(session: AsyncSession, *, job_id: str, fire_key: str, by: str) -> bool:
    """Claim one firing of a job.

    Args:
        session: the session; the caller commits.
        job_id: the job, e.g. ``batch:telegram`` or ``schedule:S1``.
        fire_key: the firing, e.g. the window start or the scheduled time.
        by: which replica claims (for the record).

    Returns:
        True for the first claimant only.
    """
    try:
        async with session.begin_nested():
            session.add(JobClaim(job_id=job_id, fire_key=fire_key, claimed_by=by))
    except IntegrityError:
        return False
    return True


async def forget(session: AsyncSession, *, job_id: str, before: datetime) -> int:
    """Delete the claims of ``job_id`` taken before ``before`` (claims that only need to
    outlive a retry window, such as Slack deliveries).

    Returns:
        How many claims were deleted.
    """
    result = await session.execute(
        delete(JobClaim).where(JobClaim.job_id == job_id, JobClaim.claimed_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release(session: AsyncSession, *, job_id: str, fire_key: str) -> None:
    """Give a claim back (the work it claimed could not be done), so it is claimed again.

    Args:
        session: the session; the caller commits.
        job_id: the job.
        fire_key: the firing.
    """
    await session.execute(
        delete(JobClaim).where(JobClaim.job_id == job_id, JobClaim.fire_key == fire_key)
    )


async def claim_digest(
    session: AsyncSession,
    *,
    key: str,
    period_start: datetime,
    period_end: datetime,
    summary: dict[str, Any],
) -> bool:
    """Record the digest ``key`` unless one with that key went out already.

    Returns:
        True for the one caller that should send it.
    """
    try:
        async with session.begin_nested():
            session.add(
                Digest(
                    fire_key=key, period_start=period_start, period_end=period_end, summary=summary
                )
            )
    except IntegrityError:
        return False
    return True


async def last_digest_end(session: AsyncSession) -> datetime | None:
    """When the previous daily digest's period ended (None before the first one)."""
    return await session.scalar(
        select(func.max(Digest.period_end)).where(Digest.fire_key.like("digest:%"))
    )


async def digest_items(session: AsyncSession, *, key: str) -> list[str]:
    """The low-risk approval ids a digest offered to approve in one go."""
    digest = await session.scalar(select(Digest).where(Digest.fire_key == key))
    return list(digest.summary.get("low_risk_ids", [])) if digest else []
