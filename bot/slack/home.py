"""App Home: pending approvals with their buttons and the latest runs, kept current.

Published when someone opens the tab, and for every operator shortly after anything
changes (a decision, a new card, a refreshed one); bursts of changes are coalesced into
one publish per operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from bot.core.messages import ApprovalView, RunView, User
from bot.core.operators import Operators
from bot.runtime import Runtime
from bot.slack.surfaces import HOME_APPROVALS, home_view, stranger_home
from memory.models import Approval

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 300.0


class HomePublisher:
    """Publishes App Home views; :meth:`poke` asks for a refresh for every operator."""

    def __init__(
        self,
        *,
        runtime: Runtime,
        client: AsyncWebClient,
        operators: Sequence[str],
        debounce: float = 1.0,
    ) -> None:
        self._runtime = runtime
        self._client = client
        self._operators = list(operators)
        self._allowed = Operators.of(slack=operators)
        self._debounce = debounce
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Something changed: republish soon (cheap; safe to call often)."""
        self._poked.set()

    def start(self) -> None:
        """Start the background republisher."""
        self._task = asyncio.create_task(self._loop(), name="slack-home")

    async def stop(self) -> None:
        """Stop the background republisher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def publish(self, user_id: str) -> None:
        """Publish ``user_id``'s App Home as things are now."""
        if not self._allowed.allows(User("slack", user_id)):
            view = stranger_home(user_id, self._allowed.setting_for("slack"))
        else:
            view = await self._operator_view()
        await self._client.views_publish(user_id=user_id, view=view)

    async def _operator_view(self) -> dict[str, Any]:
        manager = self._runtime.manager
        pending = [ApprovalView.of(a) for a in await manager.pending(limit=HOME_APPROVALS)]
        runs = [RunView.of(r) for r in await manager.list_runs(limit=10)]
        more = 0
        if len(pending) == HOME_APPROVALS:  # count the rest without loading them
            async with self._runtime.sessions() as session:
                total = await session.scalar(
                    select(func.count()).select_from(Approval).where(Approval.status == "pending")
                )
            more = max(0, int(total or 0) - HOME_APPROVALS)
        return home_view(pending, runs, more=more, now=datetime.now(UTC))

    async def _loop(self) -> None:
        while True:
            # Changes made elsewhere (the CLI, another replica) poke nobody here: republish
            # now and then anyway.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), REFRESH_EVERY_S)
            await asyncio.sleep(self._debounce)  # let a burst of changes settle first
            self._poked.clear()
            for user_id in self._operators:
                try:
                    await self.publish(user_id)
                except Exception:
                    log.exception("App Home publish failed", extra={"ref": secrets.token_hex(4)})


async def on_home_opened(home: HomePublisher, event: dict[str, Any]) -> None:
    """``app_home_opened``: publish the tab for whoever opened it."""
    if event.get("tab", "home") == "home" and event.get("user"):
        await home.publish(str(event["user"]))


def register(app: AsyncApp, home: HomePublisher) -> None:
    """Wire the App Home handler."""
    app.event("app_home_opened")(partial(on_home_opened, home))
