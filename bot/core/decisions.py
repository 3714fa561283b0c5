"""A decision pressed on a card: the card shows it as soon as it commits, then the outcome.

The one path for Approve on a card (Telegram's callback, Slack's button, a Slack modal's
submission): the core decides with ``resume_later``, the card shows the decision, and once
the run has moved on (the email sent, or not) the same card shows where the run ended up.
Front-ends only say how to draw a response onto their card (:class:`CardView`) and how to
run work beside their handlers (``spawn``, which their stop waits for).

The dispatcher may see the same card behind meanwhile (from the decision to the run's
outcome it is) and edit it too; both claim each state before editing
(``bot.core.delivery.edit_card``), so each state is shown once, by whoever claimed it
first, and the card never goes back from the outcome to the decision.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from bot.core.commands import Core
from bot.core.messages import Inbound, Response

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], object]


class CardView(Protocol):
    """A front-end's view onto the card a decision was pressed on."""

    async def decided(self, response: Response) -> None:
        """Show the decision (or why there is none) on the card and below it."""
        ...

    async def outcome(self, response: Response) -> None:
        """Show the run's outcome once the decision has been applied."""
        ...


async def decide_on_card(core: Core, inbound: Inbound, card: CardView, spawn: Spawn) -> Response:
    """Decide, show the decision on ``card``, and have the run's outcome follow on it."""
    response = await core.handle(inbound, resume_later=True)
    await card.decided(response)
    if not response.refused:
        follow(response, card, spawn)
    return response


def follow(response: Response, card: CardView, spawn: Spawn) -> None:
    """Once the decided run has moved on, show its outcome on ``card`` (in the background)."""
    if response.later is not None:
        spawn(_outcome(response.later, card))


async def _outcome(later: Awaitable[Response], card: CardView) -> None:
    """Wait for the resume (it never raises), then show where the run ended up."""
    settled = await later
    try:
        await card.outcome(settled)
    except Exception:
        log.exception("could not show a run's outcome", extra={"ref": secrets.token_hex(4)})
