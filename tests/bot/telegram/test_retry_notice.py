"""An email given up on after the retry window: one "Not sent ... [Retry]" message, one tap.

The bot is down when the retry gives up; the notice still comes, once, after restarts.
Time is injected through the attention tick, as in tests/graph/test_send_retry.py.
"""

from __future__ import annotations

import pytest

from bot.core.delivery import Dispatcher
from bot.runtime import Runtime, open_runtime
from memory import effects
from tests.bot.telegram.conftest import (
    ANA,
    EVE,
    MakeTelegramSettings,
    Running,
    data_of,
    emails,
    running,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.fixtures.runtime import ONBOARD, card_of, say

pytestmark = pytest.mark.timeout(40)


def notices(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.calls_to("sendMessage") if "Not sent" in c.params["text"]]


def dispatcher(bot: Running) -> Dispatcher:
    rt = bot.runtime
    return Dispatcher(sessions=rt.sessions, manager=rt.manager, notifiers=[bot.channel.notifier])


async def give_up(rt: Runtime) -> str:
    """Approve an onboarding whose email cannot go out, and let the window pass."""
    card = card_of(await say(rt, ONBOARD)).approval
    run_id = card.run_id
    await say(rt, f"/approve {card.id}")
    async with rt.sessions() as session:
        (row,) = await effects.for_run(session, run_id=run_id)
    assert row.retry_until is not None
    await rt.attention.tick(row.retry_until)
    assert (await rt.manager.detail(run_id)).run.outcome == "gave_up"
    return run_id


async def test_a_given_up_email_is_offered_once_and_retried_with_one_tap(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink
) -> None:
    settings = tg_settings(DESKHAND_SEND_RETRY_HOURS="1")
    smtp_sink.go_down()
    async with open_runtime(settings) as rt:  # no Telegram channel: the bot is down
        run_id = await give_up(rt)

    for restart in range(2):
        async with running(settings, fake) as bot:
            assert await dispatcher(bot).tick() == (1 if restart == 0 else 0)
            assert await dispatcher(bot).tick() == 0
    (posted,) = notices(fake)
    assert posted.params["chat_id"] == ANA
    notice = fake.sent_messages(ANA)[-1]
    assert "Not sent: the email to bo@example.com" in notice["text"]
    assert f"run {run_id}" in notice["text"] and "gave up after" in notice["text"]
    retry = data_of(notice, "Retry")

    smtp_sink.come_back()
    async with running(settings, fake) as bot:
        mid = notice["message_id"]
        # Someone who is not an operator: refused, nothing sent, the message unchanged.
        fake.tap(EVE, mid, retry, chat_id=ANA, first_name="Eve")
        (refused,) = await fake.wait_for("answerCallbackQuery")
        assert refused.params.get("show_alert") and "not allowed" in refused.params["text"]
        # Malformed or foreign data: refused politely.
        fake.tap(ANA, mid, "rt:not a run")
        fake.tap(ANA, mid, "rt:rzzzzzzzz")
        answers = await fake.wait_for("answerCallbackQuery", 3)
        assert all("not one I can act on" in a.params["text"] for a in answers[1:])
        assert fake.calls_to("editMessageText") == [] and smtp_sink.messages == []

        fake.tap(ANA, mid, retry)
        (edited,) = await fake.wait_for("editMessageText")
        assert await emails(smtp_sink, 1)
        assert "Sent to bo@example.com" in edited.params["text"]
        shown = fake.message(ANA, mid)
        assert "Sent to bo@example.com" in shown["text"] and "reply_markup" not in shown
        run = (await bot.runtime.manager.detail(run_id)).run
        assert (run.status, run.outcome) == ("completed", "sent")

        fake.tap(ANA, mid, retry)  # a second tap (a stale client still shows the button)
        answers = await fake.wait_for("answerCallbackQuery", 5)
        assert answers[-1].params.get("show_alert")
        assert "nothing to retry" in answers[-1].params["text"]
        assert len(fake.calls_to("editMessageText")) == 1
        assert await dispatcher(bot).tick() == 0  # sent: nothing owed any more
    assert len(smtp_sink.messages) == 1
    assert len(notices(fake)) == 1


async def test_the_digest_offers_retry_for_a_given_up_email(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink
) -> None:
    settings = tg_settings(DESKHAND_SEND_RETRY_HOURS="1")
    smtp_sink.go_down()
    async with running(settings, fake) as bot:
        run_id = await give_up(bot.runtime)
        smtp_sink.come_back()
        fake.send_text(ANA, "/digest")
        (digest,) = await fake.wait_for(
            "sendMessage", predicate=lambda c: "Needs attention" in c.params["text"]
        )
        message = fake.sent_messages(ANA)[-1]
        assert run_id in message["text"]
        fake.tap(ANA, message["message_id"], data_of(message, "Retry"))
        assert await emails(smtp_sink, 1)
        await fake.wait_for("sendMessage", predicate=lambda c: "Sent to" in c.params["text"])
        assert fake.message(ANA, message["message_id"])["text"] == message["text"]  # kept
        run = (await bot.runtime.manager.detail(run_id)).run
        assert run.outcome == "sent"
