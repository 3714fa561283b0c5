"""``/deskhand <subcommand>``, direct messages and @mentions: all reach the same core.

Slash commands are acknowledged first (Slack allows 3 seconds), then answered: lists and
notices privately, approval cards as messages that can be updated in place.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.messages import Inbound
from bot.slack.cards import Conversation, answer
from bot.slack.context import SlackContext
from bot.slack.payloads import command_text, message_text

SLASH_COMMAND = "/deskhand"


async def on_command(
    ctx: SlackContext, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
) -> None:
    """``/deskhand run ...``: ack at once, then answer through the core."""
    await ack()
    async with ctx.busy():
        user_id = str(command.get("user_id", ""))
        user = await ctx.user(user_id, command.get("user_name"))
        text = command_text(command.get("text", ""))
        response = await ctx.core.handle(Inbound(user, text=text))
        conv = Conversation(user_id, channel_id=command.get("channel_id"), respond=respond)
        await answer(ctx, response, conv)


async def on_message(ctx: SlackContext, event: dict[str, Any]) -> None:
    """A direct message to the app: the same commands, typed without ``/deskhand``."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return  # edits, joins, our own posts: nothing to answer
    await _converse(ctx, event, thread_ts=event.get("thread_ts"))


async def on_mention(ctx: SlackContext, event: dict[str, Any]) -> None:
    """``@Deskhand pending`` in a channel: answered in a thread under the mention."""
    await _converse(ctx, event, thread_ts=event.get("thread_ts") or event.get("ts"))


async def _converse(ctx: SlackContext, event: dict[str, Any], *, thread_ts: str | None) -> None:
    user_id = str(event.get("user", ""))
    if not user_id:
        return
    async with ctx.busy():
        user = await ctx.user(user_id)
        text = message_text(str(event.get("text", "")), ctx.core.command_names)
        response = await ctx.core.handle(Inbound(user, text=text))
        conv = Conversation(user_id, channel_id=event.get("channel"), thread_ts=thread_ts)
        await answer(ctx, response, conv)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Wire the slash command and the message events."""
    app.command(SLASH_COMMAND)(partial(on_command, ctx))
    app.event("message")(partial(on_message, ctx))
    app.event("app_mention")(partial(on_mention, ctx))
