"""Start-up and shutdown: refused tokens say what to fix; stop lets clicks in flight finish."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels import build_channels
from bot.runtime import open_runtime
from bot.settings import SettingsError
from bot.slack.app import SlackChannel
from tests.bot.slack.harness import (
    SENT,
    MakeSettings,
    SlackHarness,
    card_text,
    email_held,
    has_buttons,
    slack_settings,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import SmtpSink


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-revoked"}, "SLACK_BOT_TOKEN (invalid_auth)"),
        ({"SLACK_APP_TOKEN": "xapp-revoked"}, "SLACK_APP_TOKEN (invalid_auth)"),
    ],
)
async def test_a_refused_token_stops_start_up_with_what_to_fix(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str, extra: dict, named: str
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, **extra)
    async with open_runtime(settings) as runtime:
        channel = SlackChannel(runtime, port=0)
        with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
            await channel.start()
        assert channel.http_port is None


async def test_http_mode_needs_the_signing_secret(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_SIGNING_SECRET="")
    async with open_runtime(settings) as runtime:
        with pytest.raises(SettingsError, match="SLACK_APP_TOKEN .* or SLACK_SIGNING_SECRET"):
            SlackChannel(runtime)


async def test_deskhand_run_builds_the_slack_channel(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    async with open_runtime(slack_settings(make_settings, fake, sqlite_url)) as runtime:
        (channel,) = build_channels(runtime)
        assert isinstance(channel, SlackChannel) and channel.notifier.channel == "slack"
        assert hasattr(channel.notifier, "post_digest")  # takes part in batches and digests


async def test_stop_lets_a_click_in_flight_finish(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await slack.new_card()
    with email_held(smtp_sink) as release:
        await slack.click("deskhand.approve", approval_id, ts)  # returns with the ack
        await slack.updates_of(ts)  # the decision is shown; the email is held at the server
        stopping = asyncio.create_task(slack.channel.stop())
        done, _ = await asyncio.wait({stopping}, timeout=0.3)
        assert not done  # waiting for the run's outcome, to show it on the card
        release.set()
        await stopping
    # Stopped only after both edits: the decision, then (after the resume) the outcome.
    decision, outcome = slack.fake.calls_to("chat.update")
    assert SENT not in str(decision.params) and SENT in str(outcome.params)
    assert not has_buttons(slack.fake, ts) and SENT in card_text(slack.fake, ts)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1
