"""What the Telegram handlers share: the core, the notifier and the per-approval locks.

Built once by :class:`~bot.telegram.app.TelegramChannel` and handed to each module's
``register``; handlers receive it as a keyword argument, never through a global.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import telegram

from bot.core.commands import Core
from bot.core.messages import User
from bot.telegram.concurrency import KeyedLocks
from bot.telegram.notifier import CHANNEL, TelegramNotifier

# Decisions taken, and shown on their cards, at once. A decision is a few statements and
# its card's edit one request (the resume runs later, in the background), but admitting a
# whole burst of taps at once fills every pass of the event loop with their steps, and the
# next taps' updates and answers wait behind them. Measured with 20 taps in flight
# (bench/telegram_taps.py, 2026-11-21, from each tap's queueing): 2 at once, edit p99
# 163 ms; 4, 126 ms (answer p99 32 ms); 8, 195 ms; 20, 159 ms with answer p99 106 ms. With
# the card's edit inside the limit too, answer p99 from the update's delivery went from 31
# to 59 ms (edit outside) to 27 to 28 ms, edit p99 74 to 82 ms.
DECISIONS_AT_ONCE = 4


@dataclass(frozen=True)
class TelegramDeps:
    """The handlers' dependencies; ``approvals`` serialises presses on one approval."""

    core: Core
    notifier: TelegramNotifier
    # Runs follow-ups (a run's outcome after the card showed the decision) beside the
    # handlers: the Application's create_task, which stop() waits for.
    spawn: Callable[[Coroutine[Any, Any, None]], object]
    approvals: KeyedLocks = field(default_factory=KeyedLocks)
    deciding: asyncio.Semaphore = field(  # decisions being taken and shown on their cards
        default_factory=lambda: asyncio.Semaphore(DECISIONS_AT_ONCE)
    )


def user_of(user: telegram.User) -> User:
    """The channel-neutral user for a Telegram user: ``telegram:<id>``, named by first name."""
    return User(CHANNEL, str(user.id), user.first_name or None)
