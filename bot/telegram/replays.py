"""Webhook mode: each update acts once, however often it is posted.

Telegram posts an update again when the webhook did not answer 200 in time, possibly to
another replica behind the load balancer, and anyone holding the secret token can post
one again. A handler in group -1 (before every other) claims the update's ``update_id``
with :class:`bot.core.once.Once` (job ``telegram:update`` in ``job_claims``); a later
delivery stops there, answered 200 by python-telegram-bot and acted on by nothing.

Polling needs none of this: ``getUpdates``' offset confirms each update once, and a
claim per update would only add a database write to every message and tap. Telegram
keeps an unconfirmed update for 24 hours, so claims are kept for two days.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.core.once import Once
from memory.db import Sessions

log = logging.getLogger(__name__)

JOB_ID = "telegram:update"
KEEP = timedelta(days=2)
GROUP = -1  # before the handlers in the default group 0


async def first_delivery(once: Once, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let an update's first delivery through; stop any later one here."""
    if not await once.first(str(update.update_id)):
        log.info("ignored an update already handled", extra={"update_id": update.update_id})
        raise ApplicationHandlerStop


def register(application: Application, sessions: Sessions) -> None:
    """Install the claim ahead of every other handler."""
    once = Once(sessions, job_id=JOB_ID, keep=KEEP)
    application.add_handler(TypeHandler(Update, partial(first_delivery, once)), group=GROUP)
