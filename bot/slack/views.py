"""Modal submissions (``view_submission``): a rejection with its reason, an edited draft.

Problems are shown inline in the modal (``response_action: errors``), so the decision is
made before the ack; should the core be slow, the modal is closed before Slack's
3-second limit and the outcome arrives as a message instead. A rejection is answered as
soon as it commits and its run's end follows on the card; an edit waits for its run,
whose answer is the edited draft's new card.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.decisions import follow
from bot.core.messages import ApprovalCard, ButtonAction, Inbound, Response
from bot.slack.actions import ClickedCard, settle
from bot.slack.blocks import clip
from bot.slack.context import SlackContext
from bot.slack.payloads import USER_ID, Click, parse_meta
from bot.slack.replies import texts
from bot.slack.surfaces import EDIT_CALLBACK, FIELD_BLOCK, LABELS, REASON_BLOCK, REJECT_CALLBACK
from graph.spec import Field

log = logging.getLogger(__name__)

ACK_BUDGET = 2.0  # seconds to wait for the core before closing the modal anyway
FORGED = "This form is not one I opened, so nothing was changed."


async def on_reject_submit(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """Reject with the (optional) reason typed in the modal."""
    click = _click(body, view)
    if click is None or click.approval_id is None:
        await ack(response_action="errors", errors={REASON_BLOCK: FORGED})
        return
    reason = (_values(view).get(REASON_BLOCK) or "").strip() or None
    action = ButtonAction("reject", click.approval_id, reason=reason)
    await _decide(ctx, ack, click, action, error_block=REASON_BLOCK, stacked=_stacked(view))


async def on_edit_submit(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """Save the edited draft; the core validates and asks for approval again."""
    values = {k.removeprefix(FIELD_BLOCK): v for k, v in _values(view).items()}
    first = FIELD_BLOCK + next(iter(values), "to")
    click = _click(body, view)
    if click is None or click.approval_id is None:
        await ack(response_action="errors", errors={first: FORGED})
        return
    user = await ctx.user(click.user_id, click.user_name)
    checked = await ctx.core.check(Inbound(user, action=ButtonAction("edit", click.approval_id)))
    cards = [r.approval for r in checked.replies if isinstance(r, ApprovalCard)]
    if checked.refused or not cards:
        await ack(response_action="errors", errors={first: clip(texts(checked.replies), 300)})
        await settle(ctx, click, checked, None, explain=False)
        return
    spec = ctx.runtime.manager.workflows.get(cards[0].workflow)
    fields = {f.name: f for f in (spec.editable if spec else ()) if f.name in values}
    errors = {FIELD_BLOCK + name: msg for name, msg in field_errors(fields, values).items()}
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    changes = {k: v for k, v in values.items() if v != str(cards[0].preview.get(k, ""))}
    if not changes:
        await ack(response_action="errors", errors={first: "Change something first, or Cancel."})
        return
    action = ButtonAction("edit", click.approval_id, changes=changes)
    await _decide(ctx, ack, click, action, error_block=first, stacked=_stacked(view))


def field_errors(fields: dict[str, Field], values: dict[str, str]) -> dict[str, str]:
    """Each field's problem, by the workflow's own validators (the core checks them again)."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            continue
        label = LABELS.get(name, name.title())
        try:
            clean = field.check(value)
        except ValueError as exc:
            errors[name] = f"{label} {exc}."
            continue
        if field.required and not clean:
            errors[name] = f"{label} is empty ({field.help})."
    return errors


async def _decide(
    ctx: SlackContext,
    ack: AsyncAck,
    click: Click,
    action: ButtonAction,
    *,
    error_block: str,
    stacked: bool,
) -> None:
    close = "clear" if stacked else None
    async with ctx.busy():
        user = await ctx.user(click.user_id, click.user_name)
        # A rejection closes the modal once it commits (its run's end follows on the
        # card); an edit waits for the run, since its answer is the new draft's card.
        handled = ctx.core.handle(Inbound(user, action=action), resume_later=True)
        task = asyncio.ensure_future(handled)
        done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET)
        late = not done
        if late:  # keep within Slack's 3 seconds; the outcome follows as a message
            await ack(response_action=close)
        response: Response = await task
        if not response.refused:
            if not late:
                await ack(response_action=close)
            card = ClickedCard(ctx, click, None)
            await card.decided(response)
            follow(response, card, ctx.spawn)
            return
    if not late:
        errors = {error_block: clip(texts(response.replies), 300)}
        await ack(response_action="errors", errors=errors)
    await settle(ctx, click, response, None, explain=late)


def _click(body: dict[str, Any], view: dict[str, Any]) -> Click | None:
    """The submission as a click on the card named in the modal's metadata."""
    user_id = str((body.get("user") or {}).get("id", ""))
    meta = parse_meta(str(view.get("private_metadata") or ""))
    if meta is None or not USER_ID.fullmatch(user_id):
        log.warning("modal submission with forged metadata refused", extra={"user": user_id})
        return None
    approval_id, surface = meta
    name = (body.get("user") or {}).get("name")
    return Click(user_id, name, approval_id, surface, body.get("trigger_id"))


def _values(view: dict[str, Any]) -> dict[str, str]:
    """``{block_id: text}`` of the modal's text inputs."""
    state = (view.get("state") or {}).get("values") or {}
    return {
        block: str((actions.get("value") or {}).get("value") or "")
        for block, actions in state.items()
        if isinstance(actions, dict)
    }


def _stacked(view: dict[str, Any]) -> bool:
    """True when the modal sits on top of another (close them all on success)."""
    return bool(view.get("previous_view_id"))


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Wire the modal submissions."""
    app.view(REJECT_CALLBACK)(partial(on_reject_submit, ctx))
    app.view(EDIT_CALLBACK)(partial(on_edit_submit, ctx))
