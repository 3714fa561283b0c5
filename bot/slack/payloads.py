"""What Slack sends, parsed strictly: button clicks, modal metadata, typed text.

A button value or a modal's metadata is trusted only as far as its shape: approval ids
must look like Deskhand's own (Crockford base32, upper case), channels, users and
timestamps like Slack's. Anything else parses to None and the handler explains instead
of acting. Signatures are checked before any of this runs (Bolt's request verification).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from memory.ids import ALPHABET

APPROVAL_ID = re.compile(f"[{ALPHABET}]{{1,12}}")
USER_ID = re.compile(r"[UWB][A-Z0-9]{2,20}")
CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{2,20}")
VIEW_ID = re.compile(r"V[A-Z0-9]{2,20}")
TS = re.compile(r"\d{1,12}\.\d{1,8}")
MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")

SurfaceKind = Literal["message", "ephemeral", "home", "modal"]


@dataclass(frozen=True)
class Surface:
    """Where a card was clicked: a message (channel and ts), an ephemeral, App Home, a modal."""

    kind: SurfaceKind
    channel_id: str = ""
    ts: str = ""
    view_id: str = ""


@dataclass(frozen=True)
class Click:
    """A button press; ``approval_id`` is None when the value is not a Deskhand id.

    ``origin`` is where a modal's card came from, when the press was inside a modal that
    was opened from a card (so the card can be updated too).
    """

    user_id: str
    user_name: str | None
    approval_id: str | None
    surface: Surface
    trigger_id: str | None
    origin: Surface | None = None

    @property
    def card(self) -> Surface:
        """Where the approval's card is: the origin of a modal, else where it was clicked."""
        return self.origin if self.origin is not None else self.surface


def parse_click(body: dict[str, Any], *, key: re.Pattern[str] = APPROVAL_ID) -> Click | None:
    """The click in a ``block_actions`` body; None when it has no plausible user.

    ``key`` is what a value must look like (an approval id unless said otherwise).
    """
    user = body.get("user") or {}
    user_id = str(user.get("id", ""))
    if not USER_ID.fullmatch(user_id):
        return None
    actions = body.get("actions") or [{}]
    value = str(actions[0].get("value", ""))
    approval_id = value if key.fullmatch(value) else None
    trigger = body.get("trigger_id")
    surface = _surface(body)
    origin = None
    if surface.kind == "modal":
        meta = parse_meta(str((body.get("view") or {}).get("private_metadata") or ""))
        origin = meta[1] if meta is not None and meta[0] == approval_id else None
    return Click(
        user_id=user_id,
        user_name=user.get("name") or user.get("username"),
        approval_id=approval_id,
        surface=surface,
        trigger_id=str(trigger) if trigger else None,
        origin=origin,
    )


def _surface(body: dict[str, Any]) -> Surface:
    container = body.get("container") or {}
    if container.get("type") == "view":
        view = body.get("view") or {}
        view_id = str(view.get("id") or container.get("view_id") or "")
        kind: SurfaceKind = "home" if view.get("type") == "home" else "modal"
        return Surface(kind, view_id=view_id if VIEW_ID.fullmatch(view_id) else "")
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    ts = str(container.get("message_ts") or "")
    if not (CHANNEL_ID.fullmatch(channel) and TS.fullmatch(ts)):
        return Surface("ephemeral", channel_id=channel if CHANNEL_ID.fullmatch(channel) else "")
    if container.get("is_ephemeral"):
        return Surface("ephemeral", channel_id=channel, ts=ts)
    return Surface("message", channel_id=channel, ts=ts)


def encode_meta(approval_id: str, surface: Surface) -> str:
    """A modal's ``private_metadata``: which approval, and where its card is."""
    return "|".join((approval_id, surface.kind, surface.channel_id, surface.ts))


def parse_meta(text: str) -> tuple[str, Surface] | None:
    """Read :func:`encode_meta` back; None for anything that is not exactly that shape."""
    parts = text.split("|")
    if len(parts) != 4:
        return None
    approval_id, kind, channel, ts = parts
    if not APPROVAL_ID.fullmatch(approval_id):
        return None
    if kind == "message" and CHANNEL_ID.fullmatch(channel) and TS.fullmatch(ts):
        return approval_id, Surface("message", channel_id=channel, ts=ts)
    if kind in ("home", "ephemeral") and not ts:
        if channel and not CHANNEL_ID.fullmatch(channel):
            return None
        return approval_id, Surface(kind, channel_id=channel)  # type: ignore[arg-type]
    return None


def command_text(text: str) -> str:
    """``/deskhand approve K7M2Q`` arrives as ``approve K7M2Q``; the core wants ``/approve``."""
    words = text.strip().lstrip("/").strip()
    return "/" + words if words else "/help"


def message_text(text: str, commands: Iterable[str]) -> str:
    """A DM or mention as a command: mentions dropped, a slash added before a command name.

    Slack keeps typed ``/words`` for its own slash commands, so in a DM people write
    ``pending`` or ``approve K7M2Q``; anything else goes to the core as typed.
    """
    stripped = MENTION.sub("", text).strip()
    first = stripped.split(" ", 1)[0].lower().lstrip("/")
    if stripped and first in set(commands):
        return command_text(stripped)
    return stripped or "/help"
