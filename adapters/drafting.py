"""Email drafting: templates by default, an LLM when one is configured.

Both drafters answer the same question ("write this email") so the workflow never knows
which one it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Protocol


@dataclass(frozen=True)
class EmailDraft:
    """Subject and body of a drafted email."""

    subject: str
    body: str


class Drafter(Protocol):
    """Writes an email for a purpose from a few facts."""

    name: str

    async def draft_email(self, *, purpose: str, facts: Mapping[str, str]) -> EmailDraft:
        """Return a subject and body for ``purpose`` using ``facts``."""
        ...


TEMPLATES: dict[str, tuple[str, str]] = {
    "checkin": (
        "Checking in, $first_name",
        "Hi $first_name,\n\n"
        "I wanted to check in after my last note. Is there anything I can clarify, or "
        "shall we find a time to talk?\n\n"
        "Best regards,\n$sender_name",
    ),
    "welcome": (
        "Welcome aboard, $first_name$company_suffix",
        "Hi $first_name,\n\n"
        "Thank you for reaching out$company_phrase. You mentioned you need $need_phrase, "
        "and I would be glad to help.\n\n"
        "Here is how I suggest we start:\n"
        "1. A 30-minute call to agree on goals, scope and timeline.\n"
        "2. A short written proposal with options and prices, within two working days.\n"
        "3. Once you are happy with it, we get going.\n\n"
        "Reply with two or three times that suit you for the call.\n\n"
        "Best regards,\n$sender_name",
    ),
}


class TemplateDrafter:
    """Drafts from built-in templates: no network, no LLM, always available."""

    name = "template"

    def __init__(self, *, sender_name: str) -> None:
        self._sender_name = sender_name

    async def draft_email(self, *, purpose: str, facts: Mapping[str, str]) -> EmailDraft:
        """Fill the template for ``purpose``; unknown purposes raise KeyError."""
        subject_t, body_t = TEMPLATES[purpose]
        name = facts.get("name", "").strip()
        company = facts.get("company", "").strip()
        need = facts.get("need", "").strip()
        values = {
            "first_name": name.split()[0] if name else "there",
            "company_suffix": f" ({company})" if company else "",
            "company_phrase": f" on behalf of {company}" if company else "",
            "need_phrase": need or "some help",
            "sender_name": self._sender_name,
        }
        return EmailDraft(
            subject=Template(subject_t).safe_substitute(values),
            body=Template(body_t).safe_substitute(values),
        )
