"""The channel-neutral core: one entry point for every command and button press.

Telegram, Slack, the terminal and the CLI all call :meth:`Core.handle` and render the
:class:`~bot.core.messages.Response` it returns. The core checks who may act, finds the
command's handler among the command groups' ``handlers()`` and turns what a command
raised into an answer; the commands themselves live with their concept:
:mod:`~bot.core.help`, :mod:`~bot.core.run_commands`, :mod:`~bot.core.reads`,
:mod:`~bot.core.decision_commands` and :mod:`~bot.core.attention_commands`.
"""

from __future__ import annotations

import difflib
import logging
import secrets
from collections.abc import Awaitable, Callable

from bot.core.attention_commands import AttentionCommands
from bot.core.decision_commands import DecisionCommands
from bot.core.guard import answered
from bot.core.help import HelpCommands, in_help_order
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    DecisionNotice,
    Handler,
    Inbound,
    Reply,
    Response,
    RunStarted,
    Text,
)
from bot.core.operators import Operators
from bot.core.parsing import split_command
from bot.core.reads import Reads
from bot.core.run_commands import RunCommands
from graph.errors import AlreadyDecided, DeskhandError, InvalidInput, NotFound
from graph.runs import RunManager
from memory.ids import normalize_approval_id

log = logging.getLogger(__name__)


class Core:
    """Checks who may act, dispatches to the command groups, answers what they raised."""

    def __init__(
        self,
        *,
        manager: RunManager,
        operators: Operators,
        max_chars: int,
        reads: Reads,
        attention: AttentionCommands | None = None,
    ) -> None:
        self._manager = manager
        self._operators = operators
        self._max_chars = max_chars
        self._listeners: list[Callable[[], None]] = []
        self._runs = RunCommands(manager=manager)
        self._decisions = DecisionCommands(manager=manager, attention=attention)
        self._runs.on_change(self._changed)
        self._decisions.on_change(self._changed)
        if attention is not None:
            attention.on_change(self._changed)
        self._handlers: dict[str, Handler] = in_help_order(
            {
                **HelpCommands(manager=manager).handlers(),
                **self._runs.handlers(),
                **reads.handlers(),
                **self._decisions.handlers(),
                **(attention.handlers() if attention is not None else {}),
            }
        )

    @property
    def manager(self) -> RunManager:
        """The run manager behind the core."""
        return self._manager

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every command that changed something (runs, decisions)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    @property
    def command_names(self) -> tuple[str, ...]:
        """Every command name the core answers, in /help's order (for setMyCommands)."""
        return tuple(self._handlers)

    async def handle(self, inbound: Inbound, *, resume_later: bool = False) -> Response:
        """Answer one inbound message or button press; never raises.

        With ``resume_later``, an approve or reject press is answered as soon as the
        decision commits, and the run's outcome comes in ``Response.later``.
        """
        return await answered(self._handle(inbound, resume_later), actor=inbound.user.actor)

    async def _handle(self, inbound: Inbound, resume_later: bool) -> Response:
        if not self._operators.allows(inbound.user):
            return await self._refuse(inbound)
        later: list[Awaitable[Response]] | None = [] if resume_later else None
        if inbound.action is not None:
            replies = await self._decisions.decide(inbound, inbound.action, later=later)
        else:
            replies = await self._text(inbound)
        if any(isinstance(r, (RunStarted, DecisionNotice)) for r in replies):
            self._changed()
        return Response(replies, later=later[0] if later else None)

    async def check(self, inbound: Inbound, approval_id: str | None = None) -> Response:
        """Look at the approval a button press is about, without acting on it; never raises.

        Lets a front-end answer a tap at once and decide afterwards. Refused (and logged,
        as :meth:`handle` would) when the user is not an operator, the approval is unknown,
        or ``inbound.action`` would decide one that is no longer pending; otherwise one
        ApprovalCard showing the approval as it is now. ``approval_id`` names the approval
        when the press decides nothing (``inbound.action`` is None, e.g. "show more").
        """
        return await self._checked(inbound, lambda: self._decisions.check(inbound, approval_id))

    async def check_retry(self, inbound: Inbound, run_id: str) -> Response:
        """Whether a Retry button's press on ``run_id`` would send something; never raises.

        Lets a front-end answer the press at once (a refusal as an alert) and send after:
        refused, and logged, when the user is not an operator, the id is not a run's, or
        the run has nothing to retry (sent meanwhile, a second tap); otherwise one Text.
        The press then does what ``/retry <run>`` does, through :meth:`handle`.
        """
        return await self._checked(inbound, lambda: self._runs.check_retry(run_id))

    async def _checked(
        self, inbound: Inbound, check: Callable[[], Awaitable[Response]]
    ) -> Response:
        """An operator's ``check()``; what it raised, or a refusal, as the answer."""
        try:
            if not self._operators.allows(inbound.user):
                return await self._refuse(inbound)
            return await check()
        except AlreadyDecided as exc:
            card = ApprovalCard(ApprovalView.of(exc.approval))
            return Response((Text(str(exc), "warn"), card), refused=True)
        except DeskhandError as exc:
            return Response((Text(str(exc), "warn"),), refused=True)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("check failed", extra={"ref": ref, "actor": inbound.user.actor})
            text = f"Something went wrong on my side (ref {ref}); the details are in the log."
            return Response((Text(text, "error"),), refused=True, error_ref=ref)

    async def _refuse(self, inbound: Inbound) -> Response:
        user = inbound.user
        approval = None
        if inbound.action is not None:
            approval_id = normalize_approval_id(inbound.action.approval_id)
            try:
                approval = await self._manager.get_approval(approval_id) if approval_id else None
            except NotFound:
                approval = None
        await self._manager.refused(actor=user.actor, approval=approval, why="not an operator")
        verb = inbound.action.verb if inbound.action else "use"
        return Response(
            (
                Text(
                    f"Sorry, you are not allowed to {verb} this. Your id is {user.id}; an "
                    f"operator can add it to {self._operators.setting_for(user.channel)}.",
                    "warn",
                ),
            ),
            refused=True,
        )

    async def _text(self, inbound: Inbound) -> tuple[Reply, ...]:
        text = inbound.text or ""
        if len(text) > self._max_chars:
            raise InvalidInput(
                f"That message is {len(text):,} characters long; the limit is "
                f"{self._max_chars:,}. Send a shorter one."
            )
        command = split_command(text)
        if command is None:
            return self._not_a_command(text)
        handler = self._handlers.get(command.name)
        if handler is None:
            guess = difflib.get_close_matches(command.name, self._handlers, n=1)
            hint = f" Did you mean /{guess[0]}?" if guess else " Send /help for the list."
            raise InvalidInput(f"I don't know /{command.name}.{hint}")
        return await handler(inbound, command.rest)

    def _not_a_command(self, text: str) -> tuple[Reply, ...]:
        first = text.strip().split(" ", 1)[0].lower().lstrip("/")
        guess = difflib.get_close_matches(first, self._handlers, n=1, cutoff=0.7)
        hint = f"Did you mean /{guess[0]}? " if guess else ""
        return (Text(f"{hint}I work with commands for now; send /help to see them.", "info"),)


__all__ = ["Core"]
