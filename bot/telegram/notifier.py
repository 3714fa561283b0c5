"""Sending and editing Telegram messages, for the handlers and for the dispatcher.

:class:`TelegramNotifier` is the dispatcher's :class:`~bot.core.delivery.Notifier` (post a
card to ``TELEGRAM_CHAT_ID``, refresh a stale one, tell of an email given up on) and the
handlers' sender: it renders core responses, records every pending card it shows so the
dispatcher keeps it current, and edits cards in place after decisions.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import Message

from bot.core.delivery import MessageRef, edit_card, record_shown
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    BatchView,
    DigestView,
    Response,
    RunView,
)
from bot.core.views import RetryNotice
from bot.telegram import notices
from bot.telegram.cards import card
from bot.telegram.render import messages
from bot.telegram.sender import Sender
from graph.runs import RunManager
from memory import deliveries, runs
from memory.db import Sessions

log = logging.getLogger(__name__)

CHANNEL = "telegram"


class ChannelStopped(RuntimeError):
    """The Telegram channel stopped before (or while) a message could be sent."""


def ref_of(chat_id: int, message_id: int) -> MessageRef:
    """The delivery reference of a Telegram message."""
    return MessageRef(CHANNEL, str(chat_id), str(message_id))


class TelegramNotifier:
    """Posts, edits and records Telegram messages for one bot."""

    channel = CHANNEL

    def __init__(
        self, *, sender: Sender, sessions: Sessions, manager: RunManager, chat_id: int | None
    ) -> None:
        self.sender = sender
        self._sessions = sessions
        self._manager = manager
        self._chat_id = chat_id
        self._ready = asyncio.Event()
        self._stopped = asyncio.Event()

    def now(self) -> datetime:
        """The time cards are rendered at ("at 14:02" rather than a full date today)."""
        return datetime.now(UTC)

    def set_ready(self, ready: bool) -> None:
        """Open (after the bot is initialised) or close (at stop) the way to Telegram."""
        (self._stopped.clear if ready else self._stopped.set)()
        (self._ready.set if ready else self._ready.clear)()

    async def _wait_ready(self) -> None:
        # The dispatcher starts before the channels do; it must wait, not fail, because
        # it has already claimed the approval it is about to post.
        if self._ready.is_set():
            return
        ready = asyncio.ensure_future(self._ready.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopped.cancel()
        if not self._ready.is_set():
            raise ChannelStopped("the Telegram channel is not running")

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        """Post a card to ``TELEGRAM_CHAT_ID`` (default: the first operator's private chat)."""
        if self._chat_id is None:
            return None
        await self._wait_ready()
        rendered = card(view, now=self.now())
        message = await self.sender.send(self._chat_id, rendered.html, markup=rendered.keyboard)
        return ref_of(message.chat_id, message.message_id)

    async def post_retry(self, view: RetryNotice) -> MessageRef | None:
        """Post "Not sent ... [Retry]" for an email given up on to the default chat."""
        if self._chat_id is None:
            return None
        await self._wait_ready()
        html, keyboard = notices.notice(view)
        message = await self.sender.send(self._chat_id, html, markup=keyboard)
        return ref_of(message.chat_id, message.message_id)

    async def post_batch(self, view: BatchView) -> None:
        """Post a batch of held-back requests (and reminders) to the default chat."""
        await self._post(Response((view,)))

    async def post_digest(self, view: DigestView) -> None:
        """Post the digest to the default chat."""
        await self._post(Response((view,)))

    async def _post(self, response: Response) -> None:
        if self._chat_id is None:
            log.warning("no Telegram chat to post to; set TELEGRAM_CHAT_ID")
            return
        await self._wait_ready()
        await self.send(self._chat_id, response)

    async def refresh_approval(
        self, view: ApprovalView, ref: MessageRef, run: RunView | None = None
    ) -> None:
        """Edit a card in place to show its approval and its run (read if not given) now."""
        await self._wait_ready()
        rendered = card(view, now=self.now(), run=run or await self._run_of(view))
        await self.sender.edit(
            int(ref.chat_id), int(ref.message_id), rendered.html, rendered.keyboard
        )

    async def _run_of(self, view: ApprovalView) -> RunView | None:
        # All there is: a card shows the run as it is when it is edited, so the state it
        # claims (decided, or decided with the outcome) is what it shows.
        if view.status == "pending":
            return None
        async with self._sessions() as session:
            row = await runs.get(session, run_id=view.run_id)
        return RunView.of(row) if row is not None else None

    async def show(
        self,
        chat_id: int,
        message_id: int,
        view: ApprovalView,
        run: RunView | None = None,
    ) -> bool:
        """Edit the card at hand to show ``view`` (and the run), unless it shows it already.

        The new state is claimed first (``bot.core.delivery.edit_card``): the dispatcher,
        here or on another replica, may have noticed the decision or the run's outcome and
        shown it already, and then this edits nothing. A failed edit gives it back.

        Returns:
            True when this call edited the card.
        """
        ref = ref_of(chat_id, message_id)
        run = run or await self._run_of(view)  # all there is, never less than the card has
        state = deliveries.shown_state(view.status, run.status if run else None)
        rendered = card(view, now=self.now(), run=run)

        async def edit() -> None:
            await self.sender.edit(chat_id, message_id, rendered.html, rendered.keyboard)

        return await edit_card(
            self._manager, self._sessions, ref=ref, approval_id=view.id, state=state, edit=edit
        )

    async def refresh_shown(self, view: ApprovalView) -> None:
        """Bring every Telegram card of ``view`` up to date now, not at the next pass."""
        async with self._sessions() as session:
            shown = await deliveries.messages(session, approval_id=view.id)
        run = await self._run_of(view)
        for row in shown:
            if row.channel == CHANNEL:  # the dispatcher may be at it too: one of us edits
                await self.show(int(row.chat_id), int(row.message_id), view, run)

    async def send(
        self,
        chat_id: int,
        response: Response,
        *,
        reply_to: int | None = None,
        asked: bool = False,
    ) -> list[Message]:
        """Send a core response; pending cards are claimed and recorded for this channel.

        The default chat gets one card per approval: whoever wins the delivery claim (this
        reply, or the dispatcher the core has already poked) posts it there, never both.
        ``asked`` when the user asked for these cards by name (a tap on an entry of
        /pending): they are shown even where they were delivered before.
        """
        pending = [
            r.approval
            for r in response.replies
            if isinstance(r, ApprovalCard) and r.approval.status == "pending"
        ]
        won: dict[str, bool] = {}
        if pending:
            async with self._sessions.begin() as session:
                for view in pending:
                    won[view.id] = await deliveries.claim(
                        session, approval_id=view.id, channel=CHANNEL
                    )
        sent = []
        for out in messages(response, now=self.now()):
            lost = out.approval is not None and won.get(out.approval.id) is False
            if lost and chat_id == self._chat_id and not asked:
                continue  # the claim's winner posts (or has posted) this card right here
            message = await self.sender.send(
                chat_id, out.html, markup=out.keyboard, reply_to=reply_to
            )
            if out.approval is not None and out.approval.status == "pending":
                ref = ref_of(chat_id, message.message_id)
                await record_shown(self._sessions, view=out.approval, ref=ref, claim=False)
            sent.append(message)
        return sent
