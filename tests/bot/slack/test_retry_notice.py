"""An email given up on after the retry window: one "Not sent ... [Retry]" message in Slack.

The bot is down when the retry gives up; the notice still comes, once, after restarts.
Time is injected through the attention tick, as in tests/graph/test_send_retry.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.core.delivery import Dispatcher
from bot.core.views import DigestView
from bot.runtime import Runtime, open_runtime
from bot.slack.digests import digest_blocks
from bot.slack.notices import RETRY
from memory import effects
from tests.bot.slack.harness import (
    OPERATOR,
    STRANGER,
    MakeSettings,
    SlackHarness,
    card_text,
    has_buttons,
    open_slack,
    response_texts,
    slack_settings,
)
from tests.fakes.slack_api import Call, FakeSlack
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, card_of, say

pytestmark = pytest.mark.timeout(40)

NOTICE_BLOCK = "deskhand.retry_notice"


def notices(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if "Not sent" in str(c.params)]


def dispatcher(slack: SlackHarness) -> Dispatcher:
    rt = slack.runtime
    return Dispatcher(sessions=rt.sessions, manager=rt.manager, notifiers=[slack.channel.notifier])


async def give_up(rt: Runtime) -> str:
    """Approve an onboarding whose email cannot go out, and let the window pass."""
    card = card_of(await say(rt, ONBOARD)).approval
    await say(rt, f"/approve {card.id}")
    async with rt.sessions() as session:
        (row,) = await effects.for_run(session, run_id=card.run_id)
    assert row.retry_until is not None
    await rt.attention.tick(row.retry_until)
    return card.run_id


async def test_a_given_up_email_is_offered_once_and_retried_with_one_click(
    make_settings: MakeSettings, fake: FakeSlack, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    settings = slack_settings(
        make_settings, fake, sqlite_url, SLACK_CHANNEL="C0OPS", DESKHAND_SEND_RETRY_HOURS="1"
    )
    smtp_sink.go_down()
    async with open_runtime(settings) as rt:  # no Slack channel running: the bot is down
        run_id = await give_up(rt)

    for restart in range(2):
        async with open_slack(settings, fake) as slack:
            assert await dispatcher(slack).tick() == (1 if restart == 0 else 0)
            assert await dispatcher(slack).tick() == 0
    (posted,) = notices(fake)
    assert "bo@example.com" in posted.params["text"] and run_id in posted.params["text"]

    smtp_sink.come_back()
    async with open_slack(settings, fake) as slack:
        (posted,) = notices(fake)
        ts = next(
            t for (c, t), m in fake.messages.items() if m.get("text") == posted.params["text"]
        )
        channel = next(c for (c, t) in fake.messages if t == ts)
        assert has_buttons(fake, ts, channel)
        click = {"block_id": NOTICE_BLOCK, "channel_id": channel}

        answer = await slack.click(RETRY, run_id, ts, user_id=STRANGER, **click)
        assert answer.status == 200
        await slack.click(RETRY, "rZZ not a run", ts, **click)
        await fake.wait_for("respond", 2)
        texts = response_texts(fake)
        assert any("not allowed" in t for t in texts)  # the stranger, told privately
        assert any("not one of my" in t for t in texts)  # the malformed value
        assert smtp_sink.messages == [] and fake.calls_to("chat.update") == []

        await slack.click(RETRY, run_id, ts, **click)
        (updated,) = await fake.wait_for("chat.update")
        assert await asyncio.to_thread(smtp_sink.wait_for, 1)
        assert "Sent to bo@example.com" in card_text(fake, ts, channel)
        assert not has_buttons(fake, ts, channel)
        run = (await slack.runtime.manager.detail(run_id)).run
        assert (run.status, run.outcome) == ("completed", "sent")

        await slack.click(RETRY, run_id, ts, user_id=OPERATOR, **click)  # a second click
        await fake.wait_for("respond", 3)
        assert "nothing to retry" in response_texts(fake)[-1]
        assert len(fake.calls_to("chat.update")) == 1
        assert await dispatcher(slack).tick() == 0
    assert len(smtp_sink.messages) == 1
    assert len(notices(fake)) == 1


async def test_the_digest_offers_retry_for_a_given_up_email(
    make_settings: MakeSettings, fake: FakeSlack, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url, DESKHAND_SEND_RETRY_HOURS="1")
    smtp_sink.go_down()
    async with open_slack(settings, fake) as slack:
        run_id = await give_up(slack.runtime)
        smtp_sink.come_back()
        digest = (await say(slack.runtime, "/digest")).replies[-1]
        assert isinstance(digest, DigestView)
        blocks = digest_blocks(digest, datetime.now(UTC))
        offered = [e for b in blocks if b.get("type") == "actions" for e in b["elements"]]
        assert [b["value"] for b in offered if b["action_id"] == RETRY] == [run_id]

        await slack.click(RETRY, run_id, "1700000000.000100", block_id="deskhand.digest_retry")
        assert await asyncio.to_thread(smtp_sink.wait_for, 1)
        await fake.wait_for("respond")
        assert "Sent to bo@example.com" in response_texts(fake)[-1]
        assert fake.calls_to("chat.update") == []  # the digest stays as it was
