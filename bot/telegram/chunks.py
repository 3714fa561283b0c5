"""Telegram's size limits, met without breaking HTML. Pure functions.

Telegram refuses a message over 4,096 characters and an alert over 200. Text is cut while
it is still raw and each piece is escaped afterwards, so an entity such as ``&amp;`` is never
split between two messages. Lengths are counted on the HTML source (never shorter than what
Telegram counts after parsing) in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

MAX_MESSAGE = 4096
MAX_ALERT = 200
ELLIPSIS = "\u2026"
_ESCAPED_COST = {"&": 5, "<": 4, ">": 4}  # &amp; &lt; &gt;


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``<``, ``>`` and ``&``; quotes need no escaping)."""
    return html.escape(text, quote=False)


def units(text: str) -> int:
    """Length in UTF-16 code units: a character outside the BMP (most emoji) counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _cost(char: str) -> int:
    return _ESCAPED_COST.get(char) or (2 if ord(char) > 0xFFFF else 1)


def _fitting(text: str, budget: int) -> int:
    """How many leading characters of ``text`` fit in ``budget`` units once escaped."""
    if len(text) * 5 <= budget:  # no character costs more than five units (&amp;)
        return len(text)
    used = 0
    for index, char in enumerate(text):
        used += _cost(char)
        if used > budget:
            return index
    return len(text)


def _break(text: str, end: int) -> tuple[int, int]:
    """Where to cut before ``end``: the last newline, else the last space, in the last fifth.

    Returns the end of the piece and the start of the rest (the separator is dropped).
    """
    floor = end * 4 // 5
    for separator in ("\n", " "):
        at = text.rfind(separator, floor, end)
        if at > 0:
            return at, at + 1
    return end, end


def clip(text: str, budget: int) -> tuple[str, bool]:
    """Escape ``text`` and shorten it to ``budget`` units, ending in an ellipsis if cut.

    Returns:
        The escaped text and whether it was shortened.
    """
    if _fitting(text, budget) == len(text):
        return escape(text), False
    end, _ = _break(text, _fitting(text, max(0, budget - units(ELLIPSIS))))
    return escape(text[:end].rstrip()) + ELLIPSIS, True


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut raw ``text`` into escaped pieces of at most ``limit`` units each, in order."""
    if limit < 8:
        raise ValueError("limit is too small to hold any escaped character")
    pieces: list[str] = []
    rest = text
    while (end := _fitting(rest, limit)) < len(rest):
        cut, resume = _break(rest, end)
        pieces.append(escape(rest[:cut]))
        rest = rest[resume:]
    if rest or not pieces:
        pieces.append(escape(rest))
    return pieces


def pack(blocks: Iterable[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Join HTML blocks with newlines into as few messages of at most ``limit`` units.

    Each block must be complete HTML (tags closed) and fit alone; renderers clip user text
    before it becomes a block, so a block is never cut.
    """
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        cost = units(block)
        if cost > limit:
            raise ValueError(f"a block of {cost} units does not fit in {limit}")
        if current and size + 1 + cost > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        size += cost + (1 if current else 0)
        current.append(block)
    if current:
        messages.append("\n".join(current))
    return messages


def alert(text: str) -> str:
    """Plain text for an alert (no HTML there), shortened to Telegram's 200 characters."""
    text = " ".join(text.split())
    if units(text) <= MAX_ALERT:
        return text
    return text[: _fitting_plain(text, MAX_ALERT - 1)].rstrip() + ELLIPSIS


def _fitting_plain(text: str, budget: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)
