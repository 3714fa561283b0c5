"""Idempotent email sending through the effects ledger.

:class:`EmailSender` records the intent in the ledger before talking to a transport and
the outcome after, so one idempotency key sends at most one email: a repeat returns
``already_sent``, and an attempt that died mid-flight surfaces as :class:`EffectInDoubt`
for a person to check instead of a second copy in the recipient's inbox.

Transports: :class:`SmtpTransport` (aiosmtplib) and :class:`OutboxTransport`, the
zero-config default that writes ``.eml`` files to a directory.
"""

from __future__ import annotations

import email.message
import email.policy
import email.utils
import hashlib
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.errors import (
    DeliveryOutcomeUnknown,
    EffectDeferred,
    EffectFailed,
    EffectInDoubt,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from memory import effects, events, retries
from memory.models import Effect, utcnow

logger = logging.getLogger(__name__)

EFFECT_KIND = "email"


@dataclass(frozen=True)
class EmailMessage:
    """A plain-text email as a workflow drafts it."""

    to: str
    subject: str
    body: str
    reply_to: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What :meth:`EmailSender.send` did for one idempotency key."""

    key: str
    message_id: str
    status: Literal["sent", "already_sent"]
    transport: str
    detail: str


def message_id_for(key: str, sender: str) -> str:
    """Derive the RFC 5322 Message-ID for an idempotency key.

    The same key always yields the same Message-ID, so a copy that slipped through
    twice is recognisable as one message in any mail log.

    Args:
        key: the idempotency key.
        sender: the From address; its domain becomes the Message-ID's right-hand side.

    Returns:
        A Message-ID such as ``<3f2a...@example.com>``.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    _, address = email.utils.parseaddr(sender)
    domain = address.rpartition("@")[2].strip().lower() if "@" in address else ""
    if not domain or not re.fullmatch(r"[a-z0-9.-]+", domain):
        domain = "localhost"
    return f"<{digest}@{domain}>"


def _reject_line_breaks(name: str, value: str | None) -> None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"{name} must not contain line breaks (CR or LF)")


def build_mime(
    message: EmailMessage, *, sender: str, message_id: str
) -> email.message.EmailMessage:
    """Build the MIME message for ``message``.

    Args:
        message: what to send.
        sender: the From address.
        message_id: the Message-ID header value (see :func:`message_id_for`).

    Returns:
        A ``text/plain; charset=utf-8`` message with From, To, Subject, Date, Message-ID
        and, when set, Reply-To.

    Raises:
        ValueError: a header value contains CR or LF (header injection) or ``to`` is
            empty.
    """
    _reject_line_breaks("to", message.to)
    _reject_line_breaks("subject", message.subject)
    _reject_line_breaks("reply_to", message.reply_to)
    _reject_line_breaks("sender", sender)
    if not message.to.strip():
        raise ValueError("to must be an email address, not empty")
    mime = email.message.EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = message_id
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    mime.set_content(message.body, subtype="plain", charset="utf-8")
    return mime


class Transport(Protocol):
    """Delivers one MIME message.

    ``deliver`` returns a human-readable detail and raises
    :class:`~adapters.errors.TemporaryDeliveryError` (definitely not delivered, worth
    retrying), :class:`~adapters.errors.PermanentDeliveryError` (refused for good) or
    :class:`~adapters.errors.DeliveryOutcomeUnknown` (contact lost after the message
    left).
    """

    name: str

    async def deliver(self, msg: email.message.EmailMessage) -> str: ...


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a temporary delivery error, and for how long.

    The pause grows from ``first_delay`` seconds, doubling, to at most ``max_delay``; after
    ``window`` since the first failure the scheduler gives up (:mod:`graph.retry`).
    """

    first_delay: float = 15.0
    max_delay: float = 300.0
    window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not 0 < self.first_delay <= self.max_delay:
            raise ValueError("RetryPolicy needs 0 < first_delay <= max_delay")

    def delay(self, attempt: int) -> float:
        """Return the pause after failed attempt number ``attempt`` (1-based).

        Exponential backoff capped at ``max_delay``, with jitter in the upper half so
        that senders that failed together do not retry together.
        """
        cap = min(self.max_delay, self.first_delay * 2 ** min(attempt - 1, 30))
        return random.uniform(cap / 2, cap)


DEFAULT_RETRY = RetryPolicy()

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
        _reject_line_breaks("sender", sender)
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
        message_id = message_id_for(key, self._sender)
        mime = build_mime(message, sender=self._sender, message_id=message_id)
        log = {"effect_key": key, "run_id": run_id, "message_id": message_id}
        request = {
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "reply_to": message.reply_to,
            "sender": self._sender,
            "message_id": message_id,
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
                outcome = None if fresh else self._settled(effect, message_id)
            else:
                outcome = await self._claim(session, effect, message_id, request, actor, log)
            expected_attempts = effect.attempts
        # Raised only here, after the transaction committed the in_doubt mark.
        if isinstance(outcome, (EffectInDoubt, EffectDeferred)):
            raise outcome
        if outcome is not None:
            return outcome

        async with self._sessions() as session, session.begin():
            won = await effects.mark_attempt(session, key=key, expected_attempts=expected_attempts)
        if not won:
            return await self._lost_race(key, message_id, log)
        attempt = expected_attempts + 1
        logger.info(
            "delivering email", extra={**log, "attempt": attempt, "transport": self._transport.name}
        )
        # Anything not caught below (cancellation, a crash, a bug in a transport) leaves
        # the row pending on purpose: the next call finds it and reports the effect in
        # doubt rather than sending it again.
        try:
            detail = await self._transport.deliver(mime)
        except TemporaryDeliveryError as exc:
            now = self._clock()
            next_try = now + timedelta(seconds=self._retry.delay(attempt))
            await self._record_retry(
                message, key, run_id, actor, str(exc), next_try, now + self._retry.window, log
            )
            raise EffectDeferred(key, str(exc), short=exc.short, next_try_at=next_try) from exc
        except PermanentDeliveryError as exc:
            await self._record_failure(message, key, run_id, actor, str(exc), log)
            raise EffectFailed(key, str(exc)) from exc
        except DeliveryOutcomeUnknown as exc:
            await self._record_in_doubt(key, run_id, actor, str(exc), message_id, log)
            raise EffectInDoubt(key, message_id, str(exc)) from exc
        return await self._record_success(message, key, run_id, actor, message_id, detail, log)

    def _settled(
        self, effect: Effect, message_id: str
    ) -> SendResult | EffectInDoubt | EffectDeferred:
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

    async def _claim(
        self,
        session: AsyncSession,
        effect: Effect,
        message_id: str,
        request: dict[str, Any],
        actor: str,
        log: dict[str, Any],
    ) -> SendResult | EffectInDoubt | EffectDeferred | None:
        """Decide what an existing ledger row allows; ``None`` means go ahead and send."""
        key = effect.key
        if effect.status == effects.RETRYING:
            # Not sent last time, definitely: trying now is safe whoever asks (the tick
            # or the operator); the row changes hands once, so one of them sends.
            if await retries.take_retry(session, key=key, request=request):
                return None
            refreshed = await effects.get(session, key=key)
            return self._settled(refreshed or effect, message_id)
        if effect.status == effects.FAILED:
            if await effects.reopen(session, key=key, request=request):
                return None
            refreshed = await effects.get(session, key=key)
            return self._settled(refreshed or effect, message_id)
        if effect.status == effects.PENDING and effect.attempts == 0:
            # Intent recorded, but no attempt was ever counted: the attempt counter is
            # committed before a message goes to the transport, so nothing left. Safe to
            # send; the compare-and-set on attempts still lets only one sender through.
            return None
        if effect.status == effects.PENDING:
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
                await events.append(
                    session,
                    actor=actor,
                    kind="effect.in_doubt",
                    summary=f"email {key} is in doubt: an earlier attempt was interrupted",
                    run_id=effect.run_id,
                    reason=error,
                    data={"key": key, "message_id": message_id, "attempts": effect.attempts},
                )
                logger.error("email effect in doubt", extra={**log, "error": error})
                return EffectInDoubt(key, message_id, error)
            refreshed = await effects.get(session, key=key)
            return self._settled(refreshed or effect, message_id)
        return self._settled(effect, message_id)

    async def _lost_race(self, key: str, message_id: str, log: dict[str, Any]) -> SendResult:
        async with self._sessions() as session:
            effect = await effects.get(session, key=key)
        outcome = (
            self._settled(effect, message_id)
            if effect is not None
            else EffectInDoubt(key, message_id, "the ledger row disappeared")
        )
        if isinstance(outcome, SendResult):
            return outcome
        if isinstance(outcome, EffectDeferred):
            raise outcome
        logger.error("email effect changed under a running send", extra=log)
        raise EffectInDoubt(
            key,
            message_id,
            "another sender is working on the same key right now (callers must serialize per key)",
        )

    async def _record_success(
        self,
        message: EmailMessage,
        key: str,
        run_id: str | None,
        actor: str,
        message_id: str,
        detail: str,
        log: dict[str, Any],
    ) -> SendResult:
        transport = self._transport.name
        result = {"message_id": message_id, "transport": transport, "detail": detail}
        async with self._sessions() as session, session.begin():
            won = await effects.mark_succeeded(session, key=key, result=result)
            await events.append(
                session,
                actor=actor,
                kind="effect.succeeded",
                summary=f"email to {message.to} sent: {message.subject}",
                run_id=run_id,
                data={"key": key, **result},
            )
        if not won:
            # Someone resolved the row as failed meanwhile; the event above still tells
            # the truth, the operator must reconcile the row.
            logger.error("email sent but the ledger row was no longer open", extra=log)
        logger.info("email sent", extra={**log, "transport": transport})
        return SendResult(key, message_id, "sent", transport, detail)

    async def _record_failure(
        self,
        message: EmailMessage,
        key: str,
        run_id: str | None,
        actor: str,
        reason: str,
        log: dict[str, Any],
    ) -> None:
        async with self._sessions() as session, session.begin():
            if await effects.mark_failed(session, key=key, error=reason):
                await events.append(
                    session,
                    actor=actor,
                    kind="effect.failed",
                    summary=f"email to {message.to} not sent: {message.subject}",
                    run_id=run_id,
                    reason=reason,
                    data={"key": key, "transport": self._transport.name},
                )
        logger.warning("email not sent", extra={**log, "error": reason})

    async def _record_retry(
        self,
        message: EmailMessage,
        key: str,
        run_id: str | None,
        actor: str,
        reason: str,
        next_try_at: datetime,
        retry_until: datetime,
        log: dict[str, Any],
    ) -> None:
        async with self._sessions() as session, session.begin():
            if await retries.mark_retrying(
                session, key=key, error=reason, next_try_at=next_try_at, retry_until=retry_until
            ):
                await events.append(
                    session,
                    actor=actor,
                    kind="effect.retrying",
                    summary=f"email to {message.to} not sent yet, next try "
                    f"{next_try_at:%H:%M:%S} UTC: {message.subject}",
                    run_id=run_id,
                    reason=reason,
                    data={"key": key, "next_try_at": next_try_at.isoformat()},
                )
        logger.warning(
            "email delivery failed temporarily",
            extra={**log, "error": reason, "next_try_at": next_try_at.isoformat()},
        )

    async def _record_in_doubt(
        self,
        key: str,
        run_id: str | None,
        actor: str,
        error: str,
        message_id: str,
        log: dict[str, Any],
    ) -> None:
        async with self._sessions() as session, session.begin():
            if await effects.mark_in_doubt(session, key=key, error=error):
                await events.append(
                    session,
                    actor=actor,
                    kind="effect.in_doubt",
                    summary=f"email {key} is in doubt: contact was lost mid-delivery",
                    run_id=run_id,
                    reason=error,
                    data={"key": key, "message_id": message_id},
                )
        logger.error("email effect in doubt", extra={**log, "error": error})
