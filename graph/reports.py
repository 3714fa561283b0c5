"""What the run manager reports back: plain results, rendered by the bot's front-ends."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from memory.approvals import DECIDED_STATUS
from memory.models import Approval, Event, OutboundMessage, Run


@dataclass(frozen=True)
class RunReport:
    """Where a run stands after it was advanced: ``approval`` is set while it waits."""

    run: Run
    approval: Approval | None = None


@dataclass(frozen=True)
class DecideReport:
    """A decision that won, and where its run stands afterwards.

    When the decision was taken with ``wait=False``, ``report`` is the run as it stood when
    the decision committed (still waiting) and ``settled`` completes with the report once
    the run has been resumed; otherwise ``settled`` is None and ``report`` is final.
    """

    approval: Approval
    report: RunReport
    settled: Awaitable[RunReport] | None = None


@dataclass(frozen=True)
class RunDetail:
    """Everything ``/show`` displays about a run."""

    run: Run
    approvals: Sequence[Approval]
    events: Sequence[Event]
    messages: Sequence[OutboundMessage] = field(default_factory=tuple)


def describe_decision(approval: Approval) -> str:
    """Say who decided an approval and when, e.g. ``approved by Ana at 14:02 UTC``."""
    who = approval.decided_by_name or approval.decided_by or "someone"
    when = approval.decided_at.strftime("%Y-%m-%d %H:%M UTC") if approval.decided_at else "?"
    if approval.status == "expired":
        action = (approval.decision or {}).get("action", "reject")
        return f"expired, {DECIDED_STATUS.get(action, action)} by default at {when}"
    return f"{approval.status} by {who} at {when}"
