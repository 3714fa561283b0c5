"""The dispatcher through Slack: cards to SLACK_CHANNEL (or a DM), refreshed when decided
in the terminal, the CLI or another replica."""

from __future__ import annotations

import json

from bot.core.delivery import Dispatcher
from bot.core.messages import Inbound, User
from tests.bot.slack.harness import (
    OPERATOR,
    MakeSettings,
    SlackHarness,
    approval_of,
    open_slack,
    slack_settings,
    ts_of,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD

CLI = User("cli", "ana", "Ana")


def dispatcher_for(harness: SlackHarness) -> Dispatcher:
    return Dispatcher(
        sessions=harness.runtime.sessions,
        manager=harness.runtime.manager,
        notifiers=[harness.channel.notifier],
    )


async def test_cards_go_to_slack_channel_and_are_refreshed_after_a_cli_decision(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_CHANNEL="C0APPROVALS")
    async with open_slack(settings, fake) as slack:
        dispatcher = dispatcher_for(slack)
        await slack.runtime.core.handle(Inbound(CLI, text=ONBOARD))
        assert await dispatcher.tick() == 1
        (posted,) = fake.calls_to("chat.postMessage")
        assert posted.params["channel"] == "C0APPROVALS" and posted.params["text"]
        approval_id, ts = approval_of(posted), ts_of(fake, posted)
        assert await dispatcher.tick() == 0

        await slack.runtime.core.handle(Inbound(CLI, text=f"/approve {approval_id}"))
        assert await dispatcher.tick() == 1
        (update,) = await slack.updates_of(ts)
        assert update.params["channel"] == "C0APPROVALS"
        assert "Approved by Ana" in json.dumps(update.params["blocks"])
        assert "actions" not in [b["type"] for b in update.params["blocks"]]
        assert await dispatcher.tick() == 0
        await fake.wait_for("views.publish", predicate=lambda c: c.params["user_id"] == OPERATOR)


async def test_without_slack_channel_cards_go_to_the_first_operator_by_dm(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    settings = slack_settings(
        make_settings, fake, sqlite_url, SLACK_ALLOWED_USERS=f"{OPERATOR},U0SECOND"
    )
    async with open_slack(settings, fake) as slack:
        await slack.runtime.core.handle(Inbound(CLI, text=ONBOARD))
        await dispatcher_for(slack).tick()
    (opened,) = fake.calls_to("conversations.open")
    assert opened.params["users"] == OPERATOR
    (posted,) = fake.calls_to("chat.postMessage")
    assert str(posted.params["channel"]).startswith("D")


async def test_nowhere_to_post_posts_nothing(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_ALLOWED_USERS="")
    async with open_slack(settings, fake) as slack:
        await slack.runtime.core.handle(Inbound(CLI, text=ONBOARD))
        assert await dispatcher_for(slack).tick() == 0
    assert fake.calls_to("chat.postMessage") == []


async def test_a_deleted_card_is_skipped_quietly(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_CHANNEL="C0APPROVALS")
    async with open_slack(settings, fake) as slack:
        dispatcher = dispatcher_for(slack)
        await slack.runtime.core.handle(Inbound(CLI, text=ONBOARD))
        await dispatcher.tick()
        approval_id = approval_of(fake.calls_to("chat.postMessage")[0])
        fake.messages.clear()  # someone deleted the message in Slack
        await slack.runtime.core.handle(Inbound(CLI, text=f"/reject {approval_id} no"))
        await dispatcher.tick()
        assert [c.error for c in fake.calls_to("chat.update")] == ["message_not_found"]
        assert await dispatcher.tick() == 0
