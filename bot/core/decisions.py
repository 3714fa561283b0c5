"""A decision pressed on a card: the card shows it as soon as it commits, then the outcome.

The one path for Approve on a card (Telegram's callback, Slack's button, a Slack modal's
submission): the core decides with ``resume_later``, the card shows the decision, and once
the run has moved on (the email sent, or not) the same card shows where the run ended up.
Front-ends only say how to draw a response onto their card (:class:`CardView`) and how to
run work beside their handlers (``spawn``, which their stop waits for).

While a card is held (:meth:`CardView.held`) the dispatcher leaves it to this path: from
the decision to the run's outcome the card looks stale, and a refresh in between would
show less than the edit that follows, or show the outcome before the decision.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.core.commands import Core
from bot.core.messages import Inbound, Response

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], object]


class CardView(Protocol):
    """A front-end's view onto the card a decision was pressed on."""

    def held(self) -> AbstractAsyncContextManager[None]:
        """While entered, the dispatcher leaves this card to the decision's path."""
        ...

    async def decided(self, response: Response) -> None:
        """Show the decision (or why there is none) on the card and below it."""
        ...

    async def outcome(self, response: Response) -> None:
        """Show the run's outcome once the decision has been applied."""
        ...


async def decide_on_card(core: Core, inbound: Inbound, card: CardView, spawn: Spawn) -> Response:
    """Decide, show the decision on ``card``, and have the run's outcome follow on it.

    A refusal is shown once the card is no longer held, so that a stale card is brought up
    to date only when no other press is about to show the outcome.
    """
    async with card.held():
        response = await core.handle(inbound, resume_later=True)
        if not response.refused:
            await card.decided(response)
            follow(response, card, spawn)
            return response
    await card.decided(response)
    return response


def follow(response: Response, card: CardView, spawn: Spawn) -> None:
    """Once the decided run has moved on, show its outcome on ``card`` (in the background)."""
    if response.later is not None:
        spawn(_outcome(response.later, card))


async def _outcome(later: Awaitable[Response], card: CardView) -> None:
    """Wait for the resume (it never raises), then show where the run ended up."""
    async with card.held():
        settled = await later
        try:
            await card.outcome(settled)
        except Exception:
            log.exception("could not show a run's outcome", extra={"ref": secrets.token_hex(4)})
