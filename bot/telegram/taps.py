"""One button press being handled: where it came from, what it asks, and its one answer.

Telegram clients show a spinner until a press is answered, a press can be answered only
once, and an answer that comes too late is dropped. Handlers answer as soon as they know
whether to show an alert; should they take longer than :data:`ANSWER_WITHIN` (a decision
on the same approval still running, a busy database), :class:`Answer` stops the spinner
itself, and a refusal is then told in the chat instead of in an alert.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import CallbackQuery, MaybeInaccessibleMessage, Message
from telegram.error import TelegramError

from bot.core.messages import User
from bot.telegram.callback_data import Press
from bot.telegram.deps import user_of

log = logging.getLogger(__name__)

ANSWER_WITHIN = 1.0  # seconds


class Answer:
    """The answer to one press: given by its handler, or plainly by a timer if that is slow."""

    def __init__(self, query: CallbackQuery) -> None:
        self._query = query
        self._sent: asyncio.Future[bool] | None = None
        self._timer = asyncio.get_running_loop().call_later(ANSWER_WITHIN, self._in_time)

    def _in_time(self) -> None:
        if self._sent is None:
            self._sent = asyncio.ensure_future(self._query.answer())

    async def give(self, text: str | None = None, *, alert: bool = False) -> bool:
        """Answer now with ``text``; False, sending nothing, when the timer answered first."""
        self._timer.cancel()
        if self._sent is not None:
            await self._sent
            return False
        # Awaited right here, not in a task of its own: the request then leaves in this
        # pass of the event loop rather than the next, which in a burst of taps is a pass
        # behind every other ready callback.
        answered = self._sent = asyncio.get_running_loop().create_future()
        try:
            await self._query.answer(text, show_alert=alert or None)
        finally:
            answered.set_result(True)
        return True

    async def close(self) -> None:
        """Stop the timer; an answer it sent and nobody awaited is waited for here."""
        self._timer.cancel()
        if self._sent is not None and not self._sent.cancelled():
            try:
                await self._sent
            except TelegramError:
                log.warning("could not answer a button press", exc_info=True)


@dataclass(frozen=True)
class Tap:
    """A press being handled."""

    query: CallbackQuery
    message: MaybeInaccessibleMessage  # the message with the button; its content may be gone
    press: Press
    answer: Answer

    @property
    def user(self) -> User:
        """Who pressed, as the core knows users."""
        return user_of(self.query.from_user)

    @property
    def chat_id(self) -> int:
        """The chat of the message with the button."""
        return self.message.chat.id

    @property
    def message_id(self) -> int:
        """The message with the button."""
        return self.message.message_id

    def on_this_card(self) -> bool:
        """True when the pressed data is on the message's keyboard, or the card is its own.

        A client can send any data with a press; this keeps a press on one card from acting
        on another approval. The card text is checked too: after a decision the keyboard is
        gone, and a late second tap must still be told who decided. Telegram leaves out the
        content of messages it deems inaccessible; those presses rely on the core's checks.
        """
        if not isinstance(self.message, Message):
            return True
        markup = self.message.reply_markup
        rows = markup.inline_keyboard if markup else ()
        offered = {button.callback_data for row in rows for button in row}
        if self.press.kind == "retry":  # a notice whose button is gone after its Retry
            return self.query.data in offered or self.names_run(self.press.target)
        return self.query.data in offered or self.shows(self.press.target)

    @property
    def text(self) -> str:
        """The message's text as the user sees it (empty when Telegram left it out)."""
        return (self.message.text if isinstance(self.message, Message) else None) or ""

    def names_run(self, run_id: str) -> bool:
        """True when the message is about that run (a retry notice names it)."""
        return f"run {run_id}" in self.text.lower()

    def shows(self, approval_id: str) -> bool:
        """True when the message is the card of that approval (its footer names it)."""
        text = self.message.text if isinstance(self.message, Message) else None
        return f"Approval {approval_id} \u00b7 run " in (text or "")
