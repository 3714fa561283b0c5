"""Parsing command lines: ``/run onboarding name="Ana Lima" email=ana@example.com``."""

from __future__ import annotations

import re
import shlex
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


def words(rest: str) -> list[str]:
    """Split arguments like a shell does (quotes group words).

    Raises:
        InvalidInput: unbalanced quotes.
    """
    try:
        return shlex.split(rest)
    except ValueError:
        raise InvalidInput(
            "I could not read that: a quote is not closed. "
            'Quote values with spaces like name="Ana Lima".'
        ) from None


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
