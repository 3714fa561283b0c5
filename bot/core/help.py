"""What /help shows: every command with one line on what it does, and the workflows.

:data:`COMMANDS` is the catalogue the front-ends draw on too (Telegram's command menu,
Slack's ``/deskhand`` rewriting).
"""

from __future__ import annotations

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
