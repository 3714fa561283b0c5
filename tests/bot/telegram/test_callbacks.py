"""Taps on approval cards: approve, and every way a tap is refused without changing a thing."""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest
from sqlalchemy.engine import make_url

from bot.runtime import Runtime
from tests.bot.telegram.conftest import (
    ANA,
    BO,
    EVE,
    GROUP,
    MakeTelegramSettings,
    Running,
    data_of,
    emails,
    running,
    start_onboarding,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.fixtures.runtime import OPERATOR, say

pytestmark = pytest.mark.timeout(30)


def alerts(fake: FakeTelegram) -> list[str]:
    """The texts of answers shown as alerts, in order."""
    return [c.params["text"] for c in fake.calls_to("answerCallbackQuery") if _is_alert(c)]


def _is_alert(call: Call) -> bool:
    return bool(call.params.get("show_alert"))


async def event_kinds(runtime: Runtime, approval_id: str) -> list[str]:
    """The audit-log event kinds about one approval, oldest first."""
    approval = await runtime.manager.get_approval(approval_id)
    detail = await runtime.manager.detail(approval.run_id)
    return [e.kind for e in detail.events if e.kind.startswith("approval.")]


def approval_id_of(card: dict) -> str:
    return data_of(card, "Approve").removeprefix("a:")


async def test_approve_answers_edits_the_card_and_sends_one_email(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))

    (answer,) = await fake.wait_for("answerCallbackQuery")
    decided, outcome = await fake.wait_for("editMessageText", 2)
    assert await emails(smtp_sink, 1)

    assert "text" not in answer.params and answer.at <= decided.at  # answered before the edit
    # The card shows the decision as soon as it commits, then the run's outcome.
    assert "\u2705 <b>Approved by Ana at " in decided.params["text"]
    assert "Run r" not in decided.params["text"]
    assert "completed: Sent to bo@example.com" in outcome.params["text"]
    shown = fake.message(ANA, card["message_id"])
    assert "\u2705 <b>Approved by Ana at " in shown["text"]
    assert "Run r" in shown["text"] and "completed: Sent to bo@example.com" in shown["text"]
    assert "reply_markup" not in shown  # the keyboard is gone
    (email,) = smtp_sink.messages
    assert email["To"] == "bo@example.com" and "Acme & Co" in email["Subject"]
    assert fake.calls_to("sendMessage")[-1].params["text"] != shown["text"]  # no extra card


async def test_a_double_tap_decides_once_and_says_so(bot: Running, smtp_sink: SmtpSink) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))

    await fake.wait_for("answerCallbackQuery", count=2)
    await fake.wait_for("editMessageText")
    assert await emails(smtp_sink, 1)

    (alert,) = alerts(fake)
    assert alert.startswith("Already approved by Ana at ")
    kinds = await event_kinds(bot.runtime, approval_id_of(card))
    assert kinds.count("approval.decided") == 1 and kinds.count("approval.refused") == 1
    assert len(smtp_sink.messages) == 1


async def test_two_operators_tapping_at_once_make_one_decision(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake, chat=GROUP)
    approve = data_of(card, "Approve")
    fake.tap(ANA, card["message_id"], approve, chat_id=GROUP)
    fake.tap(BO, card["message_id"], approve, chat_id=GROUP, first_name="Bo")

    await fake.wait_for("answerCallbackQuery", count=2)
    await fake.wait_for("editMessageText")
    assert await emails(smtp_sink, 1)

    (alert,) = alerts(fake)  # Bo's; Ana's tap was answered without one
    assert alert.startswith("Already approved by Ana at ")
    assert "Approved by Ana" in fake.message(GROUP, card["message_id"])["text"]
    kinds = await event_kinds(bot.runtime, approval_id_of(card))
    assert kinds.count("approval.decided") == 1 and kinds.count("approval.refused") == 1
    assert len(smtp_sink.messages) == 1


async def test_someone_not_allowed_is_refused_and_it_is_logged(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake, chat=GROUP)
    before = dict(fake.message(GROUP, card["message_id"]))
    fake.tap(EVE, card["message_id"], data_of(card, "Approve"), chat_id=GROUP, first_name="Eve")

    await fake.wait_for("answerCallbackQuery")
    (alert,) = alerts(fake)
    assert alert.startswith("Sorry, you are not allowed to approve this. Your id is 999")
    assert fake.message(GROUP, card["message_id"]) == before and not fake.calls_to(
        "editMessageText"
    )
    approval = await bot.runtime.manager.get_approval(approval_id_of(card))
    assert approval.status == "pending"
    assert await event_kinds(bot.runtime, approval.id) == ["approval.requested", "approval.refused"]
    assert smtp_sink.messages == []


@pytest.mark.parametrize("data", ["a:ZZZZZ", "approve:1", "a:K7M2Q;DROP", "ef:", "", "x" * 64])
async def test_forged_callback_data_is_refused_politely(
    bot: Running, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    other = await start_onboarding(fake)  # a real, pending approval -- but not on this card
    fake.tap(ANA, card["message_id"], data_of(other, "Approve"))
    with caplog.at_level(logging.WARNING, logger="bot.telegram.callbacks"):
        fake.tap(ANA, card["message_id"], data)
        await fake.wait_for("answerCallbackQuery", count=2)

    assert (
        alerts(fake)
        == ["That button is not one I can act on. Send /pending to see what is waiting."] * 2
    )
    assert "not ours" in caplog.text
    assert not fake.calls_to("editMessageText")
    for shown in (card, other):
        assert (await bot.runtime.manager.get_approval(approval_id_of(shown))).status == "pending"


async def test_a_card_decided_elsewhere_says_so_and_catches_up(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake, chat=GROUP)
    await say(bot.runtime, f"/approve {approval_id_of(card)}", OPERATOR)  # from the CLI, say
    fake.tap(BO, card["message_id"], data_of(card, "Reject"), chat_id=GROUP, first_name="Bo")

    await fake.wait_for("editMessageText")
    (alert,) = alerts(fake)
    assert alert.startswith("Already approved by Ana at ")
    shown = fake.message(GROUP, card["message_id"])
    assert "Approved by Ana" in shown["text"] and "reply_markup" not in shown
    assert len(fake.calls_to("sendMessage")) == 2  # "Started" and the card: no reason asked
    kinds = await event_kinds(bot.runtime, approval_id_of(card))
    assert kinds[-1] == "approval.refused"
    assert len(smtp_sink.messages) == 1


async def test_a_tap_after_a_restart_still_works(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink
) -> None:
    settings = tg_settings()
    async with running(settings, fake):
        card = await start_onboarding(fake)
    async with running(settings, fake):  # a new process: new Application, same database
        fake.tap(ANA, card["message_id"], data_of(card, "Approve"))
        await fake.wait_for("editMessageText")
        assert await emails(smtp_sink, 1)
    assert "Approved by Ana" in fake.message(ANA, card["message_id"])["text"]
    assert len([c for c in fake.calls_to("sendMessage") if "Started" in c.params["text"]]) == 1


async def test_a_slow_check_is_answered_at_once_and_refused_by_message(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake, chat=GROUP)
    path = make_url(bot.runtime.settings.sqlalchemy_url).database
    assert path
    busy = sqlite3.connect(path)
    busy.execute("BEGIN IMMEDIATE")  # someone else is writing: logging the refusal must wait
    try:
        fake.tap(EVE, card["message_id"], data_of(card, "Approve"), chat_id=GROUP)
        (answer,) = await fake.wait_for("answerCallbackQuery")
    finally:
        busy.rollback()
        busy.close()
    told = (await fake.wait_for("sendMessage", count=3))[-1]
    assert "text" not in answer.params  # the spinner stopped without waiting for the check
    assert told.params["text"].startswith("Sorry, you are not allowed to approve this.")
    assert told.params["reply_parameters"]["message_id"] == card["message_id"]


async def test_a_second_tap_while_the_email_is_slow_is_told_at_once(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    smtp_sink.on_message = lambda message: time.sleep(1.5)  # a slow mail server
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))

    first, second = await fake.wait_for("answerCallbackQuery", count=2)
    # The decision commits before the email goes: the second tap is not left spinning
    # behind the mail server, it is told who decided.
    assert second.at - first.at < 1.4 and "text" not in first.params
    assert second.params["text"].startswith("Already approved by Ana at ")
    assert second.params["show_alert"] is True
    assert await emails(smtp_sink, 1) and len(smtp_sink.messages) == 1
    outcome = await fake.wait_for(
        "editMessageText", predicate=lambda call: "completed: Sent to" in call.params["text"]
    )
    assert len(outcome) == 1
