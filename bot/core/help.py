"""What /help shows: every command with one line on what it does, and the workflows.

:data:`COMMANDS` is the catalogue the front-ends draw on too (Telegram's command menu,
Slack's ``/deskhand`` rewriting), and its order is the order menus list commands in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bot.core.messages import Handler, Help, Inbound, Reply
from graph.runs import RunManager

COMMANDS: tuple[tuple[str, str], ...] = (
    ("/help", "what I can do"),
    ("/run <workflow> key=value ...", "start a workflow (quote values with spaces)"),
    ("/pending", "approvals waiting for you"),
    ("/approve <id>", "approve a request"),
    ("/reject <id> [reason]", "reject a request, optionally saying why"),
    ("/edit <id> field=value ...", "change a draft; you then see it again to approve"),
    ("/runs", "recent runs"),
    ("/show <run>", "one run with its audit trail"),
    ("/cancel <run> [reason]", "stop a run and close its open approvals"),
    ("/resolve <run> sent|resend", "settle an email that may or may not have gone out"),
    ("/retry <run>", "send an email the mail server could not take, now"),
    ("/digest", "the digest now: exceptions, waiting, done, next"),
    ("/snooze <id> <duration>", "keep a request out of batches, e.g. 2h or 1d"),
    ('/schedule <workflow> "every monday 9:00" key=value ...', "run a workflow on a schedule"),
    ("/schedules", "what runs on its own"),
    ("/unschedule <id>", "stop a schedule"),
)

_LISTED = {usage.split()[0].lstrip("/"): i for i, (usage, _) in enumerate(COMMANDS)}

T = TypeVar("T")


def in_help_order(handlers: Mapping[str, T]) -> dict[str, T]:
    """``handlers`` in the order /help lists their commands.

    A command /help does not list (an alias such as /start, or the typed form of a button
    such as /approvelow) stays right after the command before it in ``handlers``.
    """
    ranks: dict[str, int] = {}
    rank = -1
    for name in handlers:
        rank = _LISTED.get(name, rank)
        ranks[name] = rank
    return {name: handlers[name] for name in sorted(handlers, key=ranks.__getitem__)}


class HelpCommands:
    """/help, and /start (what Telegram sends first): the commands and the workflows."""

    def __init__(self, *, manager: RunManager) -> None:
        self._manager = manager

    def handlers(self) -> dict[str, Handler]:
        """Command name to handler."""
        return {"help": self.help, "start": self.help}

    async def help(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/help: every command, and each workflow with how to start it."""
        workflows = tuple(
            (spec.name, spec.usage(), spec.description) for spec in self._manager.workflows.values()
        )
        return (Help(commands=COMMANDS, workflows=workflows),)
