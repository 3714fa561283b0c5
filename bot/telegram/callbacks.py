"""Inline-button presses: Approve, Reject, Edit and its fields, Show more, open, low-risk,
and Retry (an email given up on).

Each press is checked by the core first (operator? approval known and still pending?): a
refusal is answered with an alert and changes nothing, and a card that fell behind is
brought up to date. An accepted press is answered at once and then acted on; presses on one
approval are taken one at a time, so a double tap decides once and the second tap is told.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import ForceReply, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.core.decisions import decide_on_card
from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    ButtonAction,
    DecisionNotice,
    Inbound,
    Response,
    Verb,
)
from bot.telegram import cards, notices, prompts
from bot.telegram.callback_data import Kind, parse
from bot.telegram.chunks import escape
from bot.telegram.deps import TelegramDeps
from bot.telegram.render import refusal_alert
from bot.telegram.taps import Answer, Tap

log = logging.getLogger(__name__)

NOT_OURS = "That button is not one I can act on. Send /pending to see what is waiting."
Action = Callable[[Tap, TelegramDeps], Awaitable[None]]


async def on_press(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, deps: TelegramDeps
) -> None:
    """Check an inline-button press, then refuse it with an alert or answer it and act."""
    query = update.callback_query
    if query is None:
        return
    press, message, answer = parse(query.data), query.message, Answer(query)
    try:
        tap = Tap(query, message, press, answer) if press and message else None
        if tap is None or not tap.on_this_card():
            log.warning(
                "refused a button press that is not ours",
                extra={"user_id": query.from_user.id, "data": repr((query.data or "")[:64])},
            )
            await answer.give(NOT_OURS, alert=True)
            return
        async with deps.approvals.hold(tap.press.target):
            await ACTIONS[tap.press.kind](tap, deps)
    finally:
        await answer.close()


async def _check(tap: Tap, verb: Verb | None, deps: TelegramDeps) -> ApprovalView | None:
    """Ask the core whether the press may go ahead; refuse it and return None if not."""
    action = ButtonAction(verb, tap.press.target) if verb else None
    checked = await deps.core.check(Inbound(tap.user, action=action), tap.press.target)
    shown = next((r.approval for r in checked.replies if isinstance(r, ApprovalCard)), None)
    if not checked.refused and shown is not None:
        return shown
    alert = refusal_alert(checked, now=deps.notifier.now())
    if not await tap.answer.give(alert, alert=True):
        await deps.notifier.sender.send(tap.chat_id, escape(alert), reply_to=tap.message_id)
    if shown is not None and tap.shows(shown.id):  # a card that fell behind
        await deps.notifier.show(tap.chat_id, tap.message_id, shown)
    return None


async def approve(tap: Tap, deps: TelegramDeps) -> None:
    """Approve: answer the tap, decide through the core, show the outcome on the card."""
    if await _check(tap, "approve", deps) is None:
        return
    # Answer before deciding: the client shows a spinner until the query is answered, and
    # resuming the run (sending the email) can take much longer than a tap should feel.
    await tap.answer.give()
    inbound = Inbound(tap.user, action=ButtonAction("approve", tap.press.target))
    await decide_on_card(deps.core, inbound, TappedCard(tap, deps), deps.spawn)


@dataclass(frozen=True)
class TappedCard:
    """The tapped card, as the core's decision path (:mod:`bot.core.decisions`) draws on it."""

    tap: Tap
    deps: TelegramDeps

    async def decided(self, response: Response) -> None:
        """The decision (or why not) on the card, the rest of the answer below it."""
        await settle(self.tap, response, self.deps)

    async def outcome(self, response: Response) -> None:
        """The run's outcome on the card, unless the dispatcher showed it first."""
        await settle(self.tap, response, self.deps)


async def settle(tap: Tap, response: Response, deps: TelegramDeps) -> None:
    """Show a decision on the card that was tapped; send the rest of the answer below it.

    The card shows the decision, then the run's outcome, each edited by whoever claims
    it first: this handler, or a dispatcher that noticed it (see ``TelegramNotifier.show``).
    """
    notice = next((r for r in response.replies if isinstance(r, DecisionNotice)), None)
    shown = notice.approval if notice else None
    if response.refused:  # lost a race to another replica, or the decision failed
        shown = next((r.approval for r in response.replies if isinstance(r, ApprovalCard)), None)
    if shown is not None:
        run = notice.run if notice else None
        await deps.notifier.show(tap.chat_id, tap.message_id, shown, run)
    rest = tuple(r for r in response.replies if r is not notice and not _same_card(r, shown))
    if rest:
        answer = Response(rest, refused=response.refused)
        await deps.notifier.send(tap.chat_id, answer, reply_to=tap.message_id)
    # Copies of this card in other chats are the dispatcher's: the core has poked it.


def _same_card(reply: object, view: ApprovalView | None) -> bool:
    return isinstance(reply, ApprovalCard) and view is not None and reply.approval.id == view.id


async def ask_reason(tap: Tap, deps: TelegramDeps) -> None:
    """Reject: ask for an optional reason, by a question the user replies to."""
    view = await _check(tap, "reject", deps)
    if view is None:
        return
    await tap.answer.give()
    await _ask(tap, prompts.Question(view.id), prompts.reason_question(view, _who(tap)), deps)


async def choose_field(tap: Tap, deps: TelegramDeps) -> None:
    """Edit: swap the card's buttons for the fields that can be changed."""
    view = await _check(tap, "edit", deps)
    if view is None:
        return
    await tap.answer.give("Which field?")
    fields = cards.field_keyboard(view, editable(view, deps))
    await deps.notifier.sender.set_keyboard(tap.chat_id, tap.message_id, fields)


def editable(view: ApprovalView, deps: TelegramDeps) -> list[str]:
    """The fields its workflow lets an Edit change (the preview's, if it is unknown)."""
    spec = deps.core.manager.workflows.get(view.workflow)
    return [f.name for f in spec.editable] if spec else cards.editable(view)


async def ask_value(tap: Tap, deps: TelegramDeps) -> None:
    """Edit, field chosen: put the card's buttons back and ask for the new value."""
    view, field = await _check(tap, "edit", deps), str(tap.press.field)
    if view is None:
        return
    if field not in editable(view, deps):
        await tap.answer.give(f"{view.id} has no field {field} to change.", alert=True)
        return
    await tap.answer.give()
    await _restore_buttons(tap, view, deps)
    question = prompts.Question(view.id, field)
    await _ask(tap, question, prompts.value_question(view, field, _who(tap)), deps)


def _who(tap: Tap) -> str:
    return prompts.mention(tap.query.from_user.id, tap.query.from_user.first_name)


async def _ask(tap: Tap, question: prompts.Question, html: str, deps: TelegramDeps) -> None:
    hint = prompts.placeholder(question)
    markup = ForceReply(selective=True, input_field_placeholder=hint)
    await deps.notifier.sender.send(tap.chat_id, html, markup=markup, reply_to=tap.message_id)


async def _restore_buttons(tap: Tap, view: ApprovalView, deps: TelegramDeps) -> None:
    own = cards.card(view, now=deps.notifier.now()).keyboard
    await deps.notifier.sender.set_keyboard(tap.chat_id, tap.message_id, own)


async def back(tap: Tap, deps: TelegramDeps) -> None:
    """Back from the field choice to the card's own buttons (or its outcome, if decided)."""
    view = await _check(tap, "edit", deps)
    if view is None:
        return
    await tap.answer.give()
    await _restore_buttons(tap, view, deps)


async def show_more(tap: Tap, deps: TelegramDeps) -> None:
    """Show more: send the whole preview, in as many messages as it takes."""
    view = await _check(tap, None, deps)
    if view is None:
        return
    await tap.answer.give()
    for page in cards.full_preview(view):
        await deps.notifier.sender.send(tap.chat_id, page, reply_to=tap.message_id)


async def open_card(tap: Tap, deps: TelegramDeps) -> None:
    """An entry of /pending, a batch or a digest tapped: post that approval's card."""
    view = await _check(tap, None, deps)
    if view is None:
        return
    await tap.answer.give()
    await deps.notifier.send(tap.chat_id, Response((ApprovalCard(view),)), asked=True)


async def approve_low(tap: Tap, deps: TelegramDeps) -> None:
    """A digest's "Approve all low-risk": answer, then approve each through the core."""
    await tap.answer.give("Just a moment\u2026")  # the core says below who may, and what it did
    inbound = Inbound(tap.user, text=f"/approvelow {tap.press.target}")
    response = await deps.core.handle(inbound)
    await deps.notifier.send(tap.chat_id, response, reply_to=tap.message_id)


async def retry(tap: Tap, deps: TelegramDeps) -> None:
    """Retry: check through the core, answer, do what /retry does, show it on the message."""
    run_id = tap.press.target
    checked = await deps.core.check_retry(Inbound(tap.user), run_id)
    if checked.refused:  # not an operator, or nothing to retry (a second tap, sent already)
        alert = refusal_alert(checked, now=deps.notifier.now())
        if not await tap.answer.give(alert, alert=True):
            await deps.notifier.sender.send(tap.chat_id, escape(alert), reply_to=tap.message_id)
        return
    # Answered before sending: talking to the mail server can take longer than a tap should.
    await tap.answer.give("Sending it again\u2026")
    response = await deps.core.handle(Inbound(tap.user, text=f"/retry {run_id}"))
    if response.refused:  # sent or retried elsewhere meanwhile: say so, leave the message
        await deps.notifier.send(tap.chat_id, response, reply_to=tap.message_id)
        return
    if notices.is_notice(tap.text):  # the notice itself: it shows what the retry did, button gone
        shown = notices.retried(response, tap.user.display)
        await deps.notifier.sender.edit(tap.chat_id, tap.message_id, shown, None)
    else:  # a digest's Retry: the digest stays as it was, the outcome comes below it
        await deps.notifier.send(tap.chat_id, response, reply_to=tap.message_id)


ACTIONS: dict[Kind, Action] = {
    "approve": approve,
    "reject": ask_reason,
    "edit": choose_field,
    "field": ask_value,
    "back": back,
    "more": show_more,
    "open": open_card,
    "low": approve_low,
    "retry": retry,
}


def register(application: Application, deps: TelegramDeps) -> None:
    """Route every inline-button press to :func:`on_press`."""
    application.add_handler(CallbackQueryHandler(functools.partial(on_press, deps=deps)))
