"""Channel-neutral messages: what comes in from a chat, and the replies to render.

Replies carry plain data (views), never ORM rows, so renderers stay pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from graph.runs import describe_decision
from memory.models import Approval, Event, OutboundMessage, Run

Verb = Literal["approve", "reject", "edit"]
Tone = Literal["info", "ok", "warn", "error"]


@dataclass(frozen=True)
class User:
    """Who sent something: ``channel`` plus the platform's user id."""

    channel: str
    id: str
    name: str | None = None

    @property
    def actor(self) -> str:
        """The actor string recorded in the audit log, e.g. ``telegram:12345``."""
        return f"{self.channel}:{self.id}"

    @property
    def display(self) -> str:
        """A name for messages ("Approved by Ana")."""
        return self.name or self.actor


@dataclass(frozen=True)
class ButtonAction:
    """A button press (or its typed equivalent) on an approval."""

    verb: Verb
    approval_id: str
    reason: str | None = None
    changes: dict[str, str] | None = None


@dataclass(frozen=True)
class Inbound:
    """One thing a user sent: a line of text or a button press."""

    user: User
    text: str | None = None
    action: ButtonAction | None = None


@dataclass(frozen=True)
class ApprovalView:
    """An approval as a card shows it."""

    id: str
    run_id: str
    workflow: str
    title: str
    summary: str
    preview: dict[str, Any]
    risk: str
    actions: tuple[str, ...]
    status: str
    requested_at: datetime
    expires_at: datetime | None
    decided_text: str | None
    reason: str | None

    @classmethod
    def of(cls, row: Approval) -> ApprovalView:
        """Build the view from an inbox row."""
        decision = row.decision or {}
        return cls(
            id=row.id,
            run_id=row.run_id,
            workflow=row.workflow,
            title=row.title,
            summary=row.summary,
            preview=dict(row.preview),
            risk=row.risk,
            actions=tuple(row.allowed_actions.get("actions", ())),
            status=row.status,
            requested_at=row.requested_at,
            expires_at=row.expires_at,
            decided_text=None if row.status == "pending" else describe_decision(row),
            reason=decision.get("reason"),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "title": self.title,
            "summary": self.summary,
            "preview": self.preview,
            "risk": self.risk,
            "actions": list(self.actions),
            "status": self.status,
            "requested_at": self.requested_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "decided": self.decided_text,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunView:
    """A run as lists and details show it."""

    id: str
    workflow: str
    status: str
    outcome: str | None
    detail: str | None
    started_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Run) -> RunView:
        """Build the view from a run row."""
        return cls(
            row.id,
            row.workflow,
            row.status,
            row.outcome,
            row.detail,
            row.started_by,
            row.created_at,
            row.updated_at,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "id": self.id,
            "workflow": self.workflow,
            "status": self.status,
            "outcome": self.outcome,
            "detail": self.detail,
            "started_by": self.started_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class EventView:
    """One audit-log line."""

    at: datetime
    actor: str
    kind: str
    summary: str

    @classmethod
    def of(cls, row: Event) -> EventView:
        """Build the view from an event row."""
        return cls(row.at, row.actor, row.kind, row.summary)


# -- replies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A plain message."""

    text: str
    tone: Tone = "info"


@dataclass(frozen=True)
class ApprovalCard:
    """An approval with its buttons (pending) or its outcome (decided)."""

    approval: ApprovalView


@dataclass(frozen=True)
class DecisionNotice:
    """A decision that went through, and where the run stands now."""

    approval: ApprovalView
    run: RunView


@dataclass(frozen=True)
class RunStarted:
    """A run was started; ``run`` says where it stands."""

    run: RunView


@dataclass(frozen=True)
class ApprovalList:
    """Pending approvals."""

    items: tuple[ApprovalView, ...]


@dataclass(frozen=True)
class RunList:
    """Recent runs."""

    items: tuple[RunView, ...]


@dataclass(frozen=True)
class RunDetails:
    """One run with its approvals, audit trail and sent messages."""

    run: RunView
    approvals: tuple[ApprovalView, ...]
    events: tuple[EventView, ...]
    sent: tuple[str, ...] = ()

    @staticmethod
    def sent_line(message: OutboundMessage) -> str:
        """One line per sent message."""
        return f"{message.channel} to {message.recipient}: \u201c{message.subject}\u201d"


@dataclass(frozen=True)
class Help:
    """The command list and the workflows that can be started."""

    commands: tuple[tuple[str, str], ...]
    workflows: tuple[tuple[str, str, str], ...]


Reply = (
    Text | ApprovalCard | DecisionNotice | RunStarted | ApprovalList | RunList | RunDetails | Help
)


@dataclass(frozen=True)
class Response:
    """What the core answers: replies to render; ``refused`` when nothing was done."""

    replies: tuple[Reply, ...]
    refused: bool = False
    error_ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
