"""Digests and batches in Slack: rendered within limits, posted by the attention service,
and "Approve all low-risk" from a digest's button."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.core.views import BatchView, DigestView, DoubtItem, RunView, ScheduledItem
from bot.slack.digests import APPROVE_LOW
from bot.slack.replies import message
from tests.bot.slack.harness import STRANGER, SlackHarness
from tests.bot.slack.limits import problems
from tests.bot.slack.test_blocks import approval

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
RUN = RunView("r3fk9q2xm", "onboarding", "failed", "failed", "SMTP said no", "x", NOW, NOW)
UPDATE = "run update_contact email=bo@example.com company=Acme"


def digest(**changes: object) -> DigestView:
    waiting = tuple(approval(id=f"A{i:04d}", risk=("low", "high")[i % 2]) for i in range(25))
    values: dict[str, object] = {
        "key": "digest:2026-11-21",
        "period_start": NOW - timedelta(days=1),
        "period_end": NOW,
        "failed": (RUN,) * 25,
        "failed_total": 40,
        "in_doubt": (DoubtItem("r1", "a@b.co", "<Hi>"),),
        "in_doubt_total": 1,
        "waiting": waiting,
        "waiting_total": 300,
        "completed": (RUN,) * 25,
        "completed_total": 90,
        "scheduled": (ScheduledItem(NOW, "next digest"),),
        **changes,
    }
    return DigestView(**values)  # type: ignore[arg-type]


def test_a_full_digest_fits_one_message() -> None:
    msg = message([digest()], now=NOW)
    assert problems({"text": msg.text, "blocks": msg.blocks}) == []
    shown = json.dumps(msg.blocks)
    assert "and 15 more" in shown and "and 275 more" in shown
    assert "&lt;Hi&gt;" in shown and "/deskhand resolve r1 sent|resend" in shown
    (low,) = [e for b in msg.blocks if b["type"] == "actions" for e in b["elements"]]
    assert (low["action_id"], low["value"]) == (APPROVE_LOW, "digest:2026-11-21")
    assert low["text"]["text"] == "Approve all 13 low-risk" and "confirm" in low


def test_a_quiet_digest_and_a_key_that_cannot_be_a_button() -> None:
    empty = digest(
        failed=(),
        failed_total=0,
        in_doubt=(),
        in_doubt_total=0,
        waiting=(),
        waiting_total=0,
        completed=(),
        completed_total=0,
    )
    assert "a quiet day" in json.dumps(message([empty], now=NOW).blocks)
    odd = message([digest(key="weird key with spaces")], now=NOW)
    assert APPROVE_LOW not in json.dumps(odd.blocks)


def test_batches_list_requests_with_review_buttons() -> None:
    view = BatchView(key="batch:1", new=(approval(),), reminders=(approval(id="B0000"),))
    msg = message([view], now=NOW)
    assert problems({"text": msg.text, "blocks": msg.blocks}) == []
    assert [b["accessory"]["value"] for b in msg.blocks if "accessory" in b] == ["K7M2Q", "B0000"]


async def test_digest_on_demand_and_approve_all_low_risk(slack: SlackHarness) -> None:
    await slack.command("run onboarding name=Bo email=bo@example.com")
    await slack.fake.wait_for("chat.postMessage")
    await slack.command(UPDATE)  # low risk
    await slack.fake.wait_for("chat.postMessage", 2)
    await slack.command("digest")
    (answer,) = await slack.fake.wait_for(
        "respond", predicate=lambda c: "Digest" in json.dumps(c.params)
    )
    blocks = answer.params["blocks"]
    (low,) = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert low["text"]["text"] == "Approve all 1 low-risk"

    await slack.click(APPROVE_LOW, low["value"], "1.2", user_id=STRANGER)
    refused = await slack.fake.wait_for("respond", 4)
    assert "not allowed" in refused[-1].params["text"]
    await slack.click(APPROVE_LOW, "bad key!", "1.2")
    forged = await slack.fake.wait_for("respond", 5)
    assert "not one of my approval cards" in forged[-1].params["text"]

    await slack.click(APPROVE_LOW, low["value"], "1.2")
    done = await slack.fake.wait_for("respond", 6)
    assert "Approved 1 low-risk request(s)" in done[-1].params["text"]
    pending = await slack.runtime.manager.pending()
    assert [p.workflow for p in pending] == ["onboarding"]  # the high-risk one still waits


async def test_the_attention_service_posts_digests_to_slack(slack: SlackHarness) -> None:
    await slack.command(UPDATE)
    await slack.fake.wait_for("chat.postMessage")
    slack.runtime.attention.add_notifier(slack.channel.notifier)  # type: ignore[arg-type]
    view = await slack.runtime.attention.digest(datetime.now(UTC), key="digest:t", record=True)
    assert view is not None
    (posted, *_) = await slack.fake.wait_for(
        "chat.postMessage", predicate=lambda c: "Digest" in json.dumps(c.params)
    )
    assert str(posted.params["channel"]).startswith("D")  # the first operator's DM
    assert problems({"text": posted.params["text"], "blocks": posted.params["blocks"]}) == []
