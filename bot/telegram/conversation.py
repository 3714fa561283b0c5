"""Answers to the bot's questions: the reason for a rejection, the new value of a field.

A question is a ForceReply message whose first line names the approval and the field (see
:mod:`bot.telegram.prompts`); the answer is a reply to it. Nothing is kept in memory, so an
answer that arrives after a restart, or at another replica, is understood the same way.
Only replies to this bot's own questions are taken; commands pass through untouched.
"""

from __future__ import annotations

import functools

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.messages import ButtonAction, DecisionNotice, Inbound, Response, Text
from bot.telegram.deps import TelegramDeps, user_of
from bot.telegram.prompts import Question, is_skip, parse_question

KEPT = "Nothing changed; {id} still waits for you."
ANSWERS = -1  # handler group: looked at before commands, so "/skip" is an answer


class AnswersAQuestion(filters.MessageFilter):
    """Text messages replying to a bot message that asked one of our questions."""

    def filter(self, message: Message) -> bool:
        """True when the replied-to message is a bot's and asked a question we understand."""
        asked = message.reply_to_message
        return (
            asked is not None
            and asked.from_user is not None
            and asked.from_user.is_bot
            and parse_question(asked.text) is not None
        )


def question_of(message: Message, bot_id: int) -> Question | None:
    """The question a message answers, if this bot asked it."""
    asked = message.reply_to_message
    if asked is None or asked.from_user is None or asked.from_user.id != bot_id:
        return None
    return parse_question(asked.text)


def action_for(question: Question, text: str) -> ButtonAction | None:
    """The decision an answer stands for; None when the answer changes nothing (skip an edit)."""
    if question.field is None:
        reason = None if is_skip(text) else text.strip() or None
        return ButtonAction("reject", question.approval_id, reason=reason)
    if is_skip(text):
        return None
    return ButtonAction("edit", question.approval_id, changes={question.field: text})


async def on_answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, deps: TelegramDeps
) -> None:
    """Take the answer to a question and decide through the core (reject, or edit)."""
    message, sender = update.message, update.effective_user
    if message is None or sender is None or message.text is None:
        return
    question = question_of(message, context.bot.id)
    if question is None or (message.text.startswith("/") and not is_skip(message.text)):
        return  # another bot's question, or a command: the ordinary handlers take it
    user = user_of(sender)
    action = action_for(question, message.text)
    async with deps.approvals.hold(question.approval_id):
        if action is None:
            checked = await deps.core.check(Inbound(user), question.approval_id)
            kept = Response((Text(KEPT.format(id=question.approval_id)),))
            response = checked if checked.refused else kept
        else:
            response = await deps.core.handle(Inbound(user, action=action))
        await deps.notifier.send(message.chat_id, response, reply_to=message.message_id)
        for reply in response.replies:
            if isinstance(reply, DecisionNotice):  # the card itself now shows the outcome
                await deps.notifier.refresh_shown(reply.approval)
    raise ApplicationHandlerStop  # answered: the ordinary text handlers must not see it


def register(application: Application, deps: TelegramDeps) -> None:
    """Route replies to the bot's questions to :func:`on_answer`, ahead of other handlers."""
    answers = filters.UpdateType.MESSAGE & filters.TEXT & filters.REPLY & AnswersAQuestion()
    handler = MessageHandler(answers, functools.partial(on_answer, deps=deps))
    application.add_handler(handler, group=ANSWERS)
