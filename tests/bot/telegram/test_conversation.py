"""Reject with a reason and Edit a field: questions answered by reply, surviving restarts."""

from __future__ import annotations

import html

import pytest

from tests.bot.telegram.conftest import (
    ANA,
    MakeTelegramSettings,
    Running,
    buttons,
    data_of,
    emails,
    has_keyboard,
    running,
    start_onboarding,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(30)


async def ask(fake: FakeTelegram, card: dict, label: str, count: int) -> dict:
    """Tap ``label`` on the card; return the question the bot asks (its ``count``-th message)."""
    fake.tap(ANA, card["message_id"], data_of(card, label))
    calls = await fake.wait_for("sendMessage", count=count)
    return fake.sent_messages(ANA)[-1] | {"params": calls[-1].params}


async def test_reject_asks_for_a_reason_and_records_it(bot: Running, smtp_sink: SmtpSink) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    question = await ask(fake, card, "Reject", count=3)

    assert question["text"].startswith(f"Reason for rejecting {card_id(card)}?\n")
    assert question["params"]["reply_markup"]["force_reply"] is True
    assert question["params"]["reply_markup"]["selective"] is True
    assert question["params"]["reply_parameters"]["message_id"] == card["message_id"]

    fake.reply_to(ANA, "not now <really> & later", question["message_id"])
    await fake.wait_for("editMessageText")
    (notice,) = (await fake.wait_for("sendMessage", count=4))[3:]

    shown = fake.message(ANA, card["message_id"])
    assert "Rejected by Ana at " in shown["text"] and "reply_markup" not in shown
    assert "Reason: not now &lt;really&gt; &amp; later" in shown["text"]
    assert "rejected by Ana" in notice.params["text"]
    approval = await bot.runtime.manager.get_approval(card_id(card))
    assert approval.status == "rejected"
    assert (approval.decision or {}).get("reason") == "not now <really> & later"
    assert smtp_sink.messages == []


async def test_reject_reason_can_be_skipped(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    question = await ask(fake, card, "Reject", count=3)
    fake.reply_to(ANA, "/skip", question["message_id"])
    await fake.wait_for("editMessageText")
    approval = await bot.runtime.manager.get_approval(card_id(card))
    assert approval.status == "rejected" and not (approval.decision or {}).get("reason")


async def test_edit_subject_then_approve_sends_the_edited_email(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Edit"))
    await fake.wait_for("editMessageReplyMarkup")
    fields = fake.message(ANA, card["message_id"])
    assert list(buttons(fields)) == ["To", "Subject", "Body", "\u00ab Back"]

    fake.tap(ANA, card["message_id"], data_of(fields, "Subject"))
    await fake.wait_for("sendMessage", count=3)
    question = fake.sent_messages(ANA)[-1]
    assert question["text"].startswith(f"New subject for {card_id(card)}?\n")
    assert "Welcome aboard, Bo (Acme &amp; Co)" in question["text"]  # the subject now
    assert buttons(fake.message(ANA, card["message_id"])) == buttons(card)  # buttons are back

    fake.reply_to(ANA, "Welcome, Bo & team <3", question["message_id"])
    new_card_call = (await fake.wait_for("sendMessage", count=5, predicate=lambda c: True))[-1]
    assert has_keyboard(new_card_call)
    new_card = fake.sent_messages(ANA)[-1]
    assert "<b>Subject:</b> Welcome, Bo &amp; team &lt;3" in new_card["text"]
    await fake.wait_for("editMessageText")
    old = fake.message(ANA, card["message_id"])
    assert "Edited by Ana at " in old["text"] and "reply_markup" not in old

    fake.tap(ANA, new_card["message_id"], data_of(new_card, "Approve"))
    await fake.wait_for("editMessageText", count=2)
    assert await emails(smtp_sink, 1)
    (email,) = smtp_sink.messages
    assert email["Subject"] == "Welcome, Bo & team <3"


async def test_back_restores_the_buttons_and_skip_keeps_the_draft(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Edit"))
    await fake.wait_for("editMessageReplyMarkup")
    fake.tap(ANA, card["message_id"], data_of(fake.message(ANA, card["message_id"]), "Back"))
    await fake.wait_for("editMessageReplyMarkup", count=2)
    assert buttons(fake.message(ANA, card["message_id"])) == buttons(card)

    fake.tap(ANA, card["message_id"], data_of(card, "Edit"))
    await fake.wait_for("editMessageReplyMarkup", count=3)
    fake.tap(ANA, card["message_id"], data_of(fake.message(ANA, card["message_id"]), "Body"))
    await fake.wait_for("sendMessage", count=3)
    fake.reply_to(ANA, "/skip", fake.sent_messages(ANA)[-1]["message_id"])
    (kept,) = (await fake.wait_for("sendMessage", count=4))[3:]
    assert kept.params["text"] == f"Nothing changed; {card_id(card)} still waits for you."
    assert (await bot.runtime.manager.get_approval(card_id(card))).status == "pending"


async def test_an_answer_after_a_restart_is_understood(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink
) -> None:
    settings = tg_settings()
    async with running(settings, fake):
        card = await start_onboarding(fake)
        question = await ask(fake, card, "Reject", count=3)
    async with running(settings, fake) as bot:
        fake.reply_to(ANA, "changed my mind", question["message_id"])
        await fake.wait_for("editMessageText")
        approval = await bot.runtime.manager.get_approval(card_id(card))
    assert approval.status == "rejected"
    assert (approval.decision or {}).get("reason") == "changed my mind"


async def test_a_reply_to_another_message_is_ordinary_text(bot: Running) -> None:
    fake = bot.fake
    fake.send_text(ANA, "/runs")
    await fake.wait_for("sendMessage")
    fake.reply_to(ANA, "Reason for rejecting ABCDE?", fake.sent_messages(ANA)[0]["message_id"])
    fake.reply_to(ANA, "/pending", fake.sent_messages(ANA)[0]["message_id"])
    hint, pending = (await fake.wait_for("sendMessage", count=3))[1:]
    assert "send /help" in hint.params["text"]
    assert "Nothing is waiting" in pending.params["text"]


def card_id(card: dict) -> str:
    return data_of(card, "Approve").removeprefix("a:")


async def test_a_long_body_gives_a_card_that_fits_and_show_more_sends_it_all(
    bot: Running, smtp_sink: SmtpSink
) -> None:
    fake = bot.fake
    body = "\n".join(f"Line {n}: fish & chips <for> everyone" for n in range(100))  # 4,090
    card = await start_onboarding(fake)
    fake.tap(ANA, card["message_id"], data_of(card, "Edit"))
    await fake.wait_for("editMessageReplyMarkup")
    fake.tap(ANA, card["message_id"], data_of(fake.message(ANA, card["message_id"]), "Body"))
    await fake.wait_for("sendMessage", count=3)
    fake.reply_to(ANA, body, fake.sent_messages(ANA)[-1]["message_id"])
    await fake.wait_for("sendMessage", count=5)
    long_card = fake.sent_messages(ANA)[-1]
    assert (
        len(long_card["text"]) <= 4096
        and "Line 0: fish &amp; chips &lt;for&gt;" in long_card["text"]
    )
    assert "Line 99" not in long_card["text"]

    fake.tap(ANA, long_card["message_id"], data_of(long_card, "Show more"))
    pages = (await fake.wait_for("sendMessage", count=8))[5:]
    text = "\n".join(html.unescape(p.params["text"]) for p in pages[1:])
    assert text == body and all(len(p.params["text"]) <= 4096 for p in pages)

    fake.tap(ANA, long_card["message_id"], data_of(long_card, "Approve"))
    assert await emails(smtp_sink, 1)
    assert smtp_sink.messages[0].get_content().rstrip("\n") == body


async def test_pending_lists_waiting_approvals_with_buttons_that_open_them(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.send_text(ANA, "/pending")
    await fake.wait_for("sendMessage", count=3)
    listing = fake.sent_messages(ANA)[-1]
    assert "<b>1 waiting</b>" in listing["text"]
    fake.tap(ANA, listing["message_id"], data_of(listing, card_id(card)))
    await fake.wait_for("sendMessage", count=4)
    opened = fake.sent_messages(ANA)[-1]
    assert buttons(opened) == buttons(card) and opened["text"] == card["text"]


async def test_edit_offers_the_fields_the_workflow_lets_change(bot: Running) -> None:
    fake = bot.fake
    fake.send_text(ANA, "/run update_contact email=bo@example.com name=Bo")
    await fake.wait_for("sendMessage", count=2)
    card = fake.sent_messages(ANA)[-1]
    fake.tap(ANA, card["message_id"], data_of(card, "Edit"))
    await fake.wait_for("editMessageReplyMarkup")
    fields = buttons(fake.message(ANA, card["message_id"]))
    assert list(fields) == ["Name", "Company", "Need", "\u00ab Back"]  # not "Contact"
