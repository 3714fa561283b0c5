"""The Slack front-end's one error handler: log with a reference id, tell the user briefly.

The log gets the traceback, the reference and what kind of request failed, never the
request body (it carries Slack's legacy verification token) nor any token. The user
gets the reference only, never the exception text.

Only a request known to come from Slack is answered: one whose signature
:mod:`bot.slack.http` checked, or one from the Socket Mode connection. Anything else is
logged in one line and left alone, so that a forged body can never choose where the
answer goes (its ``response_url``, user or channel).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.cards import Conversation, message_of, tell
from bot.slack.context import SlackContext
from bot.slack.http import VERIFIED
from bot.slack.payloads import CHANNEL_ID, USER_ID

log = logging.getLogger(__name__)


async def on_error(
    ctx: SlackContext,
    error: Exception,
    body: dict[str, Any],
    request: AsyncBoltRequest,
    respond: AsyncRespond | None,
) -> None:
    """Anything a handler let escape: logged with a reference the user is shown."""
    if request.mode != "socket_mode" and not request.context.get(VERIFIED):
        log.warning("an unverified Slack request failed", extra={"error": type(error).__name__})
        return
    try:
        await _report(ctx, error, body, respond)
    finally:
        _keep_ack(request)  # last: nothing may run between this and Bolt's reset


async def _report(
    ctx: SlackContext, error: Exception, body: dict[str, Any], respond: AsyncRespond | None
) -> None:
    ref = secrets.token_hex(4)
    user_id, channel_id = _who(body)
    log.error(
        "Slack request failed",
        exc_info=(type(error), error, error.__traceback__),
        extra={"ref": ref, "kind": _kind(body), "user": user_id or "?"},
    )
    if not user_id:
        return
    text = f"Something went wrong on my side (ref {ref}). The details are in the log."
    conv = Conversation(user_id, channel_id=channel_id, respond=respond)
    try:
        await tell(ctx, conv, message_of(text, "error"))
    except Exception:  # the error handler itself must never raise
        log.warning("could not tell the user about an error", extra={"ref": ref}, exc_info=True)


def _keep_ack(request: AsyncBoltRequest) -> None:
    """Keep the ack of a listener that failed after acknowledging.

    Bolt 1.30 resets the ack to None right after this handler returns; when that happens
    before its 10 ms ack polling saw the ack, Slack waits 3 s and gets a 404. Put the ack
    back just after Bolt clears it: ``call_soon`` runs once the failed listener's task
    yields, which is after the reset (no await comes between).
    """
    ack = request.context.ack
    acked = ack.response if ack is not None else None
    if ack is not None and acked is not None:
        asyncio.get_running_loop().call_soon(setattr, ack, "response", acked)


def _who(body: dict[str, Any]) -> tuple[str, str | None]:
    """The user and channel a request came from, when they look like Slack ids."""
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user") or ""
    channel = (
        body.get("channel_id")
        or (body.get("container") or {}).get("channel_id")
        or event.get("channel")
        or ""
    )
    user = str(user) if USER_ID.fullmatch(str(user)) else ""
    return user, (str(channel) if CHANNEL_ID.fullmatch(str(channel)) else None)


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return f"command {str(body['command'])[:40]}"
    if body.get("type") == "event_callback":
        return f"event {str((body.get('event') or {}).get('type', '?'))[:40]}"
    return str(body.get("type", "unknown"))[:40]


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Install the error handler."""
    app.error(partial(on_error, ctx))
