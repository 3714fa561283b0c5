"""Batches and digests in Telegram: rendered with buttons, and "Approve all low-risk"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.messages import ApprovalView, BatchView, DigestView, RunView
from bot.core.views import ScheduledItem
from bot.telegram.chunks import units
from bot.telegram.digests import batch_blocks, digest_blocks, digest_rows
from bot.telegram.notifier import TelegramNotifier
from tests.bot.telegram.conftest import ANA, Running, buttons, data_of
from tests.fixtures.runtime import OPERATOR, card_of, say

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)


def view(approval_id: str, risk: str, title: str = "Update <contact> & co") -> ApprovalView:
    return ApprovalView(
        id=approval_id,
        run_id="r3fk9q2xm",
        workflow="update_contact",
        title=title,
        summary="Change bo@example.com: name \u2192 Bo.",
        preview={"kind": "record", "contact": "bo@example.com", "name": "Bo"},
        risk=risk,
        actions=("approve", "reject", "edit"),
        status="pending",
        requested_at=NOW - timedelta(hours=2),
        expires_at=None,
        decided_text=None,
        reason=None,
    )


def digest(waiting: tuple[ApprovalView, ...], **extra: object) -> DigestView:
    fields: dict = {
        "key": "digest:2026-11-21",
        "period_start": NOW - timedelta(days=1),
        "period_end": NOW,
        "failed": (),
        "failed_total": 0,
        "in_doubt": (),
        "in_doubt_total": 0,
        "waiting": waiting,
        "waiting_total": len(waiting),
        "completed": (),
        "completed_total": 0,
        "scheduled": (),
    }
    return DigestView(**(fields | extra))


def test_a_digest_lists_what_waits_and_offers_approve_all_low_risk() -> None:
    failed = RunView("r9", "onboarding", "failed", "error", "SMTP <down>", "x", NOW, NOW)
    shown = digest((view("K7M2Q", "low"), view("AB3CD", "high")), failed=(failed,), failed_total=3)
    html = "\n".join(digest_blocks(shown, now=NOW))
    assert "<b>Needs attention</b>" in html and "failed: SMTP &lt;down&gt;" in html
    assert "\u2026 and 2 more" in html
    assert "<code>K7M2Q</code> 2h" in html and "Update &lt;contact&gt; &amp; co" in html
    assert "/approvelow digest:2026-11-21" in html and units(html) < 4096
    rows = [[(b.text, b.callback_data) for b in row] for row in digest_rows(shown)]
    assert rows[0] == [("\u2705 Approve all 1 low-risk", "low:digest:2026-11-21")]
    assert [r[0][1] for r in rows[1:]] == ["o:K7M2Q", "o:AB3CD"]


def test_a_quiet_digest_says_so_and_a_key_too_long_for_a_button_is_typed() -> None:
    assert "a quiet day" in digest_blocks(digest(()), now=NOW)[0]
    long_key = digest((view("K7M2Q", "low"),), key="digest:" + "x" * 70)
    assert [r[0].callback_data for r in digest_rows(long_key)] == ["o:K7M2Q"]


def test_a_batch_lists_new_requests_and_reminders() -> None:
    batch = BatchView("batch:1", new=(view("K7M2Q", "low"),), reminders=(view("AB3CD", "medium"),))
    html = "\n".join(batch_blocks(batch, now=NOW))
    assert "<b>1 request(s)</b> since the last batch" in html and "Still waiting" in html


async def test_digest_in_telegram_and_approve_all_low_risk(bot: Running) -> None:
    fake = bot.fake
    await say(bot.runtime, "/run onboarding name=Bo email=bo@example.com", OPERATOR)
    low = [
        card_of(await say(bot.runtime, f"/run update_contact email=bo@example.com name={n}"))
        for n in ("Bo", "Bob")
    ]
    fake.send_text(ANA, "/digest")
    await fake.wait_for("sendMessage")
    shown = fake.sent_messages(ANA)[-1]
    assert "<b>Waiting for you</b> (3" in shown["text"]
    fake.tap(ANA, shown["message_id"], data_of(shown, "Approve all 2 low-risk"))

    (answer,) = await fake.wait_for("answerCallbackQuery")
    (done,) = (await fake.wait_for("sendMessage", count=2))[1:]
    assert answer.params["text"] == "Just a moment\u2026"
    assert "Approved 2 low-risk request(s)." in done.params["text"]
    for card in low:
        assert (await bot.runtime.manager.get_approval(card.approval.id)).status == "approved"


async def test_a_posted_batch_opens_cards_on_tap(bot: Running) -> None:
    card = card_of(await say(bot.runtime, "/run update_contact email=bo@example.com name=Bo"))
    notifier = bot.channel.notifier
    assert isinstance(notifier, TelegramNotifier)
    await notifier.post_batch(BatchView("batch:x", new=(card.approval,), reminders=()))
    (posted,) = bot.fake.sent_messages(ANA)
    bot.fake.tap(ANA, posted["message_id"], data_of(posted, card.approval.id))
    await bot.fake.wait_for("sendMessage", count=2)
    opened = bot.fake.sent_messages(ANA)[-1]
    assert list(buttons(opened)) == ["\u2705 Approve", "\U0001f6ab Reject", "\u270f\ufe0f Edit"]
    assert "<b>Name:</b> Bo" in opened["text"]


def test_a_digest_shows_times_in_the_operators_zone_relative_when_near() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    sunday = datetime(2026, 12, 6, 1, 41, tzinfo=UTC)  # Sun 02:41 in Berlin
    asked = sunday - timedelta(hours=2)
    near = replace(view("K7M2Q", "low"), requested_at=asked, expires_at=sunday + timedelta(hours=3))
    far = replace(view("AB3CD", "high"), requested_at=asked, expires_at=sunday + timedelta(days=7))
    shown = digest(
        (near, far),
        period_start=datetime(2026, 12, 5, 7, 0, tzinfo=UTC),
        period_end=sunday,
        scheduled=(ScheduledItem(datetime(2026, 12, 7, 7, 0, tzinfo=UTC), "next digest"),),
        zone=berlin,
    )
    lines = digest_blocks(shown, now=sunday)
    assert lines[0] == "\U0001f4cb <b>Digest</b> (since yesterday 08:00)"
    assert any("<code>K7M2Q</code> 2h, expires in 3 h \u00b7" in line for line in lines)
    assert any("<code>AB3CD</code> 2h, expires 13 Dec \u00b7" in line for line in lines)
    assert lines[-1] == "tomorrow 08:00 \u00b7 next digest"
    assert "Sun 02:41" not in "\n".join(lines) and "UTC" not in "\n".join(lines)
