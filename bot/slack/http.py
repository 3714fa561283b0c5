"""HTTP mode: Bolt's request handling on ``POST /slack/events``, and ``GET /healthz``.

Bolt verifies each request's signature and timestamp (401 for a bad or stale one, which
is logged here without the body). One Bolt 1.30 quirk is fixed on the way in: its form
parser takes any body containing the word "payload" for an interaction, so a slash
command such as ``/deskhand run ... need="payload API"`` would be dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from graph.foreground import Foreground

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
FORM = "application/x-www-form-urlencoded"

HealthCheck = Callable[[], Awaitable[bool]]


def web_app(app: AsyncApp, *, healthy: HealthCheck, intake: Foreground) -> web.Application:
    """The aiohttp application serving Slack's requests and the health check.

    Each request counts as busy in ``intake`` until Bolt hands back its ack
    (:mod:`bot.core.intake`).
    """
    application = web.Application(client_max_size=1024**2)
    application.router.add_post(EVENTS_PATH, partial(handle_events, app, intake))
    application.router.add_get(HEALTH_PATH, partial(handle_health, healthy))
    return application


async def handle_events(app: AsyncApp, intake: Foreground, request: web.Request) -> web.Response:
    """One request from Slack: verified and dispatched by Bolt; answered with its ack."""
    with intake.busy():
        bolt_request = await to_bolt_request(request)
        restore_slash_command(bolt_request)
        bolt_response = await app.async_dispatch(bolt_request)
    if bolt_response.status == 401:
        log.warning(
            "refused a Slack request with a bad or stale signature",
            extra={"remote": request.remote or "?"},
        )
    return await to_aiohttp_response(bolt_response)


def restore_slash_command(request: AsyncBoltRequest) -> None:
    """Parse a slash command Bolt mistook for an interaction (its text says "payload").

    Only the parsed view changes; the signature is still checked on the raw body.
    """
    if request.body or request.content_type != FORM or "payload" not in request.raw_body:
        return
    form = dict(parse_qsl(request.raw_body, keep_blank_values=True))
    if "payload" in form or "command" not in form:
        return
    request.body = form
    request.context = build_async_context(AsyncBoltContext({}), form)


async def handle_health(healthy: HealthCheck, request: web.Request) -> web.Response:
    """``GET /healthz``: 200 when the database answers, 503 otherwise (for load balancers)."""
    if await healthy():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "database unavailable"}, status=503)
