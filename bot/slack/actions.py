"""Button presses (``block_actions``): Approve, Reject, Edit, Review; Approve all low-risk;
Retry an email given up on.

Every press is acknowledged first. Approve decides at once; Reject and Edit open a modal
(the decision comes with its submission, see ``views``); Review opens the whole card.
A press that cannot act (already decided, not an operator, unknown or forged id) gets a
short private explanation and changes nothing; the core logs refused attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.decisions import decide_on_card
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    ButtonAction,
    DecisionNotice,
    Inbound,
    Response,
    Text,
    Verb,
)
from bot.slack.blocks import APPROVE, EDIT, OPEN, REJECT
from bot.slack.cards import Conversation, message_of, post_card, show_outcome, tell
from bot.slack.context import SlackContext
from bot.slack.digests import APPROVE_LOW, DIGEST_KEY
from bot.slack.notices import RETRY, RUN_ID, on_notice, retried_blocks
from bot.slack.payloads import Click, Surface, encode_meta, parse_click
from bot.slack.replies import message
from bot.slack.surfaces import edit_modal, reject_modal, review_modal

log = logging.getLogger(__name__)

FORGED = "That button is not one of my approval cards, so nothing was changed."


async def on_approve(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Approve: decide at once and show it on the card; the run's outcome follows."""
    await ack()
    # Checked first: a second click while the run is being resumed (its email on its way,
    # the run's lock held) is told at once instead of waiting for the lock.
    checked = await _checked(ctx, body, respond, "approve")
    if checked is None:
        return
    click, view = checked
    user = await ctx.user(click.user_id, click.user_name)
    inbound = Inbound(user, action=ButtonAction("approve", view.id))
    async with ctx.busy():
        await decide_on_card(ctx.core, inbound, ClickedCard(ctx, click, respond), ctx.spawn)


async def on_reject(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Reject (after Slack's confirm dialog): ask for an optional reason in a modal."""
    await ack()
    checked = await _checked(ctx, body, respond, "reject")
    if checked is not None:
        click, view = checked
        await _open(ctx, click, reject_modal(view, encode_meta(view.id, _location(click))))


async def on_edit(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Edit: a modal pre-filled with the draft's editable fields."""
    await ack()
    checked = await _checked(ctx, body, respond, "edit")
    if checked is None:
        return
    click, view = checked
    spec = ctx.runtime.manager.workflows.get(view.workflow)
    fields = list(spec.editable) if spec else []
    if not fields:
        note = f"Approval {view.id} has nothing to edit here; approve or reject it."
        await tell(ctx, _conversation(click, respond), message_of(note, "warn"))
        return
    await _open(ctx, click, edit_modal(view, fields, encode_meta(view.id, _location(click))))


async def on_open(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Review / Show full email: the whole card, with its buttons, in a modal."""
    await ack()
    click = await _click(ctx, body, respond)
    if click is None or click.approval_id is None:
        return
    user = await ctx.user(click.user_id, click.user_name)
    response = await ctx.core.check(Inbound(user), approval_id=click.approval_id)
    views = [r.approval for r in response.replies if isinstance(r, ApprovalCard)]
    if response.refused or not views:
        await tell(ctx, _conversation(click, respond), message(response.replies))
        return
    await _open(ctx, click, review_modal(views[0], encode_meta(views[0].id, _location(click))))


async def on_approve_low(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """A digest's "Approve all low-risk" (after its confirm dialog): each one atomically."""
    await ack()
    async with ctx.busy():
        click = parse_click(body, key=DIGEST_KEY)
        if click is None or click.approval_id is None:
            log.warning("digest button with a forged value refused")
            if click is not None:
                await tell(ctx, _conversation(click, respond), message_of(FORGED, "warn"))
            return
        user = await ctx.user(click.user_id, click.user_name)
        action = ButtonAction("approve_all", click.approval_id)
        response = await ctx.core.handle(Inbound(user, action=action))
        await tell(ctx, _conversation(click, respond), message(response.replies))
        ctx.home.poke()


async def on_retry(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Retry (a notice's or a digest's): what /deskhand retry does; the notice shows it."""
    await ack()
    click = parse_click(body, key=RUN_ID)
    if click is None or click.approval_id is None:
        log.warning("retry button with a forged value refused")
        if click is not None:
            await tell(ctx, _conversation(click, respond), message_of(FORGED, "warn"))
        return
    run_id, conv = click.approval_id, _conversation(click, respond)
    user = await ctx.user(click.user_id, click.user_name)
    checked = await ctx.core.check_retry(Inbound(user), run_id)
    if checked.refused:  # not an operator, or nothing to retry (a second click, sent already)
        await tell(ctx, conv, message(checked.replies))
        return
    async with ctx.busy():
        response = await ctx.core.handle(Inbound(user, text=f"/retry {run_id}"))
    surface = click.surface
    if response.refused or not on_notice(body) or surface.kind != "message":
        await tell(ctx, conv, message(response.replies))  # a digest's Retry: the digest stays
        return
    text, blocks = retried_blocks(response, user.display)
    await ctx.client.chat_update(
        channel=surface.channel_id, ts=surface.ts, text=text, blocks=blocks
    )


@dataclass
class ClickedCard:
    """The clicked card, as the core's decision path (:mod:`bot.core.decisions`) draws on it.

    ``explain=False`` when a refusal was already shown (inline in a modal).
    """

    ctx: SlackContext
    click: Click
    respond: AsyncRespond | None
    explain: bool = True

    async def decided(self, response: Response) -> None:
        """The decision (or why not) on the card; an edited draft's new card below it."""
        await settle(self.ctx, self.click, response, self.respond, explain=self.explain)

    async def outcome(self, response: Response) -> None:
        """What the run did (sent, failed), added to the card that shows the decision."""
        await settle(self.ctx, self.click, response, self.respond)


async def settle(
    ctx: SlackContext,
    click: Click,
    response: Response,
    respond: AsyncRespond | None,
    *,
    explain: bool = True,
) -> None:
    """Show what a decision did: the card updated, an edited draft posted, or why not.

    ``explain=False`` when a refusal was already shown (inline in a modal).
    """
    cards = [r.approval for r in response.replies if isinstance(r, ApprovalCard)]
    notices = [r for r in response.replies if isinstance(r, DecisionNotice)]
    surfaces = [click.surface, *([click.origin] if click.origin else [])]
    if notices:
        decided, run = notices[0].approval, notices[0].run
        drafts = [view for view in cards if view.status == "pending"]
        note = f":arrow_down: The edited draft is approval `{drafts[0].id}`." if drafts else ""
        await show_outcome(
            ctx, surfaces, decided, user_id=click.user_id, run=run, note=note, respond=respond
        )
        card = click.card
        if card.channel_id:  # App Home shows new drafts itself; so does the dispatcher
            for view in drafts:
                await post_card(ctx, view, Conversation(click.user_id, card.channel_id))
        return
    for view in cards:  # refused: the card may be stale, decided somewhere else
        if view.status != "pending":
            await show_outcome(ctx, surfaces, view, user_id=click.user_id, respond=None)
    if explain:
        texts = [r for r in response.replies if isinstance(r, Text)]
        await tell(ctx, _conversation(click, respond), message(texts or response.replies))


async def _click(ctx: SlackContext, body: dict[str, Any], respond: AsyncRespond) -> Click | None:
    """The parsed click; a forged or malformed one is explained, logged and dropped."""
    click = parse_click(body)
    if click is None:
        log.warning("button press without a valid user dropped")
        return None
    if click.approval_id is None:
        log.warning("button press with a forged value refused", extra={"user": click.user_id})
        await tell(ctx, _conversation(click, respond), message_of(FORGED, "warn"))
    return click


async def _checked(
    ctx: SlackContext, body: dict[str, Any], respond: AsyncRespond, verb: Verb
) -> tuple[Click, ApprovalView] | None:
    """The click and its approval when ``verb`` may go ahead; otherwise explained, None."""
    click = await _click(ctx, body, respond)
    if click is None or click.approval_id is None:
        return None
    user = await ctx.user(click.user_id, click.user_name)
    response = await ctx.core.check(Inbound(user, action=ButtonAction(verb, click.approval_id)))
    views = [r.approval for r in response.replies if isinstance(r, ApprovalCard)]
    if response.refused or not views:
        await settle(ctx, click, response, respond)
        return None
    return click, views[0]


async def _open(ctx: SlackContext, click: Click, view: dict[str, Any]) -> None:
    """Open a modal (or stack it on the modal the press came from)."""
    if not click.trigger_id:
        log.warning("button press without a trigger id; cannot open a modal")
        return
    if click.surface.kind == "modal":
        await ctx.client.views_push(trigger_id=click.trigger_id, view=view)
    else:
        await ctx.client.views_open(trigger_id=click.trigger_id, view=view)


def _location(click: Click) -> Surface:
    """Where the card is, for a modal's metadata (a modal itself is not a place to update)."""
    card = click.card
    return card if card.kind != "modal" else Surface("ephemeral")


def _conversation(click: Click, respond: AsyncRespond | None) -> Conversation:
    """Where private explanations about a click go."""
    surface = click.surface
    if surface.kind in ("home", "modal"):
        in_modal = surface.kind == "modal"
        return Conversation(click.user_id, trigger_id=click.trigger_id, in_modal=in_modal)
    return Conversation(click.user_id, channel_id=surface.channel_id or None, respond=respond)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Wire the card buttons."""
    app.action(APPROVE)(partial(on_approve, ctx))
    app.action(REJECT)(partial(on_reject, ctx))
    app.action(EDIT)(partial(on_edit, ctx))
    app.action(OPEN)(partial(on_open, ctx))
    app.action(APPROVE_LOW)(partial(on_approve_low, ctx))
    app.action(RETRY)(partial(on_retry, ctx))
