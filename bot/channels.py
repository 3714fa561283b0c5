"""Which channels ``deskhand run`` starts, and running them until stopped."""

from __future__ import annotations

import getpass
import logging

from bot.core.messages import User
from bot.runtime import Runtime
from bot.terminal.chat import TerminalChat, read_stdin, write_stdout

log = logging.getLogger(__name__)


def configured(runtime: Runtime) -> list[str]:
    """The chat channels whose tokens are set."""
    settings = runtime.settings
    names = []
    if settings.telegram_bot_token is not None:
        names.append("telegram")
    if settings.slack_bot_token is not None:
        names.append("slack")
    return names


async def serve(runtime: Runtime, *, terminal: bool | None = None) -> None:
    """Run the channels until stopped; the terminal when asked or when no token is set."""
    remote = configured(runtime)
    if remote and not terminal:
        log.warning(
            "chat front-ends configured but not available in this build",
            extra={"channels": ",".join(remote)},
        )
    user = User("terminal", getpass.getuser(), getpass.getuser())
    chat = TerminalChat(core=runtime.core, user=user, read_line=read_stdin, write=write_stdout)
    await chat.run()
