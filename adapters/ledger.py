"""What the effects ledger says about one email, and how a send changes it.

An email's row in ``effects`` (key = the idempotency key) moves by compare-and-set:
``pending`` with an attempt counter, then ``succeeded``, ``failed``, ``retrying`` or
``in_doubt``. :func:`claim` reads an existing row into "go ahead" or an outcome,
:func:`settled` turns a row that allows no new attempt into the caller's answer, and
:func:`record` appends the audit event beside each change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.errors import EffectDeferred, EffectInDoubt
from adapters.mime import EmailMessage
from memory import effects, events, retries
from memory.models import Effect

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """What :meth:`~adapters.email.EmailSender.send` did for one idempotency key."""

    key: str
    message_id: str
    status: Literal["sent", "already_sent"]
    transport: str
    detail: str


@dataclass(frozen=True)
class Attempt:
    """One call of :meth:`~adapters.email.EmailSender.send`: what records and logs name."""

    message: EmailMessage
    key: str
    run_id: str | None
    actor: str
    message_id: str

    @property
    def log(self) -> dict[str, Any]:
        """The structured fields for a log line about this send."""
        return {"effect_key": self.key, "run_id": self.run_id, "message_id": self.message_id}


def settled(effect: Effect, message_id: str) -> SendResult | EffectInDoubt | EffectDeferred:
    """What a ledger row that allows no new attempt means for the caller."""
    if effect.status == effects.RETRYING and effect.next_try_at is not None:
        reason = effect.error or "an earlier attempt failed"
        return EffectDeferred(
            effect.key, reason, short="not sent yet", next_try_at=effect.next_try_at
        )
    if effect.status == effects.SUCCEEDED:
        result = effect.result or {}
        return SendResult(
            key=effect.key,
            message_id=str(result.get("message_id") or message_id),
            status="already_sent",
            transport=str(result.get("transport") or "unknown"),
            detail=str(result.get("detail") or result.get("note") or "sent earlier"),
        )
    return EffectInDoubt(effect.key, message_id, effect.error)


async def record(
    session: AsyncSession,
    attempt: Attempt,
    *,
    kind: str,
    summary: str,
    data: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Append the audit event for a change of the row, in the transaction that made it.

    Callers append it only when their compare-and-set moved the row, so two racing
    senders leave one event.
    """
    await events.append(
        session,
        actor=attempt.actor,
        kind=kind,
        summary=summary,
        run_id=attempt.run_id,
        reason=reason,
        data={"key": attempt.key, **data},
    )


async def claim(
    session: AsyncSession, effect: Effect, attempt: Attempt, request: dict[str, Any]
) -> SendResult | EffectInDoubt | EffectDeferred | None:
    """Decide what an existing ledger row allows; ``None`` means go ahead and attempt."""
    key = effect.key
    if effect.status == effects.RETRYING:
        # Not sent last time, definitely: trying now is safe whoever asks (the tick
        # or the operator); the row changes hands once, so one of them sends.
        if await retries.take_retry(session, key=key, request=request):
            return None
    elif effect.status == effects.FAILED:
        if await effects.reopen(session, key=key, request=request):
            return None
    elif effect.status == effects.PENDING and effect.attempts == 0:
        # Intent recorded, but no attempt was ever counted: the attempt counter is
        # committed before a message goes to the transport, so nothing left. Safe to
        # send; the compare-and-set on attempts still lets only one sender through.
        return None
    elif effect.status == effects.PENDING:
        # This check is what makes a crash between the SMTP send and the ledger
        # record surface as "in doubt" instead of sending twice. A pending row here
        # means an earlier attempt recorded its intent and never its outcome: the
        # process died after the server took the message but before the result was
        # written, or before sending at all. Nobody can tell which from here, so a
        # person decides (effects.resolve) rather than the recipient getting two.
        error = (
            f"an earlier attempt ({effect.attempts} tries) ended without recording "
            "whether the email went out"
        )
        if await effects.mark_in_doubt(session, key=key, error=error):
            await record(
                session,
                attempt,
                kind="effect.in_doubt",
                summary=f"email {key} is in doubt: an earlier attempt was interrupted",
                reason=error,
                data={"message_id": attempt.message_id, "attempts": effect.attempts},
            )
            logger.error("email effect in doubt", extra={**attempt.log, "error": error})
            return EffectInDoubt(key, attempt.message_id, error)
    else:
        return settled(effect, attempt.message_id)
    # The row changed under us: read it again and go by what it says now.
    refreshed = await effects.get(session, key=key)
    return settled(refreshed or effect, attempt.message_id)


async def lost_race(sessions: async_sessionmaker[AsyncSession], attempt: Attempt) -> SendResult:
    """What to report when another sender counted an attempt first.

    Raises:
        EffectDeferred: the other attempt failed for now.
        EffectInDoubt: the other attempt is still running, or the row is gone.
    """
    async with sessions() as session:
        effect = await effects.get(session, key=attempt.key)
    outcome = (
        settled(effect, attempt.message_id)
        if effect is not None
        else EffectInDoubt(attempt.key, attempt.message_id, "the ledger row disappeared")
    )
    if isinstance(outcome, SendResult):
        return outcome
    if isinstance(outcome, EffectDeferred):
        raise outcome
    logger.error("email effect changed under a running send", extra=attempt.log)
    raise EffectInDoubt(
        attempt.key,
        attempt.message_id,
        "another sender is working on the same key right now (callers must serialize per key)",
    )
