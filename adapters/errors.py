"""Errors raised by adapters that reach the outside world.

The hierarchy::

    AdapterError
    ├── EffectInDoubt            - an effect may or may not have happened; a person must check
    ├── EffectFailed             - an effect definitely did not happen and will not be retried
    ├── EffectDeferred           - an effect did not happen yet; it is retried at a set time
    ├── TemporaryDeliveryError   - a transport did not deliver; trying again may work
    ├── PermanentDeliveryError   - a transport did not deliver; trying again will not help
    └── DeliveryOutcomeUnknown   - a transport lost contact mid-delivery; it may have arrived

The three ``*Delivery*`` errors are what transports raise; the sender turns them into
``EffectFailed``, ``EffectDeferred`` or ``EffectInDoubt`` after updating the effects
ledger, so workflow code only ever sees those three. Messages say what to do next and
never contain credentials.
"""

from __future__ import annotations

from datetime import datetime


class AdapterError(Exception):
    """Base class for every adapter error."""


class EffectInDoubt(AdapterError):
    """An effect may have happened; repeating it blindly could do it twice."""

    def __init__(self, key: str, message_id: str | None = None, detail: str | None = None) -> None:
        self.key = key
        self.message_id = message_id
        self.detail = detail
        where = f" (Message-ID {message_id})" if message_id else ""
        why = f": {detail}" if detail else ""
        super().__init__(
            f"effect {key!r} is in doubt{why}. Check whether it happened{where}, e.g. in "
            "the recipient's inbox or the mail server's log, then resolve it with "
            "memory.effects.resolve(outcome='succeeded' or 'failed'); it will not be "
            "retried automatically."
        )


class EffectFailed(AdapterError):
    """An effect definitely did not happen."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(
            f"effect {key!r} failed and did not happen: {reason}. Fix the cause (address, "
            "mail server settings) and send again with the same key; that is safe."
        )


class EffectDeferred(AdapterError):
    """An effect did not happen this time, for a reason that may pass; it is tried again."""

    def __init__(self, key: str, reason: str, *, short: str, next_try_at: datetime) -> None:
        self.key = key
        self.reason = reason
        self.short = short
        self.next_try_at = next_try_at
        super().__init__(
            f"effect {key!r} did not happen yet ({reason}); it is tried again at "
            f"{next_try_at:%Y-%m-%d %H:%M:%S} UTC, or now with /retry."
        )


class TemporaryDeliveryError(AdapterError):
    """Not delivered, for a reason that may go away (server down, 4xx reply).

    ``short`` says it in a few words for a card ("mail server unreachable").
    """

    def __init__(self, message: str, *, short: str = "mail server unreachable") -> None:
        super().__init__(message)
        self.short = short


class PermanentDeliveryError(AdapterError):
    """Not delivered, and the same request would be refused again (5xx reply, bad config)."""


class DeliveryOutcomeUnknown(AdapterError):
    """Contact was lost after the message left; it may or may not have been delivered."""
