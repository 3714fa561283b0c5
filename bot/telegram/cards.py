"""Approval cards: Telegram HTML plus the inline keyboard. Pure: data in, payload out.

A card always fits one message: the email body is shortened to what is left of the 4,096
characters, and a "Show more" button then sends the whole preview in as many messages as
it takes (:func:`full_preview`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import ApprovalView, RunView
from bot.telegram.callback_data import Kind, Press, encode
from bot.telegram.chunks import MAX_MESSAGE, clip, escape, pack, split, units

NO_MARK = "\u26aa"
RISK_MARK = {"high": "\U0001f534", "medium": "\U0001f7e0", "low": "\U0001f7e2"}
STATUS_MARK = {
    "approved": "\u2705",
    "rejected": "\U0001f6ab",
    "edited": "\u270f\ufe0f",
    "cancelled": "\u23f9",
    "expired": "\u231b",
}
BUTTONS: tuple[tuple[Kind, str], ...] = (
    ("approve", "\u2705 Approve"),
    ("reject", "\U0001f6ab Reject"),
    ("edit", "\u270f\ufe0f Edit"),
)
EMAIL_FIELDS = ("to", "subject", "body")
SHORTENED = "<i>Preview shortened: tap Show more for all of it.</i>"
_LINE_MAX = 300
_BLOCKQUOTE = len("\n<blockquote></blockquote>")


@dataclass(frozen=True)
class Card:
    """A rendered card: ``truncated`` when the preview had to be shortened to fit."""

    html: str
    keyboard: InlineKeyboardMarkup | None
    truncated: bool


def card(
    view: ApprovalView, *, now: datetime, run: RunView | None = None, limit: int = MAX_MESSAGE
) -> Card:
    """The card for ``view``: buttons while pending, the outcome once decided."""
    title, _ = clip(view.title, _LINE_MAX)
    summary, _ = clip(view.summary, 3 * _LINE_MAX)
    head = [f"{RISK_MARK.get(view.risk, NO_MARK)} <b>{title}</b>", summary, ""]
    head += [
        f"<b>{escape(k.capitalize())}:</b> {clip(str(v), _LINE_MAX)[0]}" for k, v in _fields(view)
    ]
    tail = [f"<i>Approval {view.id} \u00b7 run {view.run_id} \u00b7 {escape(view.risk)} risk</i>"]
    tail += outcome_lines(view, now=now, run=run)
    body = str(view.preview.get("body", "")) if view.preview.get("kind") == "email" else ""
    fixed = units("\n".join(head + tail)) + 1
    budget = limit - fixed - _BLOCKQUOTE - units(SHORTENED) - 1
    quoted, truncated = clip(body, max(0, budget))
    lines = head + ([f"<blockquote>{quoted}</blockquote>"] if quoted else [])
    lines += ([SHORTENED] if truncated else []) + tail
    return Card("\n".join(lines), keyboard(view, truncated=truncated), truncated)


def _fields(view: ApprovalView) -> list[tuple[str, object]]:
    """The preview's short fields: for email the headers (the body is quoted below them)."""
    if view.preview.get("kind") == "email":
        return [(k, view.preview.get(k, "")) for k in ("to", "subject")]
    return sorted((k, v) for k, v in view.preview.items() if k != "kind")


def outcome_lines(view: ApprovalView, *, now: datetime, run: RunView | None = None) -> list[str]:
    """Who decided and when, the reason, and where the run stands (nothing while pending)."""
    if view.decided_text is None:
        return []
    mark = STATUS_MARK.get(view.status, "\u2022")
    lines = ["", f"{mark} <b>{escape(decision(view, now=now))}</b>"]
    if view.reason:
        lines.append(f"Reason: {clip(view.reason, _LINE_MAX)[0]}")
    if view.status == "edited":
        lines.append("The edited version was sent for approval again.")
    if run is not None and run.status != "waiting":
        detail = f": {clip(run.detail, _LINE_MAX)[0]}" if run.detail else ""
        lines.append(f"Run {run.id} {escape(run.status)}{detail}")
    return lines


def decision(view: ApprovalView, *, now: datetime, capital: bool = True) -> str:
    """``Approved by Ana at 14:02 UTC``: the date is left out when it is today."""
    text = (view.decided_text or "pending").replace(f" at {now:%Y-%m-%d} ", " at ")
    return (text[:1].upper() if capital else text[:1].lower()) + text[1:]


def button(label: str, press: Press) -> InlineKeyboardButton:
    """One inline button carrying compact callback data."""
    return InlineKeyboardButton(label, callback_data=encode(press))


def keyboard(view: ApprovalView, *, truncated: bool) -> InlineKeyboardMarkup | None:
    """Approve / Reject / Edit while pending, and Show more when the preview was shortened."""
    rows = []
    if view.status == "pending":
        row = [
            button(label, Press(kind, view.id)) for kind, label in BUTTONS if kind in view.actions
        ]
        rows += [row] if row else []
    if truncated:
        rows.append([button("\U0001f4c4 Show more", Press("more", view.id))])
    return InlineKeyboardMarkup(rows) if rows else None


def editable(view: ApprovalView) -> list[str]:
    """The fields an Edit can change when the workflow does not say: the preview's own."""
    if view.preview.get("kind") == "email":
        return [k for k in EMAIL_FIELDS if k in view.preview]
    return sorted(k for k in view.preview if k != "kind")


def field_keyboard(view: ApprovalView, fields: Sequence[str]) -> InlineKeyboardMarkup:
    """Which field to change, plus Back to the card's own buttons."""
    choices = [button(f.capitalize(), Press("field", view.id, f)) for f in fields]
    rows = [choices[i : i + 3] for i in range(0, len(choices), 3)]
    rows.append([button("\u00ab Back", Press("back", view.id))])
    return InlineKeyboardMarkup(rows)


def open_rows(items: Sequence[ApprovalView], limit: int = 8) -> list[list[InlineKeyboardButton]]:
    """One button per listed approval (the first few), to bring its card up."""
    return [
        [button(f"{view.id} \u00b7 {view.title}"[:60], Press("open", view.id))]
        for view in items[:limit]
    ]


def full_preview(view: ApprovalView, *, limit: int = MAX_MESSAGE) -> list[str]:
    """The whole preview, unshortened, as consecutive messages."""
    head = [f"<b>{clip(view.title, _LINE_MAX)[0]}</b> ({view.id}), in full:"]
    head += [
        f"<b>{escape(k.capitalize())}:</b> {clip(str(v), _LINE_MAX)[0]}" for k, v in _fields(view)
    ]
    body = str(view.preview.get("body", "")) if view.preview.get("kind") == "email" else ""
    return pack(head, limit) + (split(body, limit) if body else [])
