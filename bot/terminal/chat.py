"""The terminal channel: chat with Deskhand in a terminal, same core as Slack and Telegram.

Approval cards show numbered actions; typing the number acts on the last card shown.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from bot.core.commands import Core
from bot.core.messages import ApprovalCard, ApprovalView, ButtonAction, Inbound, Response, User
from bot.render.text import numbered_actions, render

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]

BANNER = (
    "Deskhand terminal \u2014 type /help for commands, /quit to leave.\n"
    'Try: /run onboarding name="Ana Lima" email=ana@example.com company=Acme '
    'need="a new website"'
)


async def read_stdin(prompt: str) -> str | None:
    """Read one line from standard input without blocking the event loop; None at EOF."""

    def read() -> str | None:
        if sys.stdin.isatty():
            try:
                return input(prompt)
            except EOFError:
                return None
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None

    return await asyncio.to_thread(read)


def write_stdout(text: str) -> None:
    """Write a block of output followed by a newline."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class TerminalChat:
    """A read-answer loop over the core, remembering the last approval card shown."""

    def __init__(self, *, core: Core, user: User, read_line: ReadLine, write: Write) -> None:
        self._core = core
        self._user = user
        self._read = read_line
        self._write = write
        self._focus: ApprovalView | None = None

    async def run(self) -> None:
        """Chat until /quit or end of input."""
        self._write(BANNER)
        while True:
            line = await self._read("you> ")
            if line is None or line.strip().lower() in {"/quit", "/exit", "quit", "exit"}:
                self._write("Bye. Pending approvals stay in the inbox: /pending next time.")
                return
            if not line.strip():
                continue
            inbound = await self._interpret(line.strip())
            if inbound is not None:
                self.show(await self._core.handle(inbound))

    def show(self, response: Response) -> None:
        """Render a response and remember the last pending card for numbered actions."""
        for reply in response.replies:
            self._write(render(reply))
            if isinstance(reply, ApprovalCard):
                pending = reply.approval.status == "pending"
                self._focus = reply.approval if pending else None

    async def _interpret(self, line: str) -> Inbound | None:
        if not line.isdigit() or self._focus is None:
            return Inbound(self._user, text=line)
        actions = numbered_actions(self._focus)
        index = int(line) - 1
        if not 0 <= index < len(actions):
            self._write(f"Choose 1 to {len(actions)}, or type a command.")
            return None
        verb, approval_id = actions[index], self._focus.id
        if verb == "approve":
            return Inbound(self._user, action=ButtonAction("approve", approval_id))
        if verb == "reject":
            reason = await self._read("Reason (optional, Enter to skip): ")
            return Inbound(
                self._user,
                action=ButtonAction("reject", approval_id, reason=(reason or "").strip() or None),
            )
        return await self._edit(approval_id)

    async def _edit(self, approval_id: str) -> Inbound | None:
        fields = [
            k
            for k in ("to", "subject", "body")
            if k in (self._focus.preview if self._focus else {})
        ]
        name = ((await self._read(f"Change which field? ({', '.join(fields)}): ")) or "").strip()
        if name not in fields:
            self._write(f"Nothing changed: choose one of {', '.join(fields)}.")
            return None
        if name == "body":
            self._write("New body; end with a line holding only a dot (.)")
            lines: list[str] = []
            while (line := await self._read("")) is not None and line != ".":
                lines.append(line)
            value = "\n".join(lines)
        else:
            value = (await self._read(f"New {name}: ")) or ""
        return Inbound(self._user, action=ButtonAction("edit", approval_id, changes={name: value}))
