"""Inline-button callback data: compact, secret-free, parsed strictly. Pure functions.

Telegram returns a button's data verbatim when it is tapped and allows at most 64 bytes. A
client can send any string, so parsing accepts only the exact forms below and everything
else is refused::

    a:K7M2Q              approve            r:K7M2Q    reject (then ask for a reason)
    e:K7M2Q              edit: choose field ef:K7M2Q:subject   edit: ask for the new value
    b:K7M2Q              back to the card   more:K7M2Q show the whole preview
    o:K7M2Q              open the card (from /pending, a batch or a digest)
    low:digest:2026-11-21                   approve the low-risk requests a digest showed
    rt:r3fk9q2xm         send again an email given up on (a run id, lower case)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["approve", "reject", "edit", "field", "back", "more", "open", "low", "retry"]

MAX_BYTES = 64
_CODES: dict[str, Kind] = {
    "a": "approve",
    "r": "reject",
    "e": "edit",
    "b": "back",
    "more": "more",
    "o": "open",
}
_PREFIX: dict[Kind, str] = {kind: code for code, kind in _CODES.items()}
_ID = r"[0-9A-HJKMNP-TV-Z]{5,12}"  # Crockford base32, as memory.ids makes them
_RUN = r"r[0-9a-hjkmnp-tv-z]{1,31}"  # memory.ids.new_run_id
_FIELD = r"[a-z][a-z0-9_]{0,19}"
_DIGEST = r"[A-Za-z0-9][A-Za-z0-9:_-]{0,59}"  # digest:2026-11-21, now:20261121T140200:te
_PATTERN = re.compile(
    rf"(?P<code>a|r|e|b|more|o):(?P<id>{_ID})"
    rf"|ef:(?P<field_id>{_ID}):(?P<field>{_FIELD})"
    rf"|low:(?P<digest>{_DIGEST})"
    rf"|rt:(?P<run>{_RUN})"
)


@dataclass(frozen=True)
class Press:
    """What a button press asks for.

    ``target`` is the approval id, for ``low`` the digest's key, for ``retry`` the run
    id; ``field`` is set for ``kind == "field"`` only.
    """

    kind: Kind
    target: str
    field: str | None = None


def encode(press: Press) -> str:
    """The callback data for a press; raises ValueError if it would not parse back."""
    if press.kind == "field":
        data = f"ef:{press.target}:{press.field}"
    elif press.kind == "low":
        data = f"low:{press.target}"
    elif press.kind == "retry":
        data = f"rt:{press.target}"
    else:
        data = f"{_PREFIX[press.kind]}:{press.target}"
    if parse(data) != press:
        raise ValueError(f"cannot encode {press!r} as callback data")
    return data


def parse(data: str | None) -> Press | None:
    """The press a callback data string stands for, or None when it is not one of ours."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    if match["field"] is not None:
        return Press("field", match["field_id"], match["field"])
    if match["digest"] is not None:
        return Press("low", match["digest"])
    if match["run"] is not None:
        return Press("retry", match["run"])
    return Press(_CODES[match["code"]], match["id"])
