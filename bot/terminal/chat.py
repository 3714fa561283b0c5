"""The terminal channel: chat with Deskhand in a terminal, same core as Slack and Telegram.

Approval cards show numbered actions; typing the number acts on the last card shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator

from bot.core.commands import Core
from bot.core.messages import ApprovalCard, ApprovalView, ButtonAction, Inbound, Response, User
from bot.render.text import numbered_actions, render

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]

# At SIGTERM a command in flight gets this long to finish; after that it is cancelled and
# what it decided is applied by the next start's recovery.
STOP_GRACE_S = 0.8

BANNER = (
    "Deskhand terminal \u2014 type /help for commands, /quit to leave.\n"
    'Try: /run onboarding name="Ana Lima" email=ana@example.com company=Acme '
    'need="a new website"'
)


async def read_stdin(prompt: str) -> str | None:
    """Read one line from standard input without blocking the event loop; None at EOF.

    The read runs in a daemon thread of its own, not in the loop's default executor:
    ``asyncio.run`` waits for the executor's threads when the loop ends, so a read blocked
    on an open stdin used to keep the process alive after SIGTERM. Nothing waits for this
    thread; an abandoned read ends with the process.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if answer.done():  # the chat stopped waiting
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(line)

    def read() -> None:
        line: str | None = None
        error: BaseException | None = None
        try:
            line = _read_line(prompt)
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(settle, line, error)

    threading.Thread(target=read, name="deskhand-stdin", daemon=True).start()
    return await answer


def _read_line(prompt: str) -> str | None:
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


@contextlib.contextmanager
def terminal_settings_kept() -> Iterator[None]:
    """Put the terminal's settings back however the chat ends.

    readline switches the terminal to its own mode while it reads a line; a stop in the
    middle of a read would otherwise leave the shell without echo.
    """
    if not sys.stdin.isatty():
        yield
        return
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


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
        self._command: asyncio.Future[Response] | None = None

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
                # Shielded: cancelling the chat (a stop) leaves the command to finish().
                self._command = asyncio.ensure_future(self._core.handle(inbound))
                response = await asyncio.shield(self._command)
                self._command = None
                self.show(response)

    async def finish(self, *, grace: float = STOP_GRACE_S) -> None:
        """After the chat was cancelled: let a command in flight finish, then say goodbye.

        A command still running after ``grace`` seconds is cancelled; a decision it
        committed is applied by the next start's recovery.
        """
        command, self._command = self._command, None
        if command is not None:
            try:
                self.show(await asyncio.wait_for(asyncio.shield(command), grace))
            except TimeoutError:
                command.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await command
                self._write("Stopped before that finished; it is picked up at the next start.")
        self._write("Stopped. Pending approvals stay in the inbox: /pending next time.")

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
