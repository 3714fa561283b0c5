"""The channel's life: start-up, the command menu, commands and text, webhook mode, errors."""

from __future__ import annotations

import logging
import socket

import aiohttp
import pytest

from bot.core.help import COMMANDS
from bot.runtime import open_runtime
from bot.settings import SettingsError
from bot.telegram.app import TelegramChannel
from tests.bot.telegram.conftest import (
    ANA,
    EVE,
    GROUP,
    MakeTelegramSettings,
    Running,
    buttons,
    has_keyboard,
    running,
    start_onboarding,
)
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(30)


async def test_start_greets_and_the_menu_lists_what_help_lists(bot: Running) -> None:
    fake = bot.fake
    fake.send_text(ANA, "/start")
    (reply,) = await fake.wait_for("sendMessage")

    helped = [(usage.split()[0].lstrip("/"), text) for usage, text in COMMANDS]
    menu = fake.commands()
    assert [c["command"] for c in menu] == [name for name, _ in helped]
    assert "approvelow" not in str(menu) and "start" not in [c["command"] for c in menu]
    for (name, text), command in zip(helped, menu, strict=True):
        assert command["description"].lower().startswith(text.lower()), name
    assert next(c for c in menu if c["command"] == "run")["description"] == (
        "Start a workflow (quote values with spaces): /run <workflow> key=value ..."
    )
    text = reply.params["text"]
    assert text.startswith("\U0001f44b Hi Ana! I am Deskhand")
    assert "/run &lt;workflow&gt; key=value" in text  # usage is escaped, not eaten as a tag
    assert reply.params["parse_mode"] == "HTML"


async def test_curly_quotes_from_a_phone_start_a_run(bot: Running) -> None:
    bot.fake.send_text(ANA, "/run onboarding name=\u201cAna Lima\u201d email=a@x.test")
    await bot.fake.wait_for("sendMessage", count=2)
    (run,) = await bot.runtime.manager.list_runs()
    assert run.inputs["name"] == "Ana Lima"
    assert "Started <b>onboarding</b> run" in bot.fake.sent_messages(ANA)[0]["text"]


async def test_help_lists_commands_and_workflows(bot: Running) -> None:
    bot.fake.send_text(ANA, "/help")
    (reply,) = await bot.fake.wait_for("sendMessage")
    text = reply.params["text"]
    assert "Hi Ana" not in text
    for usage, _ in COMMANDS:
        assert usage.split()[0] in text
    assert "<b>onboarding</b>" in text and "<code>/run onboarding name=" in text


async def test_run_answers_and_posts_the_card_with_three_buttons(bot: Running) -> None:
    card = await start_onboarding(bot.fake)
    started = bot.fake.sent_messages(ANA)[0]

    assert "Started <b>onboarding</b> run" in started["text"]
    assert list(buttons(card)) == ["\u2705 Approve", "\U0001f6ab Reject", "\u270f\ufe0f Edit"]
    approval_id = buttons(card)["\u2705 Approve"].removeprefix("a:")
    assert set(buttons(card).values()) == {f"{v}:{approval_id}" for v in "are"}
    assert "Send welcome email" in card["text"] and "Acme &amp; Co" in card["text"]
    assert "<b>To:</b> bo@example.com" in card["text"] and "high risk" in card["text"]


async def test_plain_text_gets_a_hint_and_unknown_commands_a_guess(bot: Running) -> None:
    bot.fake.send_text(ANA, "hello there")
    bot.fake.send_text(ANA, "/pendin")
    hint, guess = await bot.fake.wait_for("sendMessage", count=2)
    assert "send /help" in hint.params["text"]
    assert "Did you mean /pending?" in guess.params["text"]


async def test_messages_from_one_chat_are_answered_in_order(bot: Running) -> None:
    for n in range(5):
        bot.fake.send_text(ANA, f"/show r{n}")
    replies = await bot.fake.wait_for("sendMessage", count=5)
    assert [f"r{n}" in r.params["text"] for n, r in enumerate(replies)] == [True] * 5


async def test_someone_not_allowed_is_told_their_id_and_nothing_runs(bot: Running) -> None:
    bot.fake.send_text(EVE, "/run onboarding name=Eve email=eve@example.com", first_name="Eve")
    (reply,) = await bot.fake.wait_for("sendMessage")
    assert "not allowed" in reply.params["text"] and str(EVE) in reply.params["text"]
    assert "TELEGRAM_ALLOWED_USERS" in reply.params["text"]
    assert await bot.runtime.manager.list_runs() == []


async def test_in_a_group_only_commands_for_this_bot_are_answered(bot: Running) -> None:
    fake = bot.fake
    fake.send_text(ANA, "just chatting", chat_id=GROUP)
    fake.send_text(ANA, "/help@some_other_bot", chat_id=GROUP)
    fake.send_text(ANA, "/help@deskhand_test_bot", chat_id=GROUP)
    (reply,) = await fake.wait_for("sendMessage")
    assert reply.params["chat_id"] == GROUP
    assert reply.params["reply_parameters"]["message_id"] == 3  # quotes the command
    fake.send_text(ANA, "/pending", chat_id=GROUP)
    await fake.wait_for("sendMessage", count=2)
    assert len(fake.calls_to("sendMessage")) == 2


async def test_a_429_is_waited_out_and_retried(bot: Running) -> None:
    bot.fake.fail_next("sendMessage", retry_after=1)
    bot.fake.send_text(ANA, "/runs")
    failed, sent = await bot.fake.wait_for("sendMessage", count=2, timeout=5)
    assert sent.at - failed.at >= 1.0
    assert "No runs yet" in bot.fake.sent_messages(ANA)[0]["text"]


async def test_a_refused_token_is_a_settings_error(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram
) -> None:
    settings = tg_settings(TELEGRAM_BOT_TOKEN="123:not-the-token")
    async with open_runtime(settings) as runtime:
        channel = TelegramChannel(runtime, poll_timeout=1)
        with pytest.raises(SettingsError, match="@BotFather"):
            await channel.start()
        await channel.stop()  # stopping again is harmless
    assert fake.calls == []  # the fake refused it before recording anything


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_accepts_the_secret_and_refuses_everything_else(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = tg_settings(
        DESKHAND_TELEGRAM_WEBHOOK_URL=url,
        DESKHAND_TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1",
        DESKHAND_TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        DESKHAND_TELEGRAM_WEBHOOK_PORT=str(port),
    )
    async with running(settings, fake) as bot, aiohttp.ClientSession() as http:
        assert bot.channel.mode == "webhook"
        assert fake.webhook["url"] == url and fake.webhook["secret_token"] == "s3cret-Token_1"
        assert fake.calls_to("getUpdates") == []

        async def post(headers: dict[str, str]) -> int:
            update = fake.send_text(ANA, "/runs", queue=False)
            async with http.post(url, json=update, headers=headers) as response:
                return response.status

        secret = "X-Telegram-Bot-Api-Secret-Token"
        assert await post({secret: "wrong"}) == 403
        assert await post({}) == 403
        assert await post({secret: "s3cret-Token_1"}) == 200
        (reply,) = await fake.wait_for("sendMessage")
    assert "No runs yet" in reply.params["text"]
    assert len(fake.calls_to("sendMessage")) == 1  # the refused updates never reached a handler
    assert not [c for c in fake.calls_to("sendMessage") if has_keyboard(c)]


async def test_a_failing_update_is_logged_with_a_ref_and_the_user_told_briefly(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    fake = bot.fake
    fake.fail_next("sendMessage", 400, description="Bad Request: can't parse entities: <secret>")
    with caplog.at_level(logging.ERROR, logger="bot.telegram.errors"):
        fake.send_text(ANA, "/runs")
        failed, told = await fake.wait_for("sendMessage", count=2)

    (record,) = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    ref = record.__dict__["ref"]
    assert record.exc_info is not None and "Can't parse entities" in caplog.text
    assert told.params["text"] == (
        f"Something went wrong on my side (ref {ref}). Nothing you sent was lost; "
        "the details are in the log."
    )
    assert fake.token not in caplog.text


async def test_a_failure_after_a_tap_was_answered_is_told_in_the_chat(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    fake.fail_next("editMessageText", 400, description="Bad Request: message is weird")
    fake.tap(ANA, card["message_id"], buttons(card)["\u2705 Approve"])
    (answer,) = await fake.wait_for("answerCallbackQuery", count=1)
    told = (await fake.wait_for("sendMessage", count=3))[-1]
    assert "show_alert" not in answer.params  # answered at once, before the failure
    assert told.params["text"].startswith("Something went wrong on my side (ref ")
    assert "weird" not in told.params["text"]
    approval_id = buttons(card)["\u2705 Approve"][2:]
    assert (await bot.runtime.manager.get_approval(approval_id)).status == "approved"
