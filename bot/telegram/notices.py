"""The "Not sent ... [Retry]" notice as Telegram HTML, and what a Retry leaves. Pure.

An email given up on after its retry window is told once in the default chat with a
Retry button (``bot.core.notices``); a tap on it, or on a digest's Retry, edits the
notice to show what the retry did, without the button.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import Response, Text
from bot.core.views import NOT_SENT, RetryNotice, RunView
from bot.telegram.callback_data import Press
from bot.telegram.cards import button
from bot.telegram.chunks import clip, escape

_LINE_MAX = 600
_MARK = "\u274c "
_TAG = re.compile(r"<[^>]*>")
TONE = {"info": "\u21bb ", "ok": "\u2705 ", "warn": "\u26a0\ufe0f ", "error": "\u274c "}


def retry_button(run_id: str) -> InlineKeyboardButton:
    """The one-tap Retry for a run's unsent email."""
    return button(f"\u21bb Retry {run_id}", Press("retry", run_id))


def notice(view: RetryNotice) -> tuple[str, InlineKeyboardMarkup]:
    """The notice: what was not sent and why, and the Retry button."""
    html = f"{_MARK}<b>{clip(view.text, _LINE_MAX)[0]}</b>"
    return html, InlineKeyboardMarkup([[retry_button(view.run_id)]])


def is_notice(text: str) -> bool:
    """True for the text of a notice as a tap hands it back (Telegram drops the tags)."""
    return _TAG.sub("", text).startswith(f"{_MARK}{NOT_SENT}")


def retried(response: Response, who: str) -> str:
    """What a notice shows once its Retry was tapped: who retried, and the outcome."""
    texts = [r for r in response.replies if isinstance(r, Text)]
    lines = [f"{TONE[t.tone]}{clip(t.text, _LINE_MAX)[0]}" for t in texts]
    return "\n".join([*lines, f"<i>Retried by {escape(who)}.</i>"])


def retry_rows(runs: tuple[RunView, ...], limit: int = 4) -> list[list[InlineKeyboardButton]]:
    """A Retry button for each run in a list whose email was given up on (the first few)."""
    return [[retry_button(r.id)] for r in runs if r.outcome == "gave_up"][:limit]
