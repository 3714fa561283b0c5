"""A card killed between its two edits (the decision, then the run's outcome) is finished.

The bot is SIGKILLed once a tap's card shows "Approved by Ana" (and is recorded so) and
before the run's outcome is on it; the next start's recovery finishes the run, and its
dispatcher edits the card to show the outcome, once; a further restart edits nothing.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path

import pytest

from bot.core.delivery import Dispatcher
from tests.bot.telegram.conftest import (
    ANA,
    BO,
    MakeTelegramSettings,
    api_url,
    data_of,
    running,
    start_onboarding,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import FakeTelegram
from tests.fixtures.serve_child import shown_state

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]


async def test_killed_between_the_decision_and_the_outcome_the_card_gets_the_outcome(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    settings = tg_settings()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fixtures.serve_child",
        f"DESKHAND_HOME={settings.home}",
        f"DATABASE_URL={sqlite_url}",
        f"DESKHAND_SMTP_URL={smtp_sink.url}",
        f"TELEGRAM_API_URL={api_url(fake)}",
        f"TELEGRAM_BOT_TOKEN={fake.token}",
        f"TELEGRAM_ALLOWED_USERS={ANA},{BO}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    release = threading.Event()
    # The email is held at the server, so the run cannot finish before the kill.
    smtp_sink.on_message = lambda _: release.wait(20)
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        card = await start_onboarding(fake)
        fake.tap(ANA, card["message_id"], data_of(card, "Approve"))
        (decided,) = await fake.wait_for("editMessageText", timeout=10)
        assert "Approved by Ana" in decided.params["text"]
        assert await shown_state(sqlite_url) == "approved"
        child.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        release.set()
        smtp_sink.on_message = None
    shown = fake.message(ANA, card["message_id"])["text"]
    assert "Approved by Ana" in shown and f"Run {_run_of(shown)}" not in shown

    for restart in range(2):
        async with running(settings, fake) as bot:  # recovery finishes the run first
            dispatcher = Dispatcher(
                sessions=bot.runtime.sessions,
                manager=bot.runtime.manager,
                notifiers=[bot.channel.notifier],
            )
            assert await dispatcher.tick() == (1 if restart == 0 else 0)
            assert await dispatcher.tick() == 0
        assert len(fake.calls_to("editMessageText")) == 2
    shown = fake.message(ANA, card["message_id"])["text"]
    assert "Approved by Ana" in shown and f"Run {_run_of(shown)} completed" in shown
    assert await shown_state(sqlite_url) == "approved+run"


def _run_of(text: str) -> str:
    return text.split(" \u00b7 run ", 1)[1].split(" ", 1)[0]
