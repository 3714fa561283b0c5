"""Which chat messages show which approval, and which channels have been sent it.

Two jobs, both safe with several replicas:

- *delivery*: an approval is posted to a channel once: ``claim`` inserts a row keyed by
  (approval, channel) and only the replica whose insert succeeds posts;
- *sync*: every message records the status it shows; a message whose approval has moved
  on (decided in another chat, by the CLI, by another replica) is ``stale`` and is edited
  by whoever records the new status first (``memory.hotpath.HotPath.mark_shown``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from memory.models import Approval, ApprovalDelivery, ApprovalMessage


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
    records the message first, with the decision it showed (``HotPath.mark_shown``), and
    that record stands: a message is recorded once.

    Args:
        session: the session; the caller commits.
        approval_id: the approval shown.
        channel: ``telegram``, ``slack``...
        chat_id: the chat or channel id.
        message_id: the message id (Telegram) or ts (Slack).
        rendered_status: the approval status the message shows.

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


async def stale(
    session: AsyncSession, *, channel: str, limit: int = 50
) -> Sequence[tuple[ApprovalMessage, Approval]]:
    """Messages in ``channel`` that show an older status than their approval has now."""
    result = await session.execute(
        select(ApprovalMessage, Approval)
        .join(Approval, Approval.id == ApprovalMessage.approval_id)
        .where(ApprovalMessage.channel == channel)
        .where(ApprovalMessage.rendered_status != Approval.status)
        .order_by(ApprovalMessage.id)
        .limit(limit)
    )
    return [(m, a) for m, a in result.all()]
