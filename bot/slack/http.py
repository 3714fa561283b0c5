"""HTTP mode: Bolt's request handling on ``POST /slack/events``, and ``GET /healthz``.

Each request's signature is checked here, on the raw body, before Bolt parses anything:
anyone who can reach the port can send anything, and what Bolt would do with an
unverified body (parse it, fail, hand it to the error handler, which answers its
``response_url``) is exactly what a forger wants. A timestamp that is not a number gets
400; a missing, bad or stale (5+ minutes off) signature gets 401; a signed body that is
not a Slack payload gets 400. Each is one warning line without the body; none reaches
Bolt or calls anywhere. Bolt checks the signature again, harmlessly. Replays and retries
of verified requests are :mod:`bot.slack.replays`' business.

One Bolt 1.30 quirk is fixed on the way in: its form parser takes any body containing
the word "payload" for an interaction, so a slash command such as
``/deskhand run ... need="payload API"`` would be dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
FORM = "application/x-www-form-urlencoded"
# Marks a Bolt request whose signature this module checked (the error handler reads it).
VERIFIED = "deskhand_verified"
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; int() is never given anything else
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

HealthCheck = Callable[[], Awaitable[bool]]


def web_app(
    app: AsyncApp, *, signing_secret: str, healthy: HealthCheck
) -> web.Application:
    """The aiohttp application serving Slack's requests and the health check."""
    application = web.Application(client_max_size=1024**2)
    verifier = SignatureVerifier(signing_secret)
    application.router.add_post(EVENTS_PATH, partial(handle_events, app, verifier))
    application.router.add_get(HEALTH_PATH, partial(handle_health, healthy))
    return application


async def handle_events(
    app: AsyncApp, verifier: SignatureVerifier, request: web.Request
) -> web.Response:
    """One request from Slack: verified here, dispatched by Bolt; answered with its ack."""
    # Slack sends UTF-8; anything else cannot carry a valid signature of what it says.
    body = (await request.read()).decode("utf-8", "replace")
    refused = refusal(verifier, body, request.headers)
    if refused is not None:
        return _refuse(request, *refused)
    try:
        bolt_request = AsyncBoltRequest(
            body=body, query=request.query_string, headers=dict(request.headers)
        )
    except (ValueError, TypeError, AttributeError, KeyError):
        # Signed, so from Slack (or whoever holds the secret), yet not a payload.
        return _refuse(request, 400, "a signed Slack request whose body is not a payload")
    restore_slash_command(bolt_request)
    bolt_request.context[VERIFIED] = True
    bolt_response = await app.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


def refusal(
    verifier: SignatureVerifier, body: str, headers: Mapping[str, str]
) -> tuple[int, str] | None:
    """Why a request is refused (HTTP status, reason), or None when Slack signed it."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if timestamp is not None and not TIMESTAMP.fullmatch(timestamp):
        return 400, "a Slack request whose timestamp is not a number"
    if timestamp is None or signature is None:
        return 401, "an unsigned Slack request"
    # The pattern keeps compare_digest to ASCII strings (it raises on anything else).
    if not SIGNATURE.fullmatch(signature) or not verifier.is_valid(body, timestamp, signature):
        return 401, "a Slack request with a bad or stale signature"
    return None


def _refuse(request: web.Request, status: int, what: str) -> web.Response:
    # One line, no body: it may name anyone's response_url and carries no secret of ours.
    log.warning("refused %s", what, extra={"remote": request.remote or "?", "status": status})
    return web.Response(status=status)


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
