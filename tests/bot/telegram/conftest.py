"""Telegram fixtures: the local Bot API server, settings pointing at it, a running channel.

Each test drives the real python-telegram-bot Application (long polling with a one-second
timeout) through :class:`~tests.fakes.telegram_api.FakeTelegram`, on a real SQLite file and
with emails going to the real SMTP sink.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.telegram.app import TelegramChannel
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.fixtures.runtime import ONBOARD, MakeSettings

ANA, BO, EVE = 111, 222, 999  # two operators, and someone who is not one
GROUP = -1001234567890

MakeTelegramSettings = Callable[..., Settings]


@dataclass
class Running:
    """A started channel with its runtime and the Bot API server it talks to."""

    runtime: Runtime
    channel: TelegramChannel
    fake: FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The local Bot API server, stopped after the test."""
    async with FakeTelegram() as server:
        yield server


def api_url(fake: FakeTelegram) -> str:
    """TELEGRAM_API_URL for the fake (the channel appends /bot itself)."""
    return fake.base_url.removesuffix("/bot")


@pytest.fixture
def tg_settings(
    make_settings: MakeSettings, sqlite_url: str, fake: FakeTelegram
) -> MakeTelegramSettings:
    """Settings for a bot on the fake, Ana and Bo as operators, one SQLite file per test."""

    def make(**extra: Any) -> Settings:
        values = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": api_url(fake),
            "TELEGRAM_ALLOWED_USERS": f"{ANA},{BO}",
            **extra,
        }
        return make_settings(sqlite_url, **values)

    return make


@asynccontextmanager
async def running(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Running]:
    """Open the runtime and start the channel; stop both on exit."""
    async with open_runtime(settings) as runtime:
        channel = TelegramChannel(runtime, poll_timeout=1)
        await channel.start()
        try:
            yield Running(runtime, channel, fake)
        finally:
            await channel.stop()


@pytest.fixture
async def bot(tg_settings: MakeTelegramSettings, fake: FakeTelegram) -> AsyncIterator[Running]:
    """A running channel with default settings."""
    async with running(tg_settings(), fake) as started:
        yield started


def has_keyboard(call: Call) -> bool:
    """A sendMessage that carried an inline keyboard (an approval card)."""
    return bool((call.params.get("reply_markup") or {}).get("inline_keyboard"))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A stored message's inline buttons: label -> callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def data_of(message: dict[str, Any], label: str) -> str:
    """The callback data of the button whose label contains ``label``."""
    found = [data for text, data in buttons(message).items() if label in text]
    assert found, f"no {label!r} button in {buttons(message)}"
    return found[0]


async def start_onboarding(fake: FakeTelegram, user: int = ANA, chat: int | None = None) -> dict:
    """Run the onboarding workflow from the chat; return a copy of the card as first shown."""
    before = len([c for c in fake.calls_to("sendMessage") if has_keyboard(c)])
    fake.send_text(user, ONBOARD, chat_id=chat)
    calls = await fake.wait_for("sendMessage", count=before + 1, predicate=has_keyboard)
    sent = calls[-1]
    chat_id = sent.params["chat_id"]
    cards = [m for m in fake.sent_messages(chat_id) if m["text"] == sent.params["text"]]
    return copy.deepcopy(cards[-1])


async def emails(sink: SmtpSink, count: int) -> bool:
    """Wait, without blocking the event loop the bot runs on, for ``count`` emails."""
    return await asyncio.to_thread(sink.wait_for, count)
