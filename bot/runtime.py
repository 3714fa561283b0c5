"""Start-up wiring: build engine, checkpointer, adapters, run manager and core once.

Everything is built here from :class:`~bot.settings.Settings` and passed down; nothing
connects at import time.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.drafting import Drafter, TemplateDrafter
from adapters.email import EmailSender
from adapters.outbox import OutboxTransport
from adapters.smtp import SmtpConfig, SmtpTransport
from adapters.transport import RetryPolicy, Transport
from bot.attention.schedules import Schedules
from bot.attention.service import Attention
from bot.core.attention_commands import AttentionCommands
from bot.core.commands import Core
from bot.core.operators import Operators
from bot.core.reads import Reads
from bot.settings import Settings
from graph.checkpointer import open_checkpointer
from graph.deps import WorkflowDeps
from graph.locks import RunLocks
from graph.runs import RunManager
from graph.spec import WorkflowSpec
from graph.workflows import available
from memory.db import Sessions, create_engine, create_sessions, is_sqlite, libpq_url
from memory.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """The running application's parts, shared by every channel."""

    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    manager: RunManager
    core: Core
    email: EmailSender
    attention: Attention
    schedules: Schedules


def build_transport(settings: Settings) -> Transport:
    """SMTP when ``DESKHAND_SMTP_URL`` is set, otherwise the local outbox folder."""
    if settings.smtp_url is not None:
        return SmtpTransport(SmtpConfig.from_url(settings.smtp_url.get_secret_value()))
    return OutboxTransport(settings.home / "outbox")


def build_drafter(settings: Settings) -> Drafter:
    """Template drafting, or an OpenAI-compatible model when one is configured."""
    template = TemplateDrafter(sender_name=settings.operator_name)
    if not settings.llm_configured:
        return template
    from adapters.llm import OpenAIDrafter

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAIDrafter.connect(
        api_key=key,
        base_url=settings.openai_base_url,
        model=settings.llm_model,
        fallback=template,
        sender_name=settings.operator_name,
    )


def _lock_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".locks")


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    transport: Transport | None = None,
    migrate: bool = True,
    recover: bool = True,
    workflows: Mapping[str, WorkflowSpec] | None = None,
) -> AsyncIterator[Runtime]:
    """Open everything Deskhand needs; close it all on exit.

    Args:
        settings: the loaded settings.
        transport: the email transport to use instead of the configured one (tests).
        migrate: apply database migrations first.
        recover: finish what a previous process left half-done.
        workflows: extra workflows beside the built-in ones (benchmarks, plug-ins).

    Yields:
        The runtime.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.sqlalchemy_url
    engine = create_engine(url)
    locks = RunLocks(
        pg_conninfo=None if is_sqlite(url) else libpq_url(url),
        lock_file=_lock_file(url) if is_sqlite(url) else None,
    )
    try:
        if migrate:
            await upgrade(engine)
        sessions = create_sessions(engine)
        async with open_checkpointer(url) as checkpointer:
            email = EmailSender(
                sessions=sessions,
                transport=transport or build_transport(settings),
                sender=settings.smtp_from,
                retry=RetryPolicy(window=timedelta(hours=settings.send_retry_hours)),
            )
            deps = WorkflowDeps(
                sessions=sessions,
                email=email,
                drafter=build_drafter(settings),
                zone=ZoneInfo(settings.timezone),
            )
            manager = RunManager(
                deps=deps,
                checkpointer=checkpointer,
                workflows={**available(), **(workflows or {})},
                locks=locks,
            )
            if recover:
                recovered = await manager.recover()
                if recovered:
                    log.info("recovered runs", extra={"count": len(recovered)})
            instance = f"{socket.gethostname()}:{os.getpid()}"
            schedules = Schedules(
                manager=manager,
                sessions=sessions,
                zone=ZoneInfo(settings.timezone),
                instance=instance,
            )
            attention = Attention(
                manager=manager,
                sessions=sessions,
                policy=settings.attention_policy(),
                notifiers=[],
                instance=instance,
                schedules=schedules,
            )
            core = Core(
                manager=manager,
                operators=Operators.of(
                    telegram=settings.telegram_allowed_users,
                    slack=settings.slack_allowed_users,
                ),
                max_chars=settings.max_input_chars,
                reads=Reads(sessions=sessions),
                attention=AttentionCommands(
                    manager=manager, sessions=sessions, attention=attention, schedules=schedules
                ),
            )
            try:
                yield Runtime(
                    settings, engine, sessions, manager, core, email, attention, schedules
                )
            finally:
                await manager.drain()
    finally:
        await locks.aclose()
        await engine.dispose()
