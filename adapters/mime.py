"""Build the MIME message for an email: pure, no I/O.

Everything a transport needs is decided here from the draft and the idempotency key: the
headers (refusing line breaks, which would let a value inject headers), the body as
``text/plain; charset=utf-8``, and a Message-ID derived from the key so that a copy that
slipped through twice is recognisable as one message in any mail log.
"""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EmailMessage:
    """A plain-text email as a workflow drafts it."""

    to: str
    subject: str
    body: str
    reply_to: str | None = None


def message_id_for(key: str, sender: str) -> str:
    """Derive the RFC 5322 Message-ID for an idempotency key.

    Args:
        key: the idempotency key.
        sender: the From address; its domain becomes the Message-ID's right-hand side.

    Returns:
        A Message-ID such as ``<3f2a...@example.com>``; the same key always yields the
        same one.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    _, address = email.utils.parseaddr(sender)
    domain = address.rpartition("@")[2].strip().lower() if "@" in address else ""
    if not domain or not re.fullmatch(r"[a-z0-9.-]+", domain):
        domain = "localhost"
    return f"<{digest}@{domain}>"


def reject_line_breaks(name: str, value: str | None) -> None:
    """Refuse a header value with CR or LF in it.

    Raises:
        ValueError: ``value`` contains a line break (header injection).
    """
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"{name} must not contain line breaks (CR or LF)")


def build_mime(
    message: EmailMessage, *, sender: str, message_id: str
) -> email.message.EmailMessage:
    """Build the MIME message for ``message``.

    Args:
        message: what to send.
        sender: the From address.
        message_id: the Message-ID header value (see :func:`message_id_for`).

    Returns:
        A ``text/plain; charset=utf-8`` message with From, To, Subject, Date, Message-ID
        and, when set, Reply-To.

    Raises:
        ValueError: a header value contains CR or LF (header injection) or ``to`` is
            empty.
    """
    reject_line_breaks("to", message.to)
    reject_line_breaks("subject", message.subject)
    reject_line_breaks("reply_to", message.reply_to)
    reject_line_breaks("sender", sender)
    if not message.to.strip():
        raise ValueError("to must be an email address, not empty")
    mime = email.message.EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = message_id
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    mime.set_content(message.body, subtype="plain", charset="utf-8")
    return mime
