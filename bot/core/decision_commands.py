"""Deciding approvals: /approve, /reject, /edit and the buttons on an approval's card.

A press can be answered as soon as its decision commits, with the run's outcome coming
later (``Response.later``); :mod:`bot.core.decisions` shows both on the card pressed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from bot.core.attention_commands import AttentionCommands
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    ButtonAction,
    DecisionNotice,
    Handler,
    Inbound,
    Reply,
    Response,
    RunView,
    Text,
)
from bot.core.parsing import key_values, words
from bot.core.run_commands import waiting
from graph.errors import AlreadyDecided, InvalidInput, NotFound
from graph.reports import DecideReport, describe_decision
from graph.runs import RunManager
from graph.tasks import TaskSet
from memory.ids import normalize_approval_id

log = logging.getLogger(__name__)


class DecisionCommands:
    """Approves, rejects and edits approvals, typed or pressed."""

    def __init__(self, *, manager: RunManager, attention: AttentionCommands | None) -> None:
        self._manager = manager
        self._attention = attention  # "Approve all low-risk" on a digest
        self._changed: Callable[[], None] = lambda: None
        self._following = TaskSet()  # follow-ups: a run's outcome after its decision

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` once a decided run has been resumed in the background."""
        self._changed = listener

    def handlers(self) -> dict[str, Handler]:
        """Command name to handler."""
        return {"approve": self.approve, "reject": self.reject, "edit": self.edit}

    async def approve(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/approve <id>: approve a request."""
        tokens = words(rest)
        if len(tokens) != 1:
            raise InvalidInput("Usage: /approve <id>, e.g. /approve K7M2Q. /pending lists ids.")
        return await self.decide(inbound, ButtonAction("approve", tokens[0]))

    async def reject(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/reject <id> [reason]: reject a request, optionally saying why."""
        approval_id, _, reason = rest.strip().partition(" ")
        if not approval_id:
            raise InvalidInput("Usage: /reject <id> [reason], e.g. /reject K7M2Q not now.")
        return await self.decide(
            inbound, ButtonAction("reject", approval_id, reason=reason.strip() or None)
        )

    async def edit(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/edit <id> field=value ...: change a draft, then see it again to approve."""
        tokens = words(rest)
        if not tokens:
            raise InvalidInput(
                'Usage: /edit <id> field=value ..., e.g. /edit K7M2Q subject="Welcome, Ana".'
            )
        return await self.decide(
            inbound, ButtonAction("edit", tokens[0], changes=key_values(tokens[1:]))
        )

    async def decide(
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

    async def check(self, inbound: Inbound, approval_id: str | None) -> Response:
        """The card of the approval a press is about, as it is now, without acting on it.

        Raises:
            NotFound: the id is not an approval's.
            AlreadyDecided: ``inbound.action`` would decide an approval no longer pending
                (recorded as a refused press).
        """
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
