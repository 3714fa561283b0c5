"""Proactive delivery: approval cards reach each chat channel, and stay current.

Each chat front-end implements :class:`Notifier` (post a card, refresh a card). The
:class:`Dispatcher` is channel-neutral: it posts approvals a channel has not been sent yet
(claimed once per channel, so several replicas never double-post) and brings every card
up to what its approval and run imply now (``memory.deliveries.shown_state``): decided
somewhere else (another chat, the CLI, another replica), or its run finished after the
process that showed the decision stopped (recovery finished it).

Every edit of a card, by the dispatcher or by the handler of a tap on it, goes through
:func:`edit_card`: the new state is claimed first (``memory.deliveries.mark_shown``, which
only moves forward), and only the writer that claimed it edits. So a card is edited once
per state however many passes, handlers and replicas see it behind, and a late writer
(a stale pass, a decision's edit after the outcome was claimed) edits nothing.
Channels that can show them are also told of emails given up on (``bot.core.notices``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from bot.core import notices
from bot.core.messages import ApprovalView, RunView
from memory import deliveries
from memory.db import Sessions

if TYPE_CHECKING:
    from graph.runs import RunManager

log = logging.getLogger(__name__)

# How far back a pass looks for runs that finished without their cards showing it: the
# first pass after start-up covers a long outage, later ones the last hour (a card whose
# edit failed is retried on every pass in that hour, then at the next start).
CATCH_UP = timedelta(days=7)
RECENT = timedelta(hours=1)


@dataclass(frozen=True)
class MessageRef:
    """Where a card was posted: channel, chat (or Slack channel) and message id (or ts)."""

    channel: str
    chat_id: str
    message_id: str


class Notifier(Protocol):
    """What a chat front-end offers the dispatcher."""

    channel: str

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        """Post a card to the channel's default destination; None when there is none."""
        ...

    async def refresh_approval(
        self, view: ApprovalView, ref: MessageRef, run: RunView | None = None
    ) -> None:
        """Edit an existing card in place to show the approval (and its run) as it is now."""
        ...


async def record_shown(
    sessions: Sessions, *, view: ApprovalView, ref: MessageRef, claim: bool = True
) -> None:
    """Remember that a chat shows ``view`` (a front-end just posted it as a reply).

    With ``claim`` the approval also counts as delivered to that channel, so the
    dispatcher will not post it a second time to the default destination.
    """
    async with sessions.begin() as session:
        if claim:
            await deliveries.claim(session, approval_id=view.id, channel=ref.channel)
        await deliveries.add_message(
            session,
            approval_id=view.id,
            channel=ref.channel,
            chat_id=ref.chat_id,
            message_id=ref.message_id,
            rendered_status=deliveries.shown_state(view.status, None),
        )


async def mark_refreshed(
    manager: RunManager, *, ref: MessageRef, approval_id: str, status: str
) -> bool:
    """Record that the message at ``ref`` now shows ``status`` (True if it changed).

    ``status`` is what the card shows (``memory.deliveries.shown_state``).
    """
    return await manager.mark_shown(
        approval_id=approval_id,
        channel=ref.channel,
        chat_id=ref.chat_id,
        message_id=ref.message_id,
        status=status,
    )


# One claim-and-edit at a time per card in this process, so edits go out in the order their
# states were claimed: a decision's edit still on its way cannot land after the outcome's.
_EDITING: weakref.WeakValueDictionary[MessageRef, asyncio.Lock] = weakref.WeakValueDictionary()


async def edit_card(
    manager: RunManager,
    sessions: Sessions,
    *,
    ref: MessageRef,
    approval_id: str,
    state: str,
    edit: Callable[[], Awaitable[None]],
) -> bool:
    """Claim ``state`` for the card at ``ref``, then ``edit`` it if the claim was this call's.

    Args:
        manager: the run manager, which records what cards show.
        sessions: the session factory, to give a claim back.
        ref: the card.
        approval_id: the approval it shows.
        state: what the edit shows (``memory.deliveries.shown_state``).
        edit: the edit itself.

    Returns:
        True when this call edited the card; False when it already shows ``state`` or
        more (someone else claimed it).

    Raises:
        Whatever ``edit`` raises, after giving the claim back so a later pass tries again.
    """
    lock = _EDITING.setdefault(ref, asyncio.Lock())
    async with lock:
        if not await mark_refreshed(manager, ref=ref, approval_id=approval_id, status=state):
            return False
        try:
            await edit()
        except BaseException:
            async with sessions.begin() as session:
                await deliveries.give_back(
                    session,
                    channel=ref.channel,
                    chat_id=ref.chat_id,
                    message_id=ref.message_id,
                    status=state,
                )
            raise
    return True


class Dispatcher:
    """Posts new approvals, refreshes stale cards and tells of emails given up on."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        manager: RunManager,
        notifiers: Sequence[Notifier],
        interval: float = 2.0,
        min_gap: float = 0.25,
        risks: Sequence[str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._manager = manager
        self._notifiers = list(notifiers)
        self._interval = interval
        self._min_gap = min_gap
        self._risks = risks
        self._poked = asyncio.Event()
        self._look_back = CATCH_UP  # RECENT once a pass has caught up

    def poke(self) -> None:
        """Run the next pass now (something changed in this process)."""
        self._poked.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; a failing pass is logged, never fatal.

        A poke starts the next pass, but passes are at least ``min_gap`` apart: under a
        burst of decisions the pokes coalesce into one pass instead of a pass per poke
        (a tapped card is mostly updated by its own handler, which claims each state as
        soon as it can show it; the passes catch up copies elsewhere and post new cards).
        """
        while not stop.is_set():
            self._poked.clear()  # pokes from now on ask for another pass
            await self.tick()
            await _any(stop, timeout=self._min_gap)
            await _any(self._poked, stop, timeout=max(0.0, self._interval - self._min_gap))

    async def tick(self) -> int:
        """One pass over every channel; returns how many messages were posted or edited."""
        done = 0
        for notifier in self._notifiers:
            try:
                done += await self._deliver(notifier)
                done += await self._refresh(notifier)
                if isinstance(notifier, notices.RetryNotifier):
                    done += await notices.deliver(self._sessions, notifier)
            except Exception:
                ref = secrets.token_hex(4)
                log.exception(
                    "delivery pass failed", extra={"channel": notifier.channel, "ref": ref}
                )
        return done

    async def _deliver(self, notifier: Notifier) -> int:
        async with self._sessions() as session:
            waiting = await deliveries.undelivered(
                session, channel=notifier.channel, risks=self._risks
            )
        posted = 0
        for approval in waiting:
            async with self._sessions.begin() as session:
                won = await deliveries.claim(
                    session, approval_id=approval.id, channel=notifier.channel
                )
            if not won:
                continue
            view = ApprovalView.of(approval)
            try:
                ref = await notifier.post_approval(view)
            except Exception:
                ref = None
                log.exception(
                    "could not post a card",
                    extra={"channel": notifier.channel, "approval_id": approval.id},
                )
            if ref is None:
                # Nowhere to post, or the post failed: give the claim back for next time.
                async with self._sessions.begin() as session:
                    await deliveries.release(
                        session, approval_id=approval.id, channel=notifier.channel
                    )
                continue
            await record_shown(self._sessions, view=view, ref=ref, claim=False)
            posted += 1
        return posted

    async def _refresh(self, notifier: Notifier) -> int:
        since = datetime.now(UTC) - self._look_back
        async with self._sessions() as session:
            behind = await deliveries.unsettled(session, channel=notifier.channel, since=since)
        self._look_back = RECENT
        edited = 0
        for message, approval, run in behind:
            ref = MessageRef(message.channel, message.chat_id, message.message_id)
            state = deliveries.shown_state(approval.status, run.status)
            refresh = partial(
                notifier.refresh_approval, ApprovalView.of(approval), ref, RunView.of(run)
            )
            try:
                if await edit_card(
                    self._manager,
                    self._sessions,
                    ref=ref,
                    approval_id=approval.id,
                    state=state,
                    edit=refresh,
                ):
                    edited += 1
            except Exception:
                ref_id = secrets.token_hex(4)
                log.exception(
                    "could not refresh a card",
                    extra={"channel": notifier.channel, "approval_id": approval.id, "ref": ref_id},
                )
        return edited


async def _any(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of ``events`` is set, or ``timeout`` seconds."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
