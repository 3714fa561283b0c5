"""FakeTelegram against the real python-telegram-bot: it must parse every answer we give."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(10)

APPROVE = InlineKeyboardMarkup([[InlineKeyboardButton("Approve", callback_data="approve:7")]])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def build_app(fake: FakeTelegram) -> Application:
    builder = ApplicationBuilder().token(fake.token)
    return builder.base_url(fake.base_url).base_file_url(fake.base_file_url).build()


def plain_bot(fake: FakeTelegram) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


async def test_bot_sends_and_edits_a_card(fake: FakeTelegram) -> None:
    async with build_app(fake) as app:
        me = await app.bot.get_me()
        sent = await app.bot.send_message(
            42, "Approve <b>invoice 7</b>?", parse_mode="HTML", reply_markup=APPROVE
        )
        edited = await app.bot.edit_message_text("Approved", chat_id=42, message_id=sent.message_id)

    assert me.is_bot and me.username == "deskhand_test_bot" and me.can_join_groups
    assert sent.message_id == 1 and sent.reply_markup == APPROVE and sent.chat.type == "private"
    (call,) = fake.calls_to("sendMessage")
    assert call.params["chat_id"] == 42 and call.params["parse_mode"] == "HTML"
    button = call.params["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Approve", "callback_data": "approve:7"}
    # The real API drops the keyboard when an edit leaves out reply_markup; so does the fake.
    assert edited.text == "Approved" and edited.reply_markup is None
    assert fake.message(42, 1)["text"] == "Approved" and "reply_markup" not in fake.message(42, 1)


async def test_edits_fail_like_telegram(fake: FakeTelegram) -> None:
    async with build_app(fake) as app:
        sent = await app.bot.send_message(42, "Pending", reply_markup=APPROVE)
        with pytest.raises(BadRequest, match="not modified"):
            await app.bot.edit_message_text("Pending", 42, sent.message_id, reply_markup=APPROVE)
        with pytest.raises(BadRequest, match="not found"):
            await app.bot.edit_message_reply_markup(42, 99, reply_markup=APPROVE)
        await app.bot.edit_message_reply_markup(42, sent.message_id)  # removes the keyboard
    assert fake.sent_messages(42)[0]["text"] == "Pending"
    assert "reply_markup" not in fake.sent_messages(42)[0]


async def test_polling_app_handles_command_and_tap(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Approve invoice 7?", reply_markup=APPROVE)

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Approved")
        await query.edit_message_text(f"Approved by {query.from_user.first_name} ({query.data})")

    app = build_app(fake)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_tap))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            await fake.wait_for("getUpdates")  # a long poll is waiting now
            began = time.monotonic()
            fake.send_text(7, "/start")
            (reply,) = await fake.wait_for("sendMessage")
            assert time.monotonic() - began < 1  # the waiting poll returned at once
            card = fake.sent_messages(7)[0]
            assert reply.params["text"] == card["text"] == "Approve invoice 7?"

            fake.tap(7, card["message_id"], "approve:7")
            (answer,) = await fake.wait_for("answerCallbackQuery")
            await fake.wait_for("editMessageText")
        finally:
            await app.updater.stop()
            await app.stop()

    assert answer.params["text"] == "Approved"
    assert fake.message(7, card["message_id"])["text"] == "Approved by Ana (approve:7)"
    assert card["message_id"] == 2  # the user's /start was message 1 of that chat


async def test_commands_are_stored(fake: FakeTelegram) -> None:
    async with plain_bot(fake) as bot:
        await bot.set_my_commands([("start", "Begin"), ("approvals", "Pending approvals")])
        commands = await bot.get_my_commands()
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("Approve", "Capitals are refused")])
    assert [c.command for c in commands] == ["start", "approvals"]
    assert fake.commands()[1] == {"command": "approvals", "description": "Pending approvals"}


async def test_injected_429_raises_retry_after_once(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, PTB 22.8 warns (PTBDeprecationWarning) on every RetryAfter it builds.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake.fail_next("sendMessage", retry_after=3)
    async with plain_bot(fake) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(42, "Hello")
        assert caught.value.retry_after == timedelta(seconds=3)
        await bot.send_message(42, "Hello")  # the failure is used up
    assert len(fake.calls_to("sendMessage")) == 2


async def test_get_updates_offset_and_timeout(fake: FakeTelegram) -> None:
    async with plain_bot(fake) as bot:
        assert await bot.get_updates(timeout=0) == ()
        first = fake.send_text(7, "hello")
        second = fake.send_text(7, "again")
        webhook_only = fake.send_text(7, "for a webhook", queue=False)
        updates = await bot.get_updates(offset=second["update_id"], timeout=0)
    assert [u.update_id for u in updates] == [second["update_id"]]
    assert first["update_id"] < second["update_id"] < webhook_only["update_id"]
    assert updates[0].message is not None and updates[0].message.text == "again"
    # When each update was first handed over (benches time from there), never re-stamped.
    assert set(fake.delivered) == {second["update_id"]}


async def test_delivery_is_stamped_once(fake: FakeTelegram) -> None:
    async with plain_bot(fake) as bot:
        update = fake.send_text(7, "hello")
        before = time.monotonic()
        await bot.get_updates(timeout=0)
        first = fake.delivered[update["update_id"]]
        await bot.get_updates(timeout=0)  # no offset: handed over again
    assert before <= first <= time.monotonic()
    assert fake.delivered[update["update_id"]] == first


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    # A plain Bot: when get_me fails inside `async with application`, PTB 22.8's
    # Application.shutdown returns early and leaves the bot's HTTP connection open.
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=fake.base_url, base_file_url=fake.base_file_url):
            pass
    assert fake.calls == []


async def test_json_and_multipart_bodies_are_decoded(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{fake.token}"
    form = aiohttp.FormData({"chat_id": "42", "caption": "123"})
    form.add_field("document", b"report", filename="report.txt", content_type="text/plain")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/sendMessage",
            json={
                "chat_id": 42,
                "text": "[1]",
                "reply_markup": '{"inline_keyboard": []}',
            },
        ) as response:
            assert (await response.json())["result"]["text"] == "[1]"
        async with http.post(f"{url}/sendDocument", data=form) as response:
            assert await response.json() == {"ok": True, "result": True}
    message_call, document_call = fake.calls
    assert message_call.params["reply_markup"] == {"inline_keyboard": []}
    assert document_call.params["chat_id"] == 42 and document_call.params["caption"] == "123"
    assert document_call.params["document"]["content"] == b"report"
