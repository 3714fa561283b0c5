"""Idempotent email sending through the effects ledger.

:class:`EmailSender` records the intent in the ledger before talking to a transport and
the outcome after, so one idempotency key sends at most one email: a repeat returns
``already_sent``, and an attempt that died mid-flight surfaces as :class:`EffectInDoubt`
for a person to check instead of a second copy in the recipient's inbox.

The message itself is built in :mod:`adapters.mime`; the transports and the retry policy
are described in :mod:`adapters.transport`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.errors import (
    DeliveryOutcomeUnknown,
    EffectDeferred,
    EffectFailed,
    EffectInDoubt,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from adapters.ledger import Attempt, SendResult, claim, lost_race, record, settled
from adapters.mime import EmailMessage, build_mime, message_id_for, reject_line_breaks
from adapters.transport import DEFAULT_RETRY, RetryPolicy, Transport
from memory import effects, retries
from memory.models import utcnow

logger = logging.getLogger(__name__)

EFFECT_KIND = "email"

Clock = Callable[[], datetime]


class EmailSender:
    """Sends email at most once per idempotency key, recording everything in the ledger."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        transport: Transport,
        sender: str,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Clock = utcnow,
    ) -> None:
        reject_line_breaks("sender", sender)
        self._sessions = sessions
        self._transport = transport
        self._sender = sender
        self._retry = retry
        self._clock = clock

    async def send(
        self, message: EmailMessage, *, key: str, run_id: str | None, actor: str = "system"
    ) -> SendResult:
        """Send ``message`` unless the ledger says ``key`` was already handled.

        Callers serialize calls per key (one workflow step owns a key). That is what lets
        a ``pending`` row found here be read as "a previous attempt died mid-flight".

        Args:
            message: what to send.
            key: the idempotency key, e.g. ``"<run id>:welcome-email"``.
            run_id: the workflow run on whose behalf the email goes out, if any.
            actor: recorded on the audit events.

        Returns:
            ``status="sent"`` after a delivery, ``"already_sent"`` when the ledger shows
            an earlier success for this key (nothing is sent then).

        Raises:
            ValueError: a header value contains CR/LF, or ``to`` is empty.
            EffectInDoubt: an earlier attempt may have delivered the message, or this one
                lost contact mid-delivery; a person must check and resolve it.
            EffectDeferred: not delivered this time for a reason that may pass (server
                down, 4xx); the ledger row is ``retrying`` with the time of the next try.
            EffectFailed: the message was definitely not delivered (refused for good).
        """
        attempt = Attempt(message, key, run_id, actor, message_id_for(key, self._sender))
        mime = build_mime(message, sender=self._sender, message_id=attempt.message_id)
        request = {
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "reply_to": message.reply_to,
            "sender": self._sender,
            "message_id": attempt.message_id,
        }

        outcome: SendResult | EffectInDoubt | EffectDeferred | None
        async with self._sessions() as session, session.begin():
            effect = await effects.get(session, key=key)
            if effect is None:
                effect = await effects.record_intent(
                    session, key=key, kind=EFFECT_KIND, run_id=run_id, request=request
                )
                # A racing peer may have inserted the row first; the attempt counter
                # below (compare-and-set on attempts) lets only one of us deliver.
                fresh = effect.status == effects.PENDING and effect.attempts == 0
                outcome = None if fresh else settled(effect, attempt.message_id)
            else:
                outcome = await claim(session, effect, attempt, request)
            expected_attempts = effect.attempts
        # Raised only here, after the transaction committed the in_doubt mark.
        if isinstance(outcome, (EffectInDoubt, EffectDeferred)):
            raise outcome
        if outcome is not None:
            return outcome

        async with self._sessions() as session, session.begin():
            won = await effects.mark_attempt(session, key=key, expected_attempts=expected_attempts)
        if not won:
            return await lost_race(self._sessions, attempt)
        tries = expected_attempts + 1
        logger.info(
            "delivering email",
            extra={**attempt.log, "attempt": tries, "transport": self._transport.name},
        )
        # Anything not caught below (cancellation, a crash, a bug in a transport) leaves
        # the row pending on purpose: the next call finds it and reports the effect in
        # doubt rather than sending it again.
        try:
            detail = await self._transport.deliver(mime)
        except TemporaryDeliveryError as exc:
            now = self._clock()
            next_try = now + timedelta(seconds=self._retry.delay(tries))
            until = now + self._retry.window
            async with self._sessions.begin() as session:
                if await retries.mark_retrying(
                    session, key=key, error=str(exc), next_try_at=next_try, retry_until=until
                ):
                    await record(
                        session,
                        attempt,
                        kind="effect.retrying",
                        summary=f"email to {message.to} not sent yet, next try "
                        f"{next_try:%H:%M:%S} UTC: {message.subject}",
                        reason=str(exc),
                        data={"next_try_at": next_try.isoformat()},
                    )
            logger.warning(
                "email delivery failed temporarily",
                extra={**attempt.log, "error": str(exc), "next_try_at": next_try.isoformat()},
            )
            raise EffectDeferred(key, str(exc), short=exc.short, next_try_at=next_try) from exc
        except PermanentDeliveryError as exc:
            async with self._sessions.begin() as session:
                if await effects.mark_failed(session, key=key, error=str(exc)):
                    await record(
                        session,
                        attempt,
                        kind="effect.failed",
                        summary=f"email to {message.to} not sent: {message.subject}",
                        reason=str(exc),
                        data={"transport": self._transport.name},
                    )
            logger.warning("email not sent", extra={**attempt.log, "error": str(exc)})
            raise EffectFailed(key, str(exc)) from exc
        except DeliveryOutcomeUnknown as exc:
            async with self._sessions.begin() as session:
                if await effects.mark_in_doubt(session, key=key, error=str(exc)):
                    await record(
                        session,
                        attempt,
                        kind="effect.in_doubt",
                        summary=f"email {key} is in doubt: contact was lost mid-delivery",
                        reason=str(exc),
                        data={"message_id": attempt.message_id},
                    )
            logger.error("email effect in doubt", extra={**attempt.log, "error": str(exc)})
            raise EffectInDoubt(key, attempt.message_id, str(exc)) from exc
        transport = self._transport.name
        result = {"message_id": attempt.message_id, "transport": transport, "detail": detail}
        async with self._sessions.begin() as session:
            won = await effects.mark_succeeded(session, key=key, result=result)
            # Recorded even when someone resolved the row as failed meanwhile: the event
            # tells the truth, and the operator must reconcile the row.
            await record(
                session,
                attempt,
                kind="effect.succeeded",
                summary=f"email to {message.to} sent: {message.subject}",
                data=result,
            )
        if not won:
            logger.error("email sent but the ledger row was no longer open", extra=attempt.log)
        logger.info("email sent", extra={**attempt.log, "transport": transport})
        return SendResult(key, attempt.message_id, "sent", transport, detail)
