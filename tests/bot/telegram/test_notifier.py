"""The dispatcher through Telegram: cards posted to TELEGRAM_CHAT_ID, stale cards refreshed."""

from __future__ import annotations

import pytest

from bot.core.delivery import Dispatcher, MessageRef
from bot.core.messages import ApprovalView, ButtonAction, Inbound
from bot.telegram.notifier import TelegramNotifier
from tests.bot.telegram.conftest import (
    ANA,
    GROUP,
    MakeTelegramSettings,
    Running,
    buttons,
    data_of,
    running,
    start_onboarding,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.telegram_api import FakeTelegram
from tests.fixtures.runtime import ONBOARD, OPERATOR, card_of, say

pytestmark = pytest.mark.timeout(30)


async def test_dispatcher_posts_to_the_chat_and_refreshes_after_a_cli_decision(
    tg_settings: MakeTelegramSettings, fake: FakeTelegram, smtp_sink: SmtpSink
) -> None:
    async with running(tg_settings(TELEGRAM_CHAT_ID=str(GROUP)), fake) as bot:
        dispatcher = Dispatcher(
            sessions=bot.runtime.sessions,
            manager=bot.runtime.manager,
            notifiers=[bot.channel.notifier],
        )
        view = card_of(await say(bot.runtime, ONBOARD, OPERATOR)).approval
        assert await dispatcher.tick() == 1
        (card,) = fake.sent_messages(GROUP)
        assert f"Approval {view.id} \u00b7 run {view.run_id}" in card["text"]
        assert len(buttons(card)) == 3

        await say(bot.runtime, f"/approve {view.id}", OPERATOR)
        assert await dispatcher.tick() == 1
        assert await dispatcher.tick() == 0
    shown = fake.message(GROUP, card["message_id"])
    assert "Approved by Ana at " in shown["text"] and "reply_markup" not in shown
    assert len(fake.calls_to("editMessageText")) == 1


async def test_default_destination_is_the_first_operator(bot: Running) -> None:
    dispatcher = Dispatcher(
        sessions=bot.runtime.sessions, manager=bot.runtime.manager, notifiers=[bot.channel.notifier]
    )
    await say(bot.runtime, ONBOARD, OPERATOR)
    assert await dispatcher.tick() == 1
    assert [m["chat"]["id"] for m in bot.fake.sent_messages(ANA)] == [ANA]


async def test_a_card_shown_as_a_reply_is_not_posted_again(bot: Running) -> None:
    dispatcher = Dispatcher(
        sessions=bot.runtime.sessions, manager=bot.runtime.manager, notifiers=[bot.channel.notifier]
    )
    bot.runtime.core.on_change(dispatcher.poke)
    await start_onboarding(bot.fake)
    assert await dispatcher.tick() == 0
    assert len(bot.fake.sent_messages(ANA)) == 2  # "Started ..." and the one card


async def test_refresh_shown_brings_every_card_of_an_approval_up_to_date(bot: Running) -> None:
    fake = bot.fake
    card = await start_onboarding(fake)
    approval_id = data_of(card, "Approve")[2:]
    action = ButtonAction("reject", approval_id, reason="later")
    assert not (await bot.runtime.core.handle(Inbound(OPERATOR, action=action))).refused
    notifier = bot.channel.notifier
    assert isinstance(notifier, TelegramNotifier)

    await notifier.refresh_shown(await _view(bot, approval_id))
    await notifier.refresh_shown(await _view(bot, approval_id))  # already current: no edit
    shown = fake.message(ANA, card["message_id"])
    assert "Rejected by Ana" in shown["text"] and "Reason: later" in shown["text"]
    assert len(fake.calls_to("editMessageText")) == 1


async def _view(bot: Running, approval_id: str) -> ApprovalView:
    return ApprovalView.of(await bot.runtime.manager.get_approval(approval_id))


async def test_refreshing_an_unchanged_or_deleted_card_is_fine(bot: Running) -> None:
    card = await start_onboarding(bot.fake)
    view = await _view(bot, data_of(card, "Approve")[2:])
    ref = MessageRef("telegram", str(ANA), str(card["message_id"]))
    await bot.channel.notifier.refresh_approval(view, ref)  # "message is not modified"
    await bot.channel.notifier.refresh_approval(view, MessageRef("telegram", str(ANA), "999"))
    assert len(bot.fake.calls_to("editMessageText")) == 2
