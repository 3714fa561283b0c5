"""App Home: pending approvals with buttons and the last runs, refreshed when things change."""

from __future__ import annotations

import json

from tests.bot.slack.harness import OPERATOR, STRANGER, SlackHarness
from tests.bot.slack.limits import problems
from tests.fakes.slack_api import Call
from tests.fakes.smtp import SmtpSink


def opened(user: str) -> dict[str, str]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}


async def test_home_shows_pending_approvals_with_buttons_and_runs(slack: SlackHarness) -> None:
    approval_id, _ = await slack.new_card()
    answer = await slack.event(opened(OPERATOR))
    assert answer.status == 200
    calls = await slack.fake.wait_for(
        "views.publish", predicate=lambda c: approval_id in json.dumps(c.params)
    )
    view = calls[0].params["view"]
    assert calls[0].params["user_id"] == OPERATOR
    assert problems(view, surface="home") == []
    assert "Waiting for you (1)" in json.dumps(view)
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [
        "deskhand.approve",
        "deskhand.reject",
        "deskhand.edit",
        "deskhand.open",
    ]
    assert "Recent runs" in json.dumps(view) and "waiting" in json.dumps(view)


async def test_strangers_see_no_approvals(slack: SlackHarness) -> None:
    await slack.new_card()
    await slack.event(opened(STRANGER))
    (call,) = await slack.fake.wait_for(
        "views.publish", predicate=lambda c: c.params["user_id"] == STRANGER
    )
    shown = json.dumps(call.params["view"])
    assert "Welcome" not in shown and "bo@example.com" not in shown
    assert STRANGER in shown and "SLACK_ALLOWED_USERS" in shown


async def test_home_is_republished_after_a_decision(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click("deskhand.approve", approval_id, ts)
    await slack.updates_of(ts)
    calls = await slack.fake.wait_for(
        "views.publish", predicate=lambda c: "Nothing waiting" in json.dumps(c.params)
    )
    assert calls[-1].params["user_id"] == OPERATOR


async def test_a_decision_from_home_republishes_it_at_once(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    home = {"id": "V0HOMEVIEW", "type": "home", "private_metadata": ""}
    await slack.click_in_view("deskhand.approve", approval_id, home)
    (decided, *_) = await slack.fake.wait_for(
        "views.publish", predicate=lambda c: "Nothing waiting" in json.dumps(c.params)
    )
    assert decided.params["user_id"] == OPERATOR
    # Published again once the run has been resumed: the email went, the run completed.
    (finished, *_) = await slack.fake.wait_for("views.publish", predicate=shows_completed)
    assert "Nothing waiting" in json.dumps(finished.params)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1
    # The card in #ops is brought up to date by the dispatcher (or the next click on it).
    assert slack.fake.calls_to("chat.update") == []


def shows_completed(call: Call) -> bool:
    """An App Home whose recent runs show a completed run."""
    return "*completed*" in json.dumps(call.params["view"]["blocks"])
