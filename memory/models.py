"""SQLAlchemy 2 models: canonical records, approvals inbox, event log, effects ledger.

The same models run unchanged on SQLite and PostgreSQL: JSON columns use the generic
``JSON`` type and timestamps are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names keep Alembic migrations portable between backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger would not.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Contact(Base):
    """A client or prospect. Provenance says which run or message created or last changed it."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    need: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_by: Mapped[str] = mapped_column(String(120))


class OutboundMessage(Base):
    """A message that left the building (an email sent to a contact)."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    effect_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """Deskhand's index of workflow runs; the LangGraph thread id equals ``id``."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_updated", "status", "updated_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(60))
    workflow_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Approval(Base):
    """One approval request: the inbox row behind every Approve / Reject / Edit card."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("run_id", "gate_key", name="uq_approvals_run_gate"),
        Index("ix_approvals_status_requested", "status", "requested_at"),
        Index("ix_approvals_unapplied", "applied_at", "status"),
        Index("ix_approvals_status_expires", "status", "expires_at"),
        Index("ix_approvals_status_risk_requested", "status", "risk", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    gate_key: Mapped[str] = mapped_column(String(80))
    interrupt_id: Mapped[str | None] = mapped_column(String(64))
    workflow: Mapped[str] = mapped_column(String(60))
    step: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    risk: Mapped[str] = mapped_column(String(10))
    allowed_actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    applied_at: Mapped[datetime | None] = mapped_column()
    # Attention budget: what happens at expiry, when to remind, and snoozing.
    on_expiry: Mapped[str] = mapped_column(String(10), default="reject")
    remind_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    snoozed_until: Mapped[datetime | None] = mapped_column()


class ApprovalMessage(Base):
    """A chat message that shows an approval, so it can be updated when a decision lands."""

    __tablename__ = "approval_messages"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", "message_id", name="uq_approval_messages_ref"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    # The approval status the message shows; differs from the approval's own status when
    # a decision made elsewhere has not been reflected here yet.
    rendered_status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalDelivery(Base):
    """A claim that an approval was (or is being) delivered to a channel: once per channel,
    whichever replica claims first."""

    __tablename__ = "approval_deliveries"

    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobClaim(Base):
    """One firing of a scheduled job, claimed before it runs: the first replica wins."""

    __tablename__ = "job_claims"

    job_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    fire_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(120))


class Digest(Base):
    """A digest that went out: the period it covered, so the next one starts where it ended."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    fire_key: Mapped[str] = mapped_column(String(60), unique=True)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Schedule(Base):
    """A workflow started on a schedule: a crontab in the operator's time zone, or once."""

    __tablename__ = "schedules"
    # The digest's "scheduled next" reads the soonest one-off schedules, the tick the due
    # ones, and both the crontab ones (run_at IS NULL): with one check-in per onboarding
    # there are thousands of rows, and without it each read sorts them all.
    __table_args__ = (Index("ix_schedules_active_run_at", "active", "run_at"),)

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(60))
    cron: Mapped[str | None] = mapped_column(String(120))
    run_at: Mapped[datetime | None] = mapped_column()
    description: Mapped[str] = mapped_column(String(200))
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)


class Event(Base):
    """Append-only audit trail: who did what, when and why. Never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(60))
    run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    approval_id: Mapped[str | None] = mapped_column(String(12))
    workflow: Mapped[str | None] = mapped_column(String(60))
    workflow_version: Mapped[str | None] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Effect(Base):
    """Effects ledger: intent is written before an external action, the result after.

    status: ``pending`` (intent recorded, outcome not yet known), ``succeeded``,
    ``failed`` (definitely did not happen), ``retrying`` (did not happen for a reason that
    may pass; tried again at ``next_try_at`` until ``retry_until``) or ``in_doubt`` (a
    previous attempt died mid-flight; it may or may not have happened and must not be
    repeated blindly).
    """

    __tablename__ = "effects"
    __table_args__ = (
        Index("ix_effects_status_updated", "status", "updated_at"),
        Index("ix_effects_status_next_try", "status", "next_try_at"),
    )

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column()
    retry_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
