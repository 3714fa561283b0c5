"""Channel-neutral messages: what comes in from a chat, and the replies to render.

Replies carry plain data (views), never ORM rows, so renderers stay pure functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.core.views import ApprovalView, BatchView, DigestView, EventView, RunView
from memory.models import OutboundMessage

# "approve_all" carries a digest key instead of an approval id.
Verb = Literal["approve", "reject", "edit", "approve_all"]
Tone = Literal["info", "ok", "warn", "error"]


@dataclass(frozen=True)
class User:
    """Who sent something: ``channel`` plus the platform's user id."""

    channel: str
    id: str
    name: str | None = None

    @property
    def actor(self) -> str:
        """The actor string recorded in the audit log, e.g. ``telegram:12345``."""
        return f"{self.channel}:{self.id}"

    @property
    def display(self) -> str:
        """A name for messages ("Approved by Ana")."""
        return self.name or self.actor


@dataclass(frozen=True)
class ButtonAction:
    """A button press (or its typed equivalent) on an approval."""

    verb: Verb
    approval_id: str
    reason: str | None = None
    changes: dict[str, str] | None = None


@dataclass(frozen=True)
class Inbound:
    """One thing a user sent: a line of text or a button press."""

    user: User
    text: str | None = None
    action: ButtonAction | None = None


# -- replies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A plain message."""

    text: str
    tone: Tone = "info"


@dataclass(frozen=True)
class ApprovalCard:
    """An approval with its buttons (pending) or its outcome (decided)."""

    approval: ApprovalView


@dataclass(frozen=True)
class DecisionNotice:
    """A decision that went through, and where the run stands now."""

    approval: ApprovalView
    run: RunView


@dataclass(frozen=True)
class RunStarted:
    """A run was started; ``run`` says where it stands."""

    run: RunView


@dataclass(frozen=True)
class ApprovalList:
    """Pending approvals."""

    items: tuple[ApprovalView, ...]


@dataclass(frozen=True)
class RunList:
    """Recent runs."""

    items: tuple[RunView, ...]


@dataclass(frozen=True)
class RunDetails:
    """One run with its approvals, audit trail and sent messages."""

    run: RunView
    approvals: tuple[ApprovalView, ...]
    events: tuple[EventView, ...]
    sent: tuple[str, ...] = ()

    @staticmethod
    def sent_line(message: OutboundMessage) -> str:
        """One line per sent message."""
        return f"{message.channel} to {message.recipient}: \u201c{message.subject}\u201d"


@dataclass(frozen=True)
class Help:
    """The command list and the workflows that can be started."""

    commands: tuple[tuple[str, str], ...]
    workflows: tuple[tuple[str, str, str], ...]


Reply = (
    Text
    | ApprovalCard
    | DecisionNotice
    | RunStarted
    | ApprovalList
    | RunList
    | RunDetails
    | Help
    | DigestView
    | BatchView
)


@dataclass(frozen=True)
class Response:
    """What the core answers: replies to render; ``refused`` when nothing was done.

    ``later`` is set when a decision was answered as soon as it committed
    (``Core.handle(..., resume_later=True)``): it completes with the answer once the run
    has been resumed (the outcome, and a new card if the run waits again). It never
    raises; a front-end that ignores it loses nothing but that second update.
    """

    replies: tuple[Reply, ...]
    refused: bool = False
    error_ref: str | None = None
    later: Awaitable[Response] | None = None


# One command: what came in and the text after the command's name, to the replies.
Handler = Callable[[Inbound, str], Awaitable[tuple[Reply, ...]]]


__all__ = [
    "ApprovalCard",
    "ApprovalList",
    "ApprovalView",
    "BatchView",
    "ButtonAction",
    "DecisionNotice",
    "DigestView",
    "EventView",
    "Handler",
    "Help",
    "Inbound",
    "Reply",
    "Response",
    "RunDetails",
    "RunList",
    "RunStarted",
    "RunView",
    "Text",
    "Tone",
    "User",
    "Verb",
]
