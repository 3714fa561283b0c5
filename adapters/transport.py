"""What a mail transport promises, and when to try again after it refuses for now.

Transports: :class:`~adapters.smtp.SmtpTransport` (aiosmtplib) and
:class:`~adapters.outbox.OutboxTransport`, the zero-config default that writes ``.eml``
files to a directory.
"""

from __future__ import annotations

import email.message
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


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
