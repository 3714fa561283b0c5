"""What every Slack handler is given: the runtime, the Web API client, App Home, names.

Built once by :class:`~bot.slack.app.SlackChannel` and passed to each module's
``register``; nothing here is global.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.commands import Core
from bot.core.messages import User
from bot.runtime import Runtime
from graph.tasks import TaskSet
from memory.db import Sessions

if TYPE_CHECKING:
    from bot.slack.home import HomePublisher
    from bot.slack.notifier import SlackNotifier

log = logging.getLogger(__name__)

CHANNEL = "slack"


@dataclass
class SlackContext:
    """Shared by the handlers of one Slack app."""

    runtime: Runtime
    client: AsyncWebClient
    notifier: SlackNotifier
    home: HomePublisher
    names: dict[str, str] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=dict)
    _busy: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: TaskSet = field(default_factory=TaskSet)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the handlers, counted as in flight until it ends.

        Counted from this call, not from when the task first runs: the handler that
        spawns it may finish first, and ``drain`` must not see a moment with nothing busy.
        """
        self._enter()
        self._tasks.spawn(work).add_done_callback(self._spawned_done)

    def _spawned_done(self, task: asyncio.Task[None]) -> None:
        self._leave()
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack background work failed", exc_info=task.exception())

    @asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Count a handler as in flight (Bolt runs them after the ack, detached)."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait for handlers in flight to finish (a decision and its card update)."""
        if self._busy == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("Slack handlers still running at shutdown", extra={"count": self._busy})
            return False
        return True

    @property
    def core(self) -> Core:
        """The channel-neutral core."""
        return self.runtime.core

    @property
    def sessions(self) -> Sessions:
        """The database session factory."""
        return self.runtime.sessions

    async def user(self, user_id: str, fallback: str | None = None) -> User:
        """The core's user for a Slack id, named as Slack shows them (looked up once)."""
        name = self.names.get(user_id)
        if name is None:
            name = await self._lookup_name(user_id) or fallback
            if name:
                self.names[user_id] = name
        return User(CHANNEL, user_id, name)

    async def _lookup_name(self, user_id: str) -> str | None:
        try:
            found = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            # Without users:read the decision still records the id; only the name is lost.
            log.warning(
                "could not look up a Slack user", extra={"error": exc.response.get("error")}
            )
            return None
        user = found.get("user") or {}
        profile = user.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or user.get("name")

    async def dm(self, user_id: str) -> str:
        """The id of the app's DM with ``user_id`` (opened once)."""
        if user_id not in self.dms:
            opened = await self.client.conversations_open(users=user_id)
            self.dms[user_id] = opened["channel"]["id"]
        return self.dms[user_id]
