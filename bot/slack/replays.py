"""Each Slack delivery acts once, however often it arrives.

Slack sends some requests more than once, and a captured request can be sent again:

- Events API retries: an event Slack got no timely 200 for comes again, up to three times
  over about five minutes (HTTP: ``X-Slack-Retry-Num``; Socket Mode: the envelope's
  ``retry_attempt``), always with the same ``event_id``.
- Replays: a signed HTTP request stays valid for the five minutes its timestamp allows;
  sent again byte for byte, it would start a second run.

One mechanism covers both. Before any listener runs, a Bolt middleware claims the
request's key with :class:`bot.core.once.Once` (job ``slack:request`` in ``job_claims``):
``event:`` + a hash of the ``event_id`` for an Events API delivery, in either mode, and
``sig:`` + a hash of ``X-Slack-Signature`` (which covers the timestamp and the body) for
any other HTTP request. The first claimant handles the request; every later delivery is
answered 200 with an empty body and does nothing else. The claim is in the database, so
it holds across replicas sharing it. Socket Mode payloads other than events are never
redelivered and carry no signature: they are not claimed.

The claim is taken before handling: a replica that dies while handling an event loses
that event rather than risk acting twice. A retry whose first delivery never arrived (an
outage) finds no claim and is handled. Claims are kept for an hour, well past Slack's
last retry and the signature window; older ones are deleted every ten minutes or so.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core.once import Once
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

JOB_ID = "slack:request"
KEEP = timedelta(hours=1)


def delivery_key(request: AsyncBoltRequest, body: dict[str, Any]) -> str | None:
    """What makes this delivery the same as another: its event or its signature.

    Returns:
        The claim key (at most 46 characters), or None for a Socket Mode payload that is
        not an event.
    """
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        return "event:" + _digest(event_id)
    signature = next(iter(request.headers.get("x-slack-signature") or ()), "")
    if request.mode != "socket_mode" and signature:
        return "sig:" + _digest(signature)
    return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


class Replays:
    """The middleware that lets each delivery through once; see the module docstring."""

    def __init__(self, once: Once) -> None:
        self._once = once

    async def first_delivery(
        self,
        req: AsyncBoltRequest,
        body: dict[str, Any],
        next: Callable[[], Awaitable[None]],  # Bolt passes arguments by these names
    ) -> BoltResponse | None:
        """Let a first delivery through to the listeners; answer any later one 200, empty."""
        key = delivery_key(req, body)
        if key is not None and not await self._once.first(key):
            log.info(
                "acknowledged a Slack delivery already handled",
                extra={"retry": (req.headers.get("x-slack-retry-num") or ["0"])[0]},
            )
            return BoltResponse(status=200, body="")
        await next()
        return None


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Install the middleware; Bolt runs it after its own checks, before any listener."""
    once = Once(ctx.runtime.sessions, job_id=JOB_ID, keep=KEEP)
    app.middleware(Replays(once).first_delivery)
