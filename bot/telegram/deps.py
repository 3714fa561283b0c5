"""What the Telegram handlers share: the core, the notifier and the per-approval locks.

Built once by :class:`~bot.telegram.app.TelegramChannel` and handed to each module's
``register``; handlers receive it as a keyword argument, never through a global.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import telegram

from bot.core.commands import Core
from bot.core.messages import User
from bot.telegram.concurrency import KeyedLocks
from bot.telegram.notifier import CHANNEL, TelegramNotifier


@dataclass(frozen=True)
class TelegramDeps:
    """The handlers' dependencies; ``approvals`` serialises presses on one approval."""

    core: Core
    notifier: TelegramNotifier
    # Runs follow-ups (a run's outcome after the card showed the decision) beside the
    # handlers: the Application's create_task, which stop() waits for.
    spawn: Callable[[Coroutine[Any, Any, None]], object]
    approvals: KeyedLocks = field(default_factory=KeyedLocks)


def user_of(user: telegram.User) -> User:
    """The channel-neutral user for a Telegram user: ``telegram:<id>``, named by first name."""
    return User(CHANNEL, str(user.id), user.first_name or None)
