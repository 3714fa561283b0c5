"""A notifier that records what each channel would have shown, with simulated times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core.delivery import MessageRef
from bot.core.views import ApprovalView, BatchView, DigestView


@dataclass
class Sent:
    at: datetime
    kind: str
    ids: tuple[str, ...]
    view: object = None


@dataclass
class RecordingNotifier:
    """Implements the attention notifier protocol by remembering every message."""

    channel: str
    now: datetime = datetime.min
    sent: list[Sent] = field(default_factory=list)
    refreshed: list[tuple[str, str]] = field(default_factory=list)

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        self.sent.append(Sent(self.now, "card", (view.id,), view))
        return MessageRef(self.channel, "chat", f"m{len(self.sent)}")

    async def refresh_approval(
        self, view: ApprovalView, ref: MessageRef, run: object = None
    ) -> None:
        self.refreshed.append((ref.message_id, view.status))

    async def post_batch(self, view: BatchView) -> None:
        ids = tuple(v.id for v in view.new) + tuple(v.id for v in view.reminders)
        self.sent.append(Sent(self.now, "batch", ids, view))

    async def post_digest(self, view: DigestView) -> None:
        self.sent.append(Sent(self.now, "digest", tuple(v.id for v in view.waiting), view))

    def of(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]
