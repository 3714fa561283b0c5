"""Parsing command lines: ``/run onboarding name="Ana Lima" email=ana@example.com``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.errors import InvalidInput

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class CommandLine:
    """A parsed slash command: name (lower case, no slash) and the raw argument text."""

    name: str
    rest: str


def split_command(text: str) -> CommandLine | None:
    """Split ``/name@bot rest`` into name and rest; None when text is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return CommandLine(name=name, rest=rest.strip())


# Quote marks by kind. Phones and Macs type curly quotes by default, and European
# keyboards guillemets or low quotes; any mark of a kind closes a quote of that kind,
# so „German“, »Danish« and ”Swedish” all work as well as “English”.
_DOUBLE = '"\u201c\u201d\u201e\u201f\u00ab\u00bb'
_SINGLE = "'\u2018\u2019\u201a\u201b\u2039\u203a"
_KIND = {mark: kind for kind in (_DOUBLE, _SINGLE) for mark in kind}
_UNCLOSED = (
    "I could not read that: the {mark} before {after} is not closed. "
    'Quote values with spaces like name="Ana Lima".'
)


def words(rest: str) -> list[str]:
    """Split arguments into words; quotes, straight or typographic, group words.

    A quote opens where a word or a value (after ``=``) starts, so apostrophes (don\u2019t,
    O'Brien) are text. A straight quote ends at the same mark, as in a shell, so a line
    ``shlex.join`` built reads back unchanged; a typographic one ends at the first
    typographic mark of its kind that ends a word (else a straight one), so ‘O\u2019Brien’
    is one name. Backslashes are text.

    Raises:
        InvalidInput: a quote that is not closed.
    """
    tokens: list[str] = []
    word: list[str] = []
    in_word = False  # an empty quoted value ("") is still a word
    may_open = True  # at a word's start, after "=", or right after a closing quote
    i, end = 0, len(rest)
    while i < end:
        char = rest[i]
        if char.isspace():
            if in_word:
                tokens.append("".join(word))
            word, in_word, may_open = [], False, True
            i += 1
        elif char in _KIND and may_open:
            close = _closing(rest, i)
            if close is None:
                raise InvalidInput(_UNCLOSED.format(mark=char, after=_clip(rest[i + 1 :], 20)))
            word.append(rest[i + 1 : close])
            in_word, may_open = True, True
            i = close + 1
        else:
            word.append(char)
            in_word, may_open = True, char == "="
            i += 1
    if in_word:
        tokens.append("".join(word))
    return tokens


def _closing(text: str, start: int) -> int | None:
    """Where the quote opened at ``start`` closes, or None."""
    mark = text[start]
    if mark in "\"'":
        found = text.find(mark, start + 1)
        return found if found >= 0 else None
    kind = _KIND[mark]
    ends = [
        i
        for i in range(start + 1, len(text))
        if text[i] in kind and (i + 1 == len(text) or text[i + 1].isspace())
    ]
    # “Say "hi" now” quotes straight marks inside; “Ana Lima" is a slip that still closes.
    curly = [i for i in ends if text[i] not in "\"'"]
    return next(iter(curly or ends), None)


def key_values(tokens: list[str]) -> dict[str, str]:
    """Turn ``key=value`` tokens into a dict.

    Raises:
        InvalidInput: a token without ``=``, a bad key, or a key given twice.
    """
    values: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        if not sep or not _KEY.match(key):
            raise InvalidInput(
                f"\u201c{_clip(token)}\u201d is not key=value. "
                'Write fields like email=ana@example.com, quoting spaces: name="Ana Lima".'
            )
        if key in values:
            raise InvalidInput(f"{key} is given twice; give each field once.")
        values[key] = value
    return values


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
