"""Which chat messages show which approval, and which channels have been sent it.

Two jobs, both safe with several replicas:

- *delivery*: an approval is posted to a channel once: ``claim`` inserts a row keyed by
  (approval, channel) and only the replica whose insert succeeds posts;
- *sync*: every message records what it shows (:func:`shown_state`: pending, decided, or
  decided with the run's outcome); a message behind what its approval and run imply now
  (decided in another chat, by the CLI, by another replica; a run finished by recovery
  after the process that showed the decision died) is ``unsettled`` and is edited by
  whoever records the new state first (:func:`mark_shown`). What a message shows only
  moves forward, pending < decided < decided with the outcome: a writer that is late (a
  stale pass, a decision's edit after the outcome was recorded) records nothing and so
  edits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from memory.approvals import OPEN
from memory.models import Approval, ApprovalDelivery, ApprovalMessage, Run, utcnow
from memory.runs import ACTIVE, FINISHED

# Appended to the decision (``approved+run``) once a card shows what the run did; the
# column holds 16 characters and the longest decision, ``cancelled``, leaves room for it.
WITH_OUTCOME = "+run"


def shown_state(approval_status: str, run_status: str | None) -> str:
    """What a card of an approval in ``approval_status`` shows, as recorded in the database.

    ``pending``; the decision (``approved``) while the run has not finished (or is not
    shown); the decision with the run's outcome (``approved+run``) once it has.
    """
    if approval_status == OPEN:
        return OPEN
    if run_status in FINISHED:
        return approval_status + WITH_OUTCOME
    return approval_status


def rank(state: str) -> int:
    """Where ``state`` stands in what a card shows: 0 pending, 1 decided, 2 with the outcome."""
    if state == OPEN:
        return 0
    return 2 if state.endswith(WITH_OUTCOME) else 1


def _rank(state: SQLColumnExpression[str]) -> ColumnElement[int]:
    """:func:`rank` in SQL."""
    return case((state == OPEN, 0), (state.endswith(WITH_OUTCOME), 2), else_=1)


async def claim(session: AsyncSession, *, approval_id: str, channel: str) -> bool:
    """Claim the delivery of an approval to a channel.

    Args:
        session: the session; the caller commits.
        approval_id: the approval.
        channel: ``telegram``, ``slack``...

    Returns:
        True for the first claimant only.
    """
    try:
        async with session.begin_nested():
            session.add(ApprovalDelivery(approval_id=approval_id, channel=channel))
    except IntegrityError:
        return False
    return True


async def release(session: AsyncSession, *, approval_id: str, channel: str) -> None:
    """Undo a claim whose post failed, so the next pass tries again."""
    await session.execute(
        delete(ApprovalDelivery).where(
            ApprovalDelivery.approval_id == approval_id, ApprovalDelivery.channel == channel
        )
    )


async def undelivered(
    session: AsyncSession, *, channel: str, risks: Sequence[str] | None = None, limit: int = 50
) -> Sequence[Approval]:
    """Pending approvals not yet delivered to ``channel``, oldest first.

    Args:
        session: an open session.
        channel: the channel.
        risks: only these risk tiers (all when None).
        limit: at most this many.

    Returns:
        The approvals to deliver.
    """
    delivered = select(ApprovalDelivery.approval_id).where(ApprovalDelivery.channel == channel)
    stmt = (
        select(Approval)
        .where(Approval.status == "pending", Approval.id.not_in(delivered))
        .order_by(Approval.requested_at, Approval.id)
        .limit(limit)
    )
    if risks is not None:
        stmt = stmt.where(Approval.risk.in_(list(risks)))
    return (await session.scalars(stmt)).all()


async def add_message(
    session: AsyncSession,
    *,
    approval_id: str,
    channel: str,
    chat_id: str,
    message_id: str,
    rendered_status: str,
) -> bool:
    """Remember a chat message that shows an approval in a given state.

    A tap can land on a card between its post and this call; the tap's handler then
    records the message first, with the decision it showed (:func:`mark_shown`), and
    that record stands: a message is recorded once.

    Args:
        session: the session; the caller commits.
        approval_id: the approval shown.
        channel: ``telegram``, ``slack``...
        chat_id: the chat or channel id.
        message_id: the message id (Telegram) or ts (Slack).
        rendered_status: what the message shows (:func:`shown_state`).

    Returns:
        True when recorded here, False when the message was already recorded.
    """
    row = ApprovalMessage(
        approval_id=approval_id,
        channel=channel,
        chat_id=chat_id,
        message_id=message_id,
        rendered_status=rendered_status,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


async def mark_shown(
    session: AsyncSession,
    *,
    approval_id: str,
    channel: str,
    chat_id: str,
    message_id: str,
    status: str,
) -> bool:
    """Record that a message of ``approval_id`` now shows ``status``, if that is forward.

    The claim every writer makes before editing a card: only a call that moves the
    message forward (:func:`rank`) records anything, so of the writers that see a card
    behind, one edits it, and none puts it back to an earlier state. An upsert: a tap
    can land on a card before its post is recorded (see :func:`add_message`), and the
    tap's handler then records the message first.

    Args:
        session: the session; the caller commits.
        approval_id: the approval shown.
        channel: ``telegram``, ``slack``...
        chat_id: the chat or channel id.
        message_id: the message id (Telegram) or ts (Slack).
        status: what the message shows (:func:`shown_state`).

    Returns:
        True when this call moved what the message shows forward, or recorded it first.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = insert(ApprovalMessage).values(
        approval_id=approval_id,
        channel=channel,
        chat_id=chat_id,
        message_id=message_id,
        rendered_status=status,
        created_at=utcnow(),
    )
    upsert = row.on_conflict_do_update(
        index_elements=["channel", "chat_id", "message_id"],
        set_={"rendered_status": row.excluded.rendered_status},
        where=_rank(ApprovalMessage.rendered_status) < _rank(row.excluded.rendered_status),
    ).returning(ApprovalMessage.id)
    return (await session.execute(upsert)).first() is not None


async def give_back(
    session: AsyncSession, *, channel: str, chat_id: str, message_id: str, status: str
) -> None:
    """Undo a :func:`mark_shown` whose edit failed: the message is recorded as pending.

    Only while it is still recorded as ``status``: a later claim stands. The message
    itself never showed ``status``, so nothing on screen goes back; it is only behind
    again, and the dispatcher's next pass edits it.

    Args:
        session: the session; the caller commits.
        channel: ``telegram``, ``slack``...
        chat_id: the chat or channel id.
        message_id: the message id (Telegram) or ts (Slack).
        status: what the failed claim recorded.
    """
    await session.execute(
        update(ApprovalMessage)
        .where(
            ApprovalMessage.channel == channel,
            ApprovalMessage.chat_id == chat_id,
            ApprovalMessage.message_id == message_id,
            ApprovalMessage.rendered_status == status,
        )
        .values(rendered_status=OPEN)
    )


async def messages(session: AsyncSession, *, approval_id: str) -> Sequence[ApprovalMessage]:
    """Return the chat messages that show an approval, oldest first."""
    result = await session.scalars(
        select(ApprovalMessage)
        .where(ApprovalMessage.approval_id == approval_id)
        .order_by(ApprovalMessage.id)
    )
    return result.all()


async def find_message(
    session: AsyncSession, *, channel: str, chat_id: str, message_id: str
) -> ApprovalMessage | None:
    """Return the approval message with this chat reference, if Deskhand sent one."""
    return await session.scalar(
        select(ApprovalMessage).where(
            ApprovalMessage.channel == channel,
            ApprovalMessage.chat_id == chat_id,
            ApprovalMessage.message_id == message_id,
        )
    )


async def unsettled(
    session: AsyncSession, *, channel: str, since: datetime, limit: int = 50
) -> Sequence[tuple[ApprovalMessage, Approval, Run]]:
    """Messages in ``channel`` behind what their approval and run imply now, oldest first.

    Found from the runs by their status index (those still active, and those finished
    since ``since``), then their decided approvals and those approvals' messages by
    theirs, so a pass never reads every card ever posted. A card whose run finished before
    ``since`` without it ever showing so is left as it is (the dispatcher looks back far
    at start-up, see ``bot.core.delivery``).

    Args:
        session: an open session.
        channel: the channel.
        since: how far back finished runs are looked at.
        limit: at most this many.

    Returns:
        (message, approval, run) for each message to edit.
    """
    decided: dict[str, tuple[Approval, Run]] = {}
    for runs in (Run.status.in_(ACTIVE), Run.status.in_(FINISHED) & (Run.updated_at >= since)):
        result = await session.execute(
            select(Approval, Run)
            .join(Run, Run.id == Approval.run_id)
            .where(runs, Approval.status != OPEN)
        )
        decided.update((a.id, (a, r)) for a, r in result.all())
    if not decided:
        return []
    # By approval only: given the channel too, SQLite would walk the channel's every card.
    shown = await session.scalars(
        select(ApprovalMessage)
        .where(ApprovalMessage.approval_id.in_(list(decided)))
        .order_by(ApprovalMessage.id)
    )
    behind = []
    for message in shown:
        approval, run = decided[message.approval_id]
        state = shown_state(approval.status, run.status)
        if message.channel == channel and rank(message.rendered_status) < rank(state):
            behind.append((message, approval, run))
    return behind[:limit]
