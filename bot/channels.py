"""``deskhand run``: start the configured chat channels and the dispatcher; stop cleanly.

Telegram starts when ``TELEGRAM_BOT_TOKEN`` is set, Slack when ``SLACK_BOT_TOKEN`` is;
with neither (or with ``deskhand chat``) the terminal channel runs in the foreground.
Front-ends are imported only when configured: each costs start-up time and memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
from typing import Protocol

from bot.core.delivery import Dispatcher, Notifier
from bot.core.messages import User
from bot.runtime import Runtime
from bot.terminal.chat import TerminalChat, read_stdin, write_stdout

log = logging.getLogger(__name__)


class ChatChannel(Protocol):
    """A running chat front-end."""

    name: str
    notifier: Notifier

    async def start(self) -> None:
        """Connect and begin receiving updates."""
        ...

    async def stop(self) -> None:
        """Stop receiving and close connections."""
        ...


def build_channels(runtime: Runtime) -> list[ChatChannel]:
    """The chat front-ends whose tokens are set, built but not started."""
    settings = runtime.settings
    channels: list[ChatChannel] = []
    if settings.telegram_bot_token is not None:
        from bot.telegram.app import TelegramChannel

        channels.append(TelegramChannel(runtime))
    if settings.slack_bot_token is not None:
        from bot.slack.app import SlackChannel

        channels.append(SlackChannel(runtime))
    return channels


async def serve(runtime: Runtime, *, terminal: bool | None = None) -> None:
    """Run until SIGINT/SIGTERM, or until the terminal chat ends when it is in front."""
    channels = build_channels(runtime)
    dispatcher = Dispatcher(sessions=runtime.sessions, notifiers=[c.notifier for c in channels])
    runtime.core.on_change(dispatcher.poke)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started: list[ChatChannel] = []
    background = asyncio.create_task(dispatcher.run(stop))
    try:
        for channel in channels:
            await channel.start()
            started.append(channel)
            log.info("channel started", extra={"channel": channel.name})
        if terminal or not channels:
            user = User("terminal", getpass.getuser(), getpass.getuser())
            chat = TerminalChat(
                core=runtime.core, user=user, read_line=read_stdin, write=write_stdout
            )
            front = asyncio.create_task(chat.run())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({front, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not front.done():
                front.cancel()
        else:
            await stop.wait()
    finally:
        stop.set()
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel did not stop cleanly", extra={"channel": channel.name})
        await background
