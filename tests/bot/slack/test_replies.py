"""The core's other replies in Block Kit: readable, escaped, within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.help import COMMANDS
from bot.core.messages import (
    ApprovalList,
    EventView,
    Help,
    RunDetails,
    RunList,
    RunStarted,
    RunView,
    Text,
)
from bot.slack.blocks import OPEN
from bot.slack.replies import message, slack_commands
from tests.bot.slack.limits import problems
from tests.bot.slack.test_blocks import approval

NOW = datetime(2026, 11, 21, 14, 2, tzinfo=UTC)
RUN = RunView("r3fk9q2xm", "onboarding", "waiting", None, None, "slack:U0USER", NOW, NOW)


def test_core_commands_are_written_as_slash_deskhand() -> None:
    text = "Usage: /approve <id>, e.g. /approve K7M2Q. /pending lists ids; see https://x.io/run."
    assert slack_commands(text) == (
        "Usage: /deskhand approve <id>, e.g. /deskhand approve K7M2Q. /deskhand pending "
        "lists ids; see https://x.io/run."
    )


def test_text_is_escaped_and_marked_by_tone() -> None:
    msg = message([Text("Approval <X> & co failed", "error")])
    assert msg.blocks[0]["text"]["text"] == ":x: Approval &lt;X&gt; &amp; co failed"
    assert msg.text == "Approval <X> & co failed"


def test_pending_list_offers_review_buttons() -> None:
    items = tuple(approval(id=f"A{i:04d}") for i in range(3))
    msg = message([ApprovalList(items)], now=NOW)
    accessories = [b["accessory"] for b in msg.blocks if "accessory" in b]
    assert [(a["action_id"], a["value"]) for a in accessories] == [(OPEN, v.id) for v in items]
    assert problems({"text": msg.text, "blocks": msg.blocks}) == []


def test_a_huge_pending_list_is_cut_to_fifty_blocks() -> None:
    items = tuple(approval(id=f"A{i:04d}") for i in range(80))
    msg = message([ApprovalList(items)], now=NOW)
    assert problems({"text": msg.text, "blocks": msg.blocks}) == []
    assert "more not shown" in str(msg.blocks[-1])


def test_every_reply_kind_renders_within_limits() -> None:
    events = tuple(EventView(NOW, "slack:U0USER", "x", "y" * 200) for _ in range(200))
    replies = [
        Help(commands=COMMANDS, workflows=(("onboarding", "/run onboarding name=…", "Welcome"),)),
        RunStarted(RUN),
        RunList(tuple(RUN for _ in range(20))),
        RunDetails(run=RUN, approvals=(approval(),), events=events, sent=("email to a",)),
        ApprovalList(()),
        RunList(()),
    ]
    for reply in replies:
        msg = message([reply], now=NOW)
        assert problems({"text": msg.text, "blocks": msg.blocks}) == [], reply
    help_text = str(message([replies[0]]).blocks)
    assert "`/deskhand run &lt;workflow&gt; key=value ...`" in help_text
    assert "/deskhand run onboarding name=…" in help_text
