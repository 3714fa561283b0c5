"""Commands and text: each message goes to the core, and its answer comes back rendered.

In a private chat everything the user sends is for Deskhand; in a group only commands are
(addressed to this bot or to no bot in particular), so the group's conversation is left
alone. Replies to the bot's questions are taken first by :mod:`bot.telegram.conversation`.
"""

from __future__ import annotations

import functools

from telegram import BotCommand, Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.core.commands import Core
from bot.core.help import COMMANDS
from bot.core.messages import Inbound, Response, Text
from bot.telegram.deps import TelegramDeps, user_of

GREETING = (
    "\U0001f44b Hi {name}! I am Deskhand: I run your workflows and ask you before anything "
    "risky happens, with Approve / Reject / Edit buttons right here."
)


async def on_message(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, deps: TelegramDeps
) -> None:
    """Send a command or a line of text to the core and reply with what it answers."""
    message, sender = update.message, update.effective_user
    if message is None or sender is None:
        return
    text = message.text or ""  # a photo or a sticker: the core answers with a hint
    if addressed_elsewhere(text, context.bot.username):
        return
    response = await deps.core.handle(Inbound(user_of(sender), text=text))
    if command_name(text) == "start" and not response.refused:
        hello = Text(GREETING.format(name=sender.first_name or "there"))
        response = Response((hello, *response.replies), refused=False)
    await deps.notifier.send(message.chat_id, response, reply_to=_reply_to(message))


def _reply_to(message: Message) -> int | None:
    # In a group, answers quote the command so everyone sees what they answer.
    return None if message.chat.type == ChatType.PRIVATE else message.message_id


def command_name(text: str) -> str | None:
    """``run`` for ``/run@deskhand_bot ...``; None when the text is not a command."""
    if not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0][1:]
    return head.split("@", 1)[0].lower() or None


def addressed_elsewhere(text: str, username: str | None) -> bool:
    """True for ``/cmd@other_bot``: in a group that command is for another bot."""
    if not text.startswith("/"):
        return False
    head = text.split(maxsplit=1)[0]
    _, at, target = head.partition("@")
    return bool(at) and target.lower() != (username or "").lower()


def bot_commands(core: Core) -> list[BotCommand]:
    """The command menu for setMyCommands: what /help lists, with /help's descriptions.

    Commands /help does not list stay out: /start is what Telegram sends by itself, and
    /approvelow is a digest button's typed form, of no use without the digest's key.
    """
    described = {usage.split()[0].lstrip("/"): (usage, text) for usage, text in COMMANDS}
    menu = []
    for name in core.command_names:
        if name not in described:
            continue
        usage, text = described[name]
        args = usage.partition(" ")[2]
        description = text[:1].upper() + text[1:] + (f": /{name} {args}" if args else "")
        menu.append(BotCommand(name, description[:256]))
    return menu


def register(application: Application, deps: TelegramDeps) -> None:
    """Route private messages and group commands to :func:`on_message`."""
    handle = functools.partial(on_message, deps=deps)
    new = filters.UpdateType.MESSAGE  # edits of old messages are not new commands
    application.add_handler(MessageHandler(new & filters.ChatType.PRIVATE, handle))
    application.add_handler(MessageHandler(new & filters.ChatType.GROUPS & filters.COMMAND, handle))
