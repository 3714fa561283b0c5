"""Data views: approvals, runs, events, digests and batches as the chat shows them.

Plain frozen data built from database rows, so renderers stay pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from graph.reports import describe_decision
from memory.models import Approval, Event, Run


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


@dataclass(frozen=True)
class DoubtItem:
    """An email that may or may not have gone out."""

    run_id: str
    to: str
    subject: str


@dataclass(frozen=True)
class ScheduledItem:
    """Something that will happen on its own."""

    at: datetime
    what: str


@dataclass(frozen=True)
class DigestView:
    """The daily digest, exceptions first. Lists are first pages; totals count all."""

    key: str
    period_start: datetime
    period_end: datetime
    failed: tuple[RunView, ...]
    failed_total: int
    in_doubt: tuple[DoubtItem, ...]
    in_doubt_total: int
    waiting: tuple[ApprovalView, ...]
    waiting_total: int
    completed: tuple[RunView, ...]
    completed_total: int
    scheduled: tuple[ScheduledItem, ...]
    # Runs whose email the mail server could not take yet (or that gave up): their detail
    # says "Not sent yet: mail server unreachable, next try 14:05 UTC" or how to retry.
    not_sent: tuple[RunView, ...] = ()
    not_sent_total: int = 0
    zone: tzinfo = UTC  # the operator's (DESKHAND_TIMEZONE): its times are shown in it

    @property
    def empty(self) -> bool:
        """Nothing failed, nothing waits, nothing completed."""
        return not (
            self.failed_total
            or self.in_doubt_total
            or self.not_sent_total
            or self.waiting_total
            or self.completed_total
        )

    @property
    def attention_total(self) -> int:
        """Failed runs, emails in doubt and emails not sent yet."""
        return self.failed_total + self.in_doubt_total + self.not_sent_total

    @property
    def attention_shown(self) -> int:
        """How many of :attr:`attention_total` the lists show."""
        return len(self.failed) + len(self.in_doubt) + len(self.not_sent)

    @property
    def low_risk_ids(self) -> tuple[str, ...]:
        """The pending low-risk approvals shown, for "Approve all low-risk"."""
        return tuple(v.id for v in self.waiting if v.risk == "low")


NOT_SENT = "Not sent: the email to "  # how a retry notice's text begins


@dataclass(frozen=True)
class RetryNotice:
    """An email given up on after its retry window, offered to the operator to Retry.

    ``key`` names this giving-up (``memory.retries.give_up_key``): what a channel claims
    before posting it, so it is posted once per channel.
    """

    key: str
    run_id: str
    workflow: str
    to: str
    subject: str
    why: str

    @property
    def text(self) -> str:
        """The notice in words: ``Not sent: the email to ... (run ...): <why>.``"""
        why = self.why.rstrip(".")
        return (
            f"{NOT_SENT}{self.to} “{self.subject}” (run {self.run_id}, "
            f"{self.workflow}): {why}. Retry when the mail server is back."
        )


@dataclass(frozen=True)
class BatchView:
    """Requests held back for the batch window, and reminders of older ones."""

    key: str
    new: tuple[ApprovalView, ...]
    reminders: tuple[ApprovalView, ...]
    zone: tzinfo = UTC  # the operator's (DESKHAND_TIMEZONE): its times are shown in it

    @property
    def empty(self) -> bool:
        """Nothing to say."""
        return not (self.new or self.reminders)
