"""Socket Mode: the same flows through websocket envelopes, each one acknowledged."""

from __future__ import annotations

import asyncio
import json

from tests.bot.slack.harness import OPERATOR, SlackHarness, card_text, has_buttons
from tests.fakes.slack_signing import event_callback_payload
from tests.fakes.smtp import SmtpSink


async def test_connects_with_the_app_token(socket_slack: SlackHarness) -> None:
    (opened,) = socket_slack.fake.calls_to("apps.connections.open")
    assert opened.token == socket_slack.fake.app_token
    assert socket_slack.channel.http_port is None  # no HTTP listener in Socket Mode


async def test_slash_command_is_acked_then_answered(socket_slack: SlackHarness) -> None:
    answer = await socket_slack.command("pending")
    assert answer.body is None  # an empty ack: the answer comes separately
    (responded,) = await socket_slack.fake.wait_for("respond")
    assert "Nothing is waiting" in json.dumps(responded.params)


async def test_approve_then_a_second_click(socket_slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await socket_slack.new_card()
    ack = await socket_slack.click("deskhand.approve", approval_id, ts)
    assert ack.status == 200
    (decision, *_) = await socket_slack.updates_of(ts)
    assert "Approved by" in json.dumps(decision.params["blocks"])
    await socket_slack.outcome_of(ts)
    assert not has_buttons(socket_slack.fake, ts)
    assert smtp_sink.wait_for(1)
    await socket_slack.click("deskhand.approve", approval_id, ts)
    calls = await socket_slack.fake.wait_for("respond", 2)
    assert "was already approved" in calls[-1].params["text"]
    assert len(smtp_sink.messages) == 1 and len(socket_slack.fake.calls_to("chat.update")) == 2


async def test_reject_through_the_modal(socket_slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await socket_slack.new_card()
    await socket_slack.click("deskhand.reject", approval_id, ts)
    (opened,) = await socket_slack.fake.wait_for("views.open")
    meta = opened.params["view"]["private_metadata"]
    ack = await socket_slack.submit("deskhand.reject", {"reason": {"value": "too early"}}, meta)
    assert ack.body is None  # closes the modal
    await socket_slack.updates_of(ts)
    assert "Reason: too early" in card_text(socket_slack.fake, ts)
    assert smtp_sink.messages == []


async def test_edit_errors_come_back_in_the_ack(socket_slack: SlackHarness) -> None:
    approval_id, ts = await socket_slack.new_card()
    meta = f"{approval_id}|message|C0OPS|{ts}"
    ack = await socket_slack.submit("deskhand.edit", {"field.to": {"value": "nobody"}}, meta)
    assert ack.body["response_action"] == "errors"
    assert "not an email address" in ack.body["errors"]["field.to"]
    ack = await socket_slack.submit(
        "deskhand.edit", {"field.to": {"value": "cy@example.com"}}, meta
    )
    assert ack.body is None
    await socket_slack.updates_of(ts)
    assert "Edited by" in card_text(socket_slack.fake, ts)


async def test_app_home_opened(socket_slack: SlackHarness) -> None:
    await socket_slack.new_card()
    event = {"type": "app_home_opened", "user": OPERATOR, "channel": "D0HOME", "tab": "home"}
    await socket_slack.event(event)
    (published, *_) = await socket_slack.fake.wait_for("views.publish")
    assert "Waiting for you (1)" in json.dumps(published.params)


async def test_a_redelivered_event_is_acked_and_answered_once(socket_slack: SlackHarness) -> None:
    # Slack redelivers an events_api envelope it got no timely ack for, with the same event_id.
    fake = socket_slack.fake
    dm = {"type": "message", "channel_type": "im", "channel": "D0ALEX", "user": OPERATOR}
    payload = event_callback_payload({**dm, "text": "pending", "ts": "1.1"}, event_id="Ev0AGAIN")
    for _ in range(3):
        ack = await fake.wait_ack(await fake.socket_send("events_api", payload))
        assert ack.get("payload") is None  # acknowledged, every time
    await socket_slack.event({**dm, "text": "hello", "ts": "1.2"})  # a new event is answered
    await fake.wait_for("chat.postMessage", 2)
    await asyncio.sleep(0.3)  # a redelivery answered again would have posted by now
    assert len(fake.calls_to("chat.postMessage")) == 2
