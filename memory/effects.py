"""Effects ledger: intent before an external action, outcome after.

A row moves through these states::

    pending --> succeeded
       |  \\--> failed --(reopen)--> pending
       |  \\--> retrying --(take_retry)--> pending
       |            \\--(give_up)--> failed
       \\----> in_doubt --(resolve by an operator)--> succeeded | failed

``retrying`` means the action definitely did not happen and is tried again at
``next_try_at``, until ``retry_until`` has passed (see :mod:`graph.retry`).

``pending`` means the intent is recorded and the outcome is not yet known. A row that is
still ``pending`` when a new attempt starts belongs to an attempt that died mid-flight,
so the caller marks it ``in_doubt`` instead of repeating the action: only a person who
checked by hand may say whether it happened (:func:`resolve`).

Every transition is a single ``UPDATE ... WHERE status = ...`` and returns whether it
won, so two workers can never both move the same row. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from memory import events
from memory.models import Effect, utcnow

Status = Literal["pending", "succeeded", "failed", "in_doubt", "retrying"]

PENDING: Status = "pending"
SUCCEEDED: Status = "succeeded"
FAILED: Status = "failed"
IN_DOUBT: Status = "in_doubt"
RETRYING: Status = "retrying"


async def get(session: AsyncSession, *, key: str) -> Effect | None:
    """Return the ledger row for ``key`` as stored now.

    Args:
        session: an open session.
        key: the idempotency key.

    Returns:
        The row, or ``None`` when no intent was ever recorded.
    """
    # populate_existing: a row changed by a bulk UPDATE earlier in this session must not
    # come back with stale attributes from the identity map.
    result = await session.scalars(
        select(Effect).where(Effect.key == key).execution_options(populate_existing=True)
    )
    return result.one_or_none()


async def record_intent(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    run_id: str | None,
    request: dict[str, Any],
) -> Effect:
    """Record the intent to perform an effect, unless the key is already known.

    The insert is ``ON CONFLICT DO NOTHING``, so two concurrent callers never fail on
    the primary key; both get the single row back.

    Args:
        session: the session whose transaction the row joins.
        key: the idempotency key (at most 200 characters).
        kind: what sort of effect, e.g. ``"email"``.
        run_id: the workflow run on whose behalf the effect happens, if any.
        request: everything needed to perform or audit the effect (JSON-serialisable).

    Returns:
        The new ``pending`` row, or the existing row unchanged.

    Raises:
        ValueError: the key is empty or longer than the column allows.
    """
    if not key or len(key) > 200:
        raise ValueError("an effect key must be 1 to 200 characters long")
    now = utcnow()
    values = {
        "key": key,
        "kind": kind,
        "run_id": run_id,
        "status": PENDING,
        "request": request,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(
            postgresql.insert(Effect)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Effect.key])
        )
    elif dialect == "sqlite":
        await session.execute(
            sqlite.insert(Effect)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Effect.key])
        )
    elif await get(session, key=key) is None:
        session.add(Effect(**values))
        await session.flush()
    effect = await get(session, key=key)
    if effect is None:  # pragma: no cover - the row was inserted or already there
        raise RuntimeError(f"effect {key!r} vanished right after it was recorded")
    return effect


async def transition(
    session: AsyncSession,
    *,
    key: str,
    allowed_from: Sequence[Status],
    values: dict[str, Any],
    extra_where: Sequence[ColumnElement[bool]] = (),
) -> bool:
    """Move the row for ``key`` from one of ``allowed_from``; True when this call won."""
    statement = (
        update(Effect)
        .where(Effect.key == key, Effect.status.in_(allowed_from), *extra_where)
        .values(**values, updated_at=utcnow())
        # Rows already loaded are refreshed by get(); evaluating the criteria in Python
        # would only add surprises with expressions such as attempts + 1.
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def mark_attempt(
    session: AsyncSession, *, key: str, expected_attempts: int | None = None
) -> bool:
    """Count one more attempt on a ``pending`` effect, just before performing it.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        expected_attempts: when given, the update only wins if the row still has exactly
            this many attempts; a worker uses it to detect that someone else is working
            on the same key.

    Returns:
        Whether this call won (the row was ``pending`` and matched ``expected_attempts``).
    """
    extra = [] if expected_attempts is None else [Effect.attempts == expected_attempts]
    return await transition(
        session,
        key=key,
        allowed_from=[PENDING],
        values={"attempts": Effect.attempts + 1},
        extra_where=extra,
    )


async def mark_succeeded(session: AsyncSession, *, key: str, result: dict[str, Any]) -> bool:
    """Record that the effect happened.

    Allowed from ``pending`` and also from ``in_doubt``: the worker that holds proof of
    success knows better than a peer that guessed the attempt had died.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        result: what the outside world answered (JSON-serialisable).

    Returns:
        Whether this call won.
    """
    return await transition(
        session,
        key=key,
        allowed_from=[PENDING, IN_DOUBT],
        values={"status": SUCCEEDED, "result": result, "error": None, "next_try_at": None},
    )


async def mark_failed(session: AsyncSession, *, key: str, error: str) -> bool:
    """Record that the effect definitely did not happen.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        error: why, in words an operator understands.

    Returns:
        Whether this call won (the row was ``pending``).
    """
    return await transition(
        session, key=key, allowed_from=[PENDING], values={"status": FAILED, "error": error}
    )


async def mark_in_doubt(session: AsyncSession, *, key: str, error: str) -> bool:
    """Record that the effect may or may not have happened.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        error: what is known about the interrupted attempt.

    Returns:
        Whether this call won (the row was ``pending``).
    """
    return await transition(
        session, key=key, allowed_from=[PENDING], values={"status": IN_DOUBT, "error": error}
    )


async def reopen(session: AsyncSession, *, key: str, request: dict[str, Any] | None = None) -> bool:
    """Move a ``failed`` effect back to ``pending`` so it may be attempted again.

    Args:
        session: the session whose transaction the update joins.
        key: the idempotency key.
        request: a replacement request, when the new attempt carries new details.

    Returns:
        Whether this call won (the row was ``failed``).
    """
    values: dict[str, Any] = {
        "status": PENDING,
        "error": None,
        "next_try_at": None,
        "retry_until": None,
    }
    if request is not None:
        values["request"] = request
    return await transition(session, key=key, allowed_from=[FAILED], values=values)


async def for_run(session: AsyncSession, *, run_id: str) -> Sequence[Effect]:
    """Return a run's effects, oldest first.

    Args:
        session: an open session.
        run_id: the run.

    Returns:
        Its ledger rows.
    """
    result = await session.scalars(
        select(Effect)
        .where(Effect.run_id == run_id)
        .order_by(Effect.created_at, Effect.key)
        .execution_options(populate_existing=True)
    )
    return result.all()


async def in_doubt(session: AsyncSession, *, limit: int = 100) -> Sequence[Effect]:
    """Return effects waiting for an operator's verdict, oldest first.

    Args:
        session: an open session.
        limit: at most this many.

    Returns:
        The ``in_doubt`` rows, least recently updated first.
    """
    result = await session.scalars(
        select(Effect)
        .where(Effect.status == IN_DOUBT)
        .order_by(Effect.updated_at, Effect.key)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return result.all()


async def resolve(
    session: AsyncSession,
    *,
    key: str,
    outcome: Literal["succeeded", "failed"],
    actor: str,
    note: str | None = None,
    allowed_from: Sequence[Status] = (IN_DOUBT,),
) -> bool:
    """Settle an ``in_doubt`` effect after an operator checked by hand what happened.

    Appends an ``effect.resolved`` event in the same transaction when the change wins.

    Args:
        session: the session whose transaction the change joins.
        key: the idempotency key.
        outcome: ``"succeeded"`` (it did happen) or ``"failed"`` (it did not; a later
            attempt may perform it).
        actor: who checked, e.g. ``"telegram:123"``.
        note: what they saw, for the audit trail.
        allowed_from: the statuses it may be settled from; an email still being
            retried, or given up on, may be settled too ("I sent it by hand").

    Returns:
        Whether this call won (the row exists and was in one of ``allowed_from``).

    Raises:
        ValueError: ``outcome`` is neither ``"succeeded"`` nor ``"failed"``.
    """
    values: dict[str, Any]
    if outcome == SUCCEEDED:
        values = {
            "status": SUCCEEDED,
            "result": {"resolved_by": actor, "note": note},
            "error": None,
            "next_try_at": None,
        }
    elif outcome == FAILED:
        values = {
            "status": FAILED,
            "error": f"resolved as not done by {actor}: {note or '-'}",
            "next_try_at": None,
        }
    else:
        raise ValueError(f"outcome must be 'succeeded' or 'failed', not {outcome!r}")
    if not await transition(session, key=key, allowed_from=allowed_from, values=values):
        return False
    effect = await get(session, key=key)
    await events.append(
        session,
        actor=actor,
        kind="effect.resolved",
        summary=f"{actor} resolved in-doubt effect {key} as {outcome}",
        run_id=effect.run_id if effect is not None else None,
        reason=note,
        data={"key": key, "outcome": outcome},
    )
    return True
