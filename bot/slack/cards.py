"""Posting approval cards, showing decisions on them, and telling people things privately.

Every card posted is recorded, so the dispatcher keeps it current. Whoever edits a card
claims the state it will show first (``bot.core.delivery.edit_card``): the handler of the
click that decided it, or a dispatcher that noticed; so a card is edited once per state
however many clicks, dispatchers and replicas notice the same decision, and never goes
back from the run's outcome to the decision.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.core.delivery import MessageRef, edit_card, record_shown
from bot.core.messages import ApprovalCard, ApprovalView, Reply, Response, RunView, Text, Tone
from bot.slack.blocks import card_blocks, card_text
from bot.slack.context import CHANNEL, SlackContext
from bot.slack.payloads import Surface
from bot.slack.replies import Message, message
from bot.slack.surfaces import notice_modal, review_modal
from memory import deliveries

log = logging.getLogger(__name__)

# chat.postMessage errors that mean "not here", where a DM still works.
NOT_HERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


@dataclass(frozen=True)
class Conversation:
    """Where something came from, and so where private answers go."""

    user_id: str
    channel_id: str | None = None
    respond: AsyncRespond | None = None  # a response_url: answers only the user sees
    thread_ts: str | None = None
    trigger_id: str | None = None  # App Home and modals: a notice modal is the only way
    in_modal: bool = False

    @property
    def is_dm(self) -> bool:
        """True in the app's direct messages, where every message is private anyway."""
        return bool(self.channel_id and self.channel_id.startswith("D"))


async def answer(ctx: SlackContext, response: Response, conv: Conversation) -> None:
    """Send the core's answer: pending cards as their own messages, the rest privately."""
    cards: list[ApprovalView] = []
    rest: list[Reply] = []
    for reply in response.replies:
        pending = isinstance(reply, ApprovalCard) and reply.approval.status == "pending"
        if pending and not response.refused:
            cards.append(reply.approval)  # type: ignore[union-attr]
        else:
            rest.append(reply)
    if rest:
        await tell(ctx, conv, message(rest))
    for view in cards:
        await post_card(ctx, view, conv)


async def tell(ctx: SlackContext, conv: Conversation, msg: Message) -> None:
    """Show ``msg`` to the user alone, by the best way this conversation offers."""
    if conv.respond is not None and conv.respond.response_url:
        await conv.respond(
            text=msg.text, blocks=msg.blocks, response_type="ephemeral", replace_original=False
        )
    elif conv.is_dm:
        await ctx.client.chat_postMessage(
            channel=conv.channel_id or "",
            text=msg.text,
            blocks=msg.blocks,
            thread_ts=conv.thread_ts,
        )
    elif conv.channel_id:
        await ctx.client.chat_postEphemeral(
            channel=conv.channel_id,
            user=conv.user_id,
            text=msg.text,
            blocks=msg.blocks,
            thread_ts=conv.thread_ts,
        )
    elif conv.trigger_id:
        opener = ctx.client.views_push if conv.in_modal else ctx.client.views_open
        await opener(trigger_id=conv.trigger_id, view=notice_modal(msg.text))
    else:
        await ctx.client.chat_postMessage(
            channel=await ctx.dm(conv.user_id), text=msg.text, blocks=msg.blocks
        )


async def post_card(ctx: SlackContext, view: ApprovalView, conv: Conversation) -> MessageRef | None:
    """Post a pending card where the user asked, and record it; None if it went elsewhere.

    The delivery is claimed first: the dispatcher, poked by the same decision, would
    otherwise post the card a second time to the default destination.
    """
    async with ctx.sessions.begin() as session:
        won = await deliveries.claim(session, approval_id=view.id, channel=CHANNEL)
    target = conv.channel_id or await ctx.dm(conv.user_id)
    if not won and target == await ctx.notifier.destination():
        return None  # the dispatcher is posting it right here
    blocks, text = card_blocks(view), card_text(view)
    try:
        posted = await ctx.client.chat_postMessage(
            channel=target, text=text, blocks=blocks, thread_ts=conv.thread_ts, unfurl_links=False
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_HERE:
            raise
        dm = await ctx.dm(conv.user_id)
        posted = await ctx.client.chat_postMessage(
            channel=dm, text=text, blocks=blocks, unfurl_links=False
        )
        note = "I can't post in that channel (`/invite` me there), so the card is in our DM."
        await tell(ctx, Conversation(conv.user_id, dm), message_of(note))
    ref = MessageRef(CHANNEL, str(posted["channel"]), str(posted["ts"]))
    await record_shown(ctx.sessions, view=view, ref=ref, claim=False)
    ctx.home.poke()
    return ref


async def show_outcome(
    ctx: SlackContext,
    surfaces: Sequence[Surface],
    view: ApprovalView,
    *,
    user_id: str,
    run: RunView | None = None,
    note: str = "",
    respond: AsyncRespond | None = None,
) -> None:
    """Show a decided approval where it was seen: card, ephemeral, App Home or modal.

    A card message is edited only if it does not show this much already (see
    :func:`update_card`).
    """
    for surface in surfaces:
        if surface.kind == "message":
            ref = MessageRef(CHANNEL, surface.channel_id, surface.ts)
            await update_card(ctx, ref, view, run, note)
        elif surface.kind == "ephemeral" and respond is not None and respond.response_url:
            blocks = card_blocks(view, run=run, note=note)
            await respond(text=card_text(view), blocks=blocks, replace_original=True)
        elif surface.kind == "home":
            await ctx.home.publish(user_id)
        elif surface.kind == "modal" and surface.view_id:
            await _update_modal(ctx, surface.view_id, view, run)
    ctx.home.poke()


async def _update_modal(
    ctx: SlackContext, view_id: str, view: ApprovalView, run: RunView | None
) -> None:
    """Show the outcome in the review modal, unless it has been closed meanwhile."""
    try:
        await ctx.client.views_update(view_id=view_id, view=review_modal(view, run=run))
    except SlackApiError as exc:
        # Closed by the user (the run's outcome can come seconds after the decision):
        # the card it was opened from is still updated after this.
        log.info("review modal not updated", extra={"error": exc.response.get("error")})


async def update_card(
    ctx: SlackContext, ref: MessageRef, view: ApprovalView, run: RunView | None, note: str
) -> bool:
    """Edit the card at ``ref`` to show ``view``; False when it was not this call's to edit.

    The new state is claimed first: a dispatcher (here or on another replica) may have
    noticed the decision or the run's outcome and shown it already, and then this call
    edits nothing. A failed edit gives the claim back, for the dispatcher to retry.
    """
    if view.status == "pending":
        return False
    manager = ctx.runtime.manager
    if run is None:  # show all there is (a card that fell behind), never less than it has
        pair = await manager.with_run(view.id)
        run = RunView.of(pair[1]) if pair else None
    state = deliveries.shown_state(view.status, run.status if run else None)
    blocks = card_blocks(view, run=run, note=note)

    async def edit() -> None:
        await ctx.client.chat_update(
            channel=ref.chat_id, ts=ref.message_id, text=card_text(view), blocks=blocks
        )

    try:
        return await edit_card(
            manager, ctx.sessions, ref=ref, approval_id=view.id, state=state, edit=edit
        )
    except SlackApiError as exc:
        log.warning(
            "could not update a card",
            extra={"approval_id": view.id, "error": exc.response.get("error")},
        )
        return False


def message_of(text: str, tone: Tone = "info") -> Message:
    """A one-line message."""
    return message([Text(text, tone)])
