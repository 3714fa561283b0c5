"""Sending and editing single Telegram messages: HTML, no link previews, tolerant edits.

Telegram answers an edit that changes nothing with "message is not modified", and an edit
of a deleted message with "message to edit not found"; neither is worth an error here.
"""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Markup = InlineKeyboardMarkup | ForceReply | None


class Sender:
    """One bot's sending and editing, with Deskhand's defaults."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self, chat_id: int, html: str, *, markup: Markup = None, reply_to: int | None = None
    ) -> Message:
        """Send one HTML message, as a reply when ``reply_to`` names a message."""
        return await self._bot.send_message(
            chat_id,
            html,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_parameters=_reply(reply_to),
            link_preview_options=NO_PREVIEW,
        )

    async def edit(
        self, chat_id: int, message_id: int, html: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit a message's text and keyboard (None removes it); False if it is gone."""
        try:
            await self._bot.edit_message_text(
                html,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            return _tolerated(exc, chat_id, message_id)
        return True

    async def set_keyboard(
        self, chat_id: int, message_id: int, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Swap a message's keyboard only; False if the message is gone."""
        try:
            await self._bot.edit_message_reply_markup(chat_id, message_id, reply_markup=markup)
        except BadRequest as exc:
            return _tolerated(exc, chat_id, message_id)
        return True


def _tolerated(exc: BadRequest, chat_id: int, message_id: int) -> bool:
    """Edits that need no edit are fine; a deleted message is noted; anything else raises."""
    text = exc.message.lower()
    if "message is not modified" in text:
        return True
    if "message to edit not found" in text or "message can't be edited" in text:
        log.info(
            "card can no longer be edited", extra={"chat_id": chat_id, "message_id": message_id}
        )
        return False
    raise exc


def _reply(message_id: int | None) -> ReplyParameters | None:
    # The message replied to may have been deleted meanwhile; send anyway.
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)
