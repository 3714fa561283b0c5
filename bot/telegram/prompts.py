"""Questions the bot asks by reply: the rejection reason and an edited field's new value.

No conversation state is kept in memory: the question names the approval and the field on
its first line, and the user's answer is a reply to it, so a reply arriving after a restart
(or at another replica) is understood just the same. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.messages import ApprovalView
from bot.telegram.chunks import clip, escape

SKIP = "/skip"
_ID = r"[0-9A-HJKMNP-TV-Z]{5,12}"
_REASON = re.compile(rf"Reason for rejecting (?P<id>{_ID})\?")
_VALUE = re.compile(rf"New (?P<field>[a-z][a-z0-9_]{{0,19}}) for (?P<id>{_ID})\?")
_CURRENT_SHOWN = 600


@dataclass(frozen=True)
class Question:
    """What a question asked for: ``field`` None means the reason for a rejection."""

    approval_id: str
    field: str | None = None


def reason_question(view: ApprovalView, mention: str) -> str:
    """HTML asking for an optional rejection reason; ``mention`` is the asker, as HTML."""
    return (
        f"Reason for rejecting {view.id}?\n"
        f"{mention}, reply to this message with the reason for rejecting "
        f"\u201c{escape(view.title)}\u201d, or reply {SKIP} to reject it without one."
    )


def value_question(view: ApprovalView, field: str, mention: str) -> str:
    """HTML asking for a field's new value, showing the value it has now."""
    current, _ = clip(str(view.preview.get(field, "")), _CURRENT_SHOWN)
    return (
        f"New {field} for {view.id}?\n"
        f"{mention}, reply to this message with the new {escape(field)}, "
        f"or reply {SKIP} to leave it as it is. Now:\n<blockquote>{current}</blockquote>"
    )


def placeholder(question: Question) -> str:
    """The hint shown in the reply box (at most 64 characters)."""
    return "Reason (optional)" if question.field is None else f"New {question.field}"[:64]


def parse_question(text: str | None) -> Question | None:
    """The question a bot message asked, from its first line, or None if it asked none."""
    first = (text or "").split("\n", 1)[0]
    if match := _REASON.fullmatch(first):
        return Question(match["id"])
    if match := _VALUE.fullmatch(first):
        return Question(match["id"], match["field"])
    return None


def is_skip(text: str) -> bool:
    """True for ``/skip`` (also ``/skip@bot``), the answer that gives no value."""
    head = text.strip().split(maxsplit=1)
    return bool(head) and head[0].split("@", 1)[0].lower() == SKIP


def mention(user_id: int, name: str) -> str:
    """An HTML mention, so a question in a group opens the reply box for that user only."""
    return f'<a href="tg://user?id={int(user_id)}">{escape(name)}</a>'
