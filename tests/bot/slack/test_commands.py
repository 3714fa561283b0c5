"""Every core command through ``/deskhand``, direct messages and @mentions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from memory.models import Run
from tests.bot.slack.harness import OPERATOR, SlackHarness
from tests.fakes.smtp import SmtpSink


async def last_answer(harness: SlackHarness, count: int) -> str:
    calls = await harness.fake.wait_for("respond", count)
    return json.dumps(calls[-1].params, ensure_ascii=False)


async def run_id(harness: SlackHarness) -> str:
    async with harness.runtime.sessions() as session:
        return str(await session.scalar(select(Run.id)))


async def test_every_subcommand_reaches_the_core(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, _ = await slack.new_card()
    run = await run_id(slack)
    answers = 1
    expectations = [
        ("help", "Commands"),
        ("", "Commands"),
        ("pending", f"`{approval_id}`"),
        ("runs", f"`{run}`"),
        (f"show {run}", "Audit trail"),
        (f"edit {approval_id} subject=Hello", "Edited by"),
    ]
    for text, expected in expectations:
        await slack.command(text)
        answers += 1
        assert expected in await last_answer(slack, answers), text
    posts = await slack.fake.wait_for("chat.postMessage", 2)  # the edited draft's card
    assert "Hello" in json.dumps(posts[1].params)
    (new_id,) = [
        v["value"]
        for b in posts[1].params["blocks"]
        if b["type"] == "actions"
        for v in b["elements"][:1]
    ]
    await slack.command(f"reject {new_id} not now")
    answers += 1
    assert "Reason: not now" in await last_answer(slack, answers)
    await slack.command(f"resolve {run} sent")
    answers += 1
    assert f"Run {run} has nothing in doubt" in await last_answer(slack, answers)
    await slack.command("run onboarding name=Cy email=cy@example.com")
    answers += 1
    await slack.fake.wait_for("chat.postMessage", 3)
    async with slack.runtime.sessions() as session:
        second = await session.scalar(select(Run.id).where(Run.status == "waiting"))
    await slack.command(f"cancel {second}")
    answers += 1
    assert f"Run {second} cancelled" in await last_answer(slack, answers)
    await slack.command("approve")
    answers += 1
    assert "/deskhand approve &lt;id&gt;" in await last_answer(slack, answers)
    await slack.command("aprove K7M2Q")
    answers += 1
    assert "Did you mean /deskhand approve?" in await last_answer(slack, answers)


async def test_a_direct_message_is_answered_in_the_dm(slack: SlackHarness) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "D0ALEX", "user": OPERATOR}
    await slack.event({**event, "text": "pending", "ts": "1.1"})
    (answer,) = await slack.fake.wait_for("chat.postMessage")
    assert answer.params["channel"] == "D0ALEX" and "Nothing is waiting" in json.dumps(
        answer.params
    )
    await slack.event({**event, "text": "hello", "ts": "1.2"})
    calls = await slack.fake.wait_for("chat.postMessage", 2)
    assert "/deskhand help" in json.dumps(calls[1].params)


@pytest.mark.parametrize(
    "event",
    [
        {"subtype": "message_changed"},
        {"bot_id": "B0BOT"},
        {"channel_type": "channel"},
    ],
)
async def test_edits_bots_and_channel_chatter_are_ignored(slack: SlackHarness, event: dict) -> None:
    base = {"type": "message", "channel_type": "im", "channel": "D0ALEX", "user": OPERATOR}
    answer = await slack.event({**base, "text": "pending", "ts": "1.1", **event})
    assert answer.status == 200
    await slack.command("help")  # something that does answer, to wait on
    await slack.fake.wait_for("respond")
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_mention_is_answered_in_a_thread_only_the_sender_sees(slack: SlackHarness) -> None:
    mention = {
        "type": "app_mention",
        "user": OPERATOR,
        "channel": "C0OPS",
        "text": "<@U0BOT> runs",
        "ts": "1700000001.000200",
    }
    await slack.event(mention)
    (answer,) = await slack.fake.wait_for("chat.postEphemeral")
    assert answer.params["user"] == OPERATOR and answer.params["thread_ts"] == mention["ts"]
    assert "No runs yet" in json.dumps(answer.params)


async def test_a_card_goes_to_the_dm_when_the_bot_is_not_in_the_channel(
    slack: SlackHarness,
) -> None:
    slack.fake.fail_next("chat.postMessage", error="not_in_channel", status=200)
    await slack.command("run onboarding name=Bo email=bo@example.com")
    posts = await slack.fake.wait_for("chat.postMessage", 3)
    assert [p.error for p in posts] == ["not_in_channel", None, None]
    assert str(posts[1].params["channel"]).startswith("D")  # the card
    assert "`/invite` me" in json.dumps(posts[2].params)  # and why it is there
