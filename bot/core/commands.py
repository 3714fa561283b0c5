"""The channel-neutral core: one entry point for every command and button press.

Telegram, Slack, the terminal and the CLI all call :meth:`Core.handle` and render the
:class:`~bot.core.messages.Response` it returns.
"""

from __future__ import annotations

import difflib
import logging
import secrets
from collections.abc import Awaitable, Callable

from bot.core.attention_commands import AttentionCommands
from bot.core.guard import answered
from bot.core.help import HelpCommands
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    ButtonAction,
    DecisionNotice,
    Handler,
    Inbound,
    Reply,
    Response,
    RunStarted,
    RunView,
    Text,
)
from bot.core.operators import Operators
from bot.core.parsing import key_values, split_command, words
from bot.core.reads import Reads
from bot.core.run_commands import RunCommands, waiting
from graph.errors import AlreadyDecided, DeskhandError, InvalidInput, NotFound
from graph.reports import DecideReport, describe_decision
from graph.runs import RunManager
from graph.tasks import TaskSet
from memory.ids import normalize_approval_id

log = logging.getLogger(__name__)


class Core:
    """Parses commands, checks who may act, calls the run manager, returns replies."""

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
        self._attention = attention
        self._operators = operators
        self._max_chars = max_chars
        self._listeners: list[Callable[[], None]] = []
        self._following = TaskSet()  # follow-ups: a run's outcome after its decision
        self._runs = RunCommands(manager=manager)
        self._runs.on_change(self._changed)
        running = self._runs.handlers()
        reading = reads.handlers()
        self._handlers: dict[str, Handler] = {
            **HelpCommands(manager=manager).handlers(),
            "run": running["run"],
            "pending": reading["pending"],
            "approve": self._approve,
            "reject": self._reject,
            "edit": self._edit,
            "runs": reading["runs"],
            "show": reading["show"],
            "cancel": running["cancel"],
            "resolve": running["resolve"],
            "retry": running["retry"],
        }
        if attention is not None:
            self._handlers.update(attention.handlers())
            attention.on_change(self._changed)

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
        """Every command name the core answers (for menus such as setMyCommands)."""
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
            replies = await self._decide(inbound, inbound.action, later=later)
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
        try:
            if not self._operators.allows(inbound.user):
                return await self._refuse(inbound)
            raw = inbound.action.approval_id if inbound.action else (approval_id or "")
            clean = normalize_approval_id(raw)
            if clean is None:
                raise NotFound(f"\u201c{raw[:20]}\u201d is not an approval id.")
            approval = await self._manager.get_approval(clean)
            if inbound.action is not None and approval.status != "pending":
                decided = describe_decision(approval)
                await self._manager.refused(
                    actor=inbound.user.actor, approval=approval, why=f"already {decided}"
                )
                raise AlreadyDecided(f"Approval {clean} was already {decided}.", approval=approval)
            return Response((ApprovalCard(ApprovalView.of(approval)),))
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

    async def check_retry(self, inbound: Inbound, run_id: str) -> Response:
        """Whether a Retry button's press on ``run_id`` would send something; never raises.

        Lets a front-end answer the press at once (a refusal as an alert) and send after:
        refused, and logged, when the user is not an operator, the id is not a run's, or
        the run has nothing to retry (sent meanwhile, a second tap); otherwise one Text.
        The press then does what ``/retry <run>`` does, through :meth:`handle`.
        """
        try:
            if not self._operators.allows(inbound.user):
                return await self._refuse(inbound)
            return await self._runs.check_retry(run_id)
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

    # -- commands --------------------------------------------------------------------------

    async def _approve(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        tokens = words(rest)
        if len(tokens) != 1:
            raise InvalidInput("Usage: /approve <id>, e.g. /approve K7M2Q. /pending lists ids.")
        return await self._decide(inbound, ButtonAction("approve", tokens[0]))

    async def _reject(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        approval_id, _, reason = rest.strip().partition(" ")
        if not approval_id:
            raise InvalidInput("Usage: /reject <id> [reason], e.g. /reject K7M2Q not now.")
        return await self._decide(
            inbound, ButtonAction("reject", approval_id, reason=reason.strip() or None)
        )

    async def _edit(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        tokens = words(rest)
        if not tokens:
            raise InvalidInput(
                'Usage: /edit <id> field=value ..., e.g. /edit K7M2Q subject="Welcome, Ana".'
            )
        return await self._decide(
            inbound, ButtonAction("edit", tokens[0], changes=key_values(tokens[1:]))
        )

    async def _decide(
        self,
        inbound: Inbound,
        action: ButtonAction,
        *,
        later: list[Awaitable[Response]] | None = None,
    ) -> tuple[Reply, ...]:
        """Decide; with ``later``, approve and reject return at commit and the rest follows.

        An edit always waits: its answer is the edited draft's new card.
        """
        if action.verb == "approve_all":
            if self._attention is None:
                raise NotFound("Digests are not available here.")
            return await self._attention.approve_all_low(inbound, action.approval_id[:60])
        approval_id = normalize_approval_id(action.approval_id)
        if approval_id is None:
            raise NotFound(
                f"\u201c{action.approval_id[:20]}\u201d is not an approval id. "
                "/pending lists open ones."
            )
        if action.reason is not None and len(action.reason) > 1000:
            raise InvalidInput("Keep the reason under 1,000 characters.")
        outcome = await self._manager.decide(
            approval_id,
            action.verb,
            actor=inbound.user.actor,
            actor_name=inbound.user.display,
            reason=action.reason,
            changes=action.changes,
            wait=later is None or action.verb == "edit",
        )
        notice = DecisionNotice(ApprovalView.of(outcome.approval), RunView.of(outcome.report.run))
        if outcome.settled is not None and later is not None:
            later.append(self._following.spawn(self._follow_up(inbound, outcome)))
            return (notice,)
        return (notice, *waiting(outcome.report))

    async def _follow_up(self, inbound: Inbound, outcome: DecideReport) -> Response:
        """Where the run stands once the decision has been applied; never raises."""
        assert outcome.settled is not None
        try:
            report = await outcome.settled
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("resume failed", extra={"ref": ref, "actor": inbound.user.actor})
            text = (
                f"The decision is recorded, but resuming the run failed (ref {ref}); "
                "it is retried within a few minutes. The details are in the log."
            )
            return Response((Text(text, "error"),), refused=True, error_ref=ref)
        self._changed()
        notice = DecisionNotice(ApprovalView.of(outcome.approval), RunView.of(report.run))
        return Response((notice, *waiting(report)))


__all__ = ["Core"]
