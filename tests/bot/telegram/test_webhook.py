"""Webhook mode under forged, malformed and replayed calls: nothing changes, nothing is sent."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select

from memory.models import Approval, Event, Run
from tests.bot.telegram.conftest import ANA, MakeTelegramSettings, Running, has_keyboard, running
from tests.fakes.telegram_api import FakeTelegram
from tests.fixtures.runtime import ONBOARD

pytestmark = pytest.mark.timeout(30)

SECRET = "s3cret-Token_1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def hooked(tg_settings: MakeTelegramSettings, fake: FakeTelegram) -> AsyncIterator[Running]:
    """The channel in webhook mode on a free loopback port."""
    port = _free_port()
    settings = tg_settings(
        DESKHAND_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        DESKHAND_TELEGRAM_WEBHOOK_SECRET=SECRET,
        DESKHAND_TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        DESKHAND_TELEGRAM_WEBHOOK_PORT=str(port),
    )
    async with running(settings, fake) as bot:
        yield bot


async def post(bot: Running, body: str, headers: dict[str, str]) -> int:
    url = bot.runtime.settings.telegram_webhook_url
    assert url is not None
    headers = {"Content-Type": "application/json", **headers}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        await resp.read()
        return resp.status


async def count(bot: Running, model: type) -> int:
    async with bot.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def sent(fake: FakeTelegram) -> list[str]:
    """Bot API calls after start-up (start-up: getMe, setMyCommands, setWebhook...)."""
    startup = {"getMe", "setMyCommands", "setWebhook", "deleteWebhook", "getWebhookInfo"}
    return [c.method for c in fake.calls if c.method not in startup]


async def assert_nothing_happened(bot: Running, caplog: pytest.LogCaptureFixture) -> None:
    await asyncio.sleep(0.3)  # time for anything a handler would have sent
    for model in (Run, Approval, Event):
        assert await count(bot, model) == 0, model.__name__
    assert sent(bot.fake) == []
    assert SECRET not in caplog.text and bot.fake.token not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{}, {HEADER: "wrong"}, {HEADER: SECRET + "x"}, {HEADER: ""}],
    ids=["missing", "wrong", "longer", "blank"],
)
async def test_a_forged_update_gets_403_and_changes_nothing(
    hooked: Running, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.INFO)
    update = hooked.fake.send_text(ANA, ONBOARD, queue=False)
    assert await post(hooked, json.dumps(update), headers) == 403
    await assert_nothing_happened(hooked, caplog)


# With the right secret (Telegram, or whoever holds it), python-telegram-bot 22.8 answers
# 500 for a body that is not JSON (traceback at DEBUG only), and 400 with a CRITICAL log of
# the data for JSON that is not an update; either way nothing is acted on or sent.
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 500),
        ("[1,2]", 400),
        ('"text"', 400),
        ("null", 400),
        ("{}", 400),
        ('{"update_id": "x"}', 200),  # an update with nothing in it: no handler takes it
    ],
)
async def test_a_malformed_body_changes_nothing(
    hooked: Running, caplog: pytest.LogCaptureFixture, body: str, status: int
) -> None:
    caplog.set_level(logging.INFO)
    assert await post(hooked, body, {HEADER: "wrong"}) == 403  # forged: refused unread
    forged = [r for r in caplog.records if r.exc_info]
    assert forged == []  # a forgery leaves no traceback
    assert await post(hooked, body, {HEADER: SECRET}) == status
    await assert_nothing_happened(hooked, caplog)


async def test_a_replayed_update_acts_once(
    hooked: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = hooked.fake
    update = json.dumps(fake.send_text(ANA, ONBOARD, queue=False))
    assert await post(hooked, update, {HEADER: SECRET}) == 200
    await fake.wait_for("sendMessage", predicate=has_keyboard)  # the run's card
    first = len(fake.calls_to("sendMessage"))
    for _ in range(2):  # Telegram's redelivery after a timeout, or someone replaying it
        assert await post(hooked, update, {HEADER: SECRET}) == 200
    other = fake.send_text(ANA, "/runs", queue=False)
    assert await post(hooked, json.dumps(other), {HEADER: SECRET}) == 200
    await fake.wait_for("sendMessage", count=first + 1)
    await asyncio.sleep(0.3)  # a second run would have posted its card by now
    assert await count(hooked, Run) == 1
    assert len(fake.calls_to("sendMessage")) == first + 1
