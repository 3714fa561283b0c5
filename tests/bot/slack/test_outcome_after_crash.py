"""A Slack card killed between its two edits (the decision, then the run's outcome).

As the Telegram test: SIGKILL once a click's card shows (and records) "Approved by", before
the run's outcome; the next start's dispatcher shows the outcome once; then nothing more.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import threading
from pathlib import Path

import aiohttp
import pytest

from bot.core.delivery import Dispatcher
from bot.slack.blocks import APPROVE
from tests.bot.slack.harness import (
    ONBOARD_ARGS,
    SECRET,
    MakeSettings,
    approval_of,
    blocks_text,
    card_text,
    open_slack,
    slack_settings,
    ts_of,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    CHANNEL_ID,
    FORM_CONTENT_TYPE,
    USER_ID,
    block_actions_body,
    sign,
    slash_command_body,
)
from tests.fakes.smtp import SmtpSink
from tests.fixtures.serve_child import shown_state

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def post(port: int, body: str) -> int:
    headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(SECRET, body)}
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):  # until the child listens
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    return resp.status
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("the child never listened")


async def test_killed_between_the_decision_and_the_outcome_the_card_gets_the_outcome(
    make_settings: MakeSettings, fake: FakeSlack, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    port = free_port()
    extra = {"SLACK_CHANNEL": CHANNEL_ID, "DESKHAND_HTTP_PORT": str(port)}
    settings = slack_settings(make_settings, fake, sqlite_url, **extra)
    values = {
        "DESKHAND_HOME": str(settings.home),
        "DATABASE_URL": sqlite_url,
        "DESKHAND_SMTP_URL": smtp_sink.url,
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_ALLOWED_USERS": USER_ID,
        "SLACK_API_URL": fake.api_url,
        "DESKHAND_HTTP_HOST": "127.0.0.1",
        **extra,
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fixtures.serve_child",
        *(f"{k}={v}" for k, v in values.items()),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    release = threading.Event()
    smtp_sink.on_message = lambda _: release.wait(20)  # the run cannot finish before the kill
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        kwargs = {"user_id": USER_ID, "response_url": fake.response_url}
        assert await post(port, slash_command_body(text=f"run {ONBOARD_ARGS}", **kwargs)) == 200
        (card,) = await fake.wait_for("chat.postMessage", timeout=10, predicate=_is_card)
        approval_id, ts = approval_of(card), ts_of(fake, card)
        click = block_actions_body(action_id=APPROVE, value=approval_id, message_ts=ts, **kwargs)
        assert await post(port, click) == 200
        (decided,) = await fake.wait_for("chat.update", timeout=10)
        assert "Approved by" in blocks_text(decided)
        assert await shown_state(sqlite_url) == "approved"
        child.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        release.set()
        smtp_sink.on_message = None
    assert "completed" not in card_text(fake, ts)

    for restart in range(2):
        async with open_slack(settings, fake) as slack:  # recovery finishes the run first
            dispatcher = Dispatcher(
                sessions=slack.runtime.sessions,
                manager=slack.runtime.manager,
                notifiers=[slack.channel.notifier],
            )
            assert await dispatcher.tick() == (1 if restart == 0 else 0)
            assert await dispatcher.tick() == 0
        assert len(fake.calls_to("chat.update")) == 2
    assert "Approved by" in card_text(fake, ts) and "completed" in card_text(fake, ts)
    assert await shown_state(sqlite_url) == "approved+run"


def _is_card(call: object) -> bool:
    try:
        approval_of(call)  # type: ignore[arg-type]
    except AssertionError:
        return False
    return True
