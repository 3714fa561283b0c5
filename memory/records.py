"""Canonical records: contacts and the messages sent to them, with provenance."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from memory.models import Contact, OutboundMessage


async def upsert_contact(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    company: str | None,
    need: str | None,
    source: str,
) -> tuple[Contact, bool]:
    """Create the contact for ``email`` or update its fields.

    Args:
        session: the session; the caller commits.
        email: the contact's address (the natural key, compared case-insensitively).
        name: full name.
        company: company, if known.
        need: what they need, if known.
        source: provenance, e.g. ``run:r3fk9q2xm`` or ``telegram:msg:42``.

    Returns:
        The contact and whether it was created (True) or updated (False).
    """
    key = email.strip().lower()
    contact = await session.scalar(select(Contact).where(Contact.email == key))
    if contact is None:
        contact = Contact(
            email=key, name=name, company=company, need=need, created_by=source, updated_by=source
        )
        try:
            async with session.begin_nested():
                session.add(contact)
            return contact, True
        except IntegrityError:
            # Another run created it between our read and insert: update that one instead.
            contact = await session.scalar(select(Contact).where(Contact.email == key))
            if contact is None:
                raise
    contact.name = name
    contact.company = company if company is not None else contact.company
    contact.need = need if need is not None else contact.need
    contact.updated_by = source
    await session.flush()
    return contact, False


async def get_contact(session: AsyncSession, *, email: str) -> Contact | None:
    """Return the contact for an address, or None."""
    return await session.scalar(select(Contact).where(Contact.email == email.strip().lower()))


async def record_outbound(
    session: AsyncSession,
    *,
    contact_id: int | None,
    run_id: str,
    effect_key: str,
    channel: str,
    recipient: str,
    subject: str,
    message_id: str | None,
) -> OutboundMessage:
    """Record a message that was sent; idempotent by ``effect_key``.

    Args:
        session: the session; the caller commits.
        contact_id: the contact it went to, if known.
        run_id: the run that sent it.
        effect_key: the effects-ledger key of the send.
        channel: ``email``.
        recipient: the address.
        subject: the subject line.
        message_id: the RFC 5322 Message-ID.

    Returns:
        The stored record (the existing one when recorded before).
    """
    existing = await session.scalar(
        select(OutboundMessage).where(OutboundMessage.effect_key == effect_key)
    )
    if existing is not None:
        return existing
    message = OutboundMessage(
        contact_id=contact_id,
        run_id=run_id,
        effect_key=effect_key,
        channel=channel,
        recipient=recipient,
        subject=subject,
        message_id=message_id,
    )
    session.add(message)
    await session.flush()
    return message


async def messages_for_run(session: AsyncSession, *, run_id: str) -> Sequence[OutboundMessage]:
    """Return the messages a run sent."""
    result = await session.scalars(
        select(OutboundMessage).where(OutboundMessage.run_id == run_id).order_by(OutboundMessage.id)
    )
    return result.all()
