"""How Telegram updates run side by side: taps in parallel, one chat's messages in order.

Twenty operators tapping twenty cards must not queue behind one slow resume, so updates are
processed concurrently; but "/run ..." followed by "/pending" from one chat must be answered
in the order sent, and two taps on one approval are taken one after the other (the second
then sees the first's decision and gets a clear "Already approved" alert).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Hashable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class KeyedLocks:
    """One asyncio lock per key (an approval, a chat), forgotten once nobody uses it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the lock for ``key``; waiters get it in arrival order."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:  # the local name keeps the lock alive while anyone holds it
            yield


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Processes updates concurrently, except messages from one chat, kept in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers, after earlier messages of the same chat."""
        if isinstance(update, Update) and update.message is not None:
            async with self._chats.hold(update.message.chat_id):
                await coroutine
        else:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
