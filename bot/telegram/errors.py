"""The Telegram front-end's one error handler, and what polling problems are logged as.

A handler that fails is logged with its traceback and a short reference id; the user sees
only "something went wrong (ref ...)", never the exception text. Bot API URLs hold the bot
token: exceptions are logged through the secret-redacting handler set up in
:mod:`bot.logs`, which also keeps HTTP clients' per-request log lines quiet.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.telegram.chunks import alert

log = logging.getLogger(__name__)

SORRY = (
    "Something went wrong on my side (ref {ref}). Nothing you sent was lost; "
    "the details are in the log."
)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a failed update with its traceback and a reference id; tell the user briefly."""
    ref = secrets.token_hex(4)
    log.error("telegram update failed", exc_info=context.error, extra=_where(update, ref))
    if not isinstance(update, Update):
        return
    text = SORRY.format(ref=ref)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(alert(text), show_alert=True)
            return
        except TelegramError:
            pass  # already answered before the failure: say it in the chat instead
    if update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except TelegramError:
            log.warning("could not tell the user about an error", extra={"ref": ref})


def _where(update: object, ref: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"ref": ref}
    if isinstance(update, Update):
        fields["update_id"] = update.update_id
        if update.effective_user is not None:
            fields["user_id"] = update.effective_user.id
        if update.effective_chat is not None:
            fields["chat_id"] = update.effective_chat.id
    return fields


def polling_failed(error: TelegramError) -> None:
    """Log a failed getUpdates in one line; the updater retries with a growing delay."""
    log.warning("telegram polling failed; retrying", extra={"error": type(error).__name__})


def register(application: Application) -> None:
    """Install :func:`on_error` as the application's error handler."""
    application.add_error_handler(on_error)
