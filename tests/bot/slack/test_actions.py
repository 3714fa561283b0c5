"""Card buttons over HTTP: Approve shows the decision on the card at once, then the run's
outcome, and sends one email, whatever the clicks: double, concurrent, by someone not
allowed, forged, or after a restart."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.core.delivery import Dispatcher
from bot.core.messages import Inbound, User
from memory.models import Approval, Event
from tests.bot.slack.harness import (
    OPERATOR,
    SENT,
    STRANGER,
    MakeSettings,
    SlackHarness,
    blocks_text,
    card_text,
    email_held,
    has_buttons,
    open_slack,
    slack_settings,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import SmtpSink

APPROVE = "deskhand.approve"


async def status_of(harness: SlackHarness, approval_id: str) -> str:
    async with harness.runtime.sessions() as session:
        return str(await session.scalar(select(Approval.status).where(Approval.id == approval_id)))


async def refusals(harness: SlackHarness) -> int:
    async with harness.runtime.sessions() as session:
        stmt = select(func.count()).select_from(Event).where(Event.kind == "approval.refused")
        return int(await session.scalar(stmt) or 0)


async def private_answers(harness: SlackHarness, count: int = 1) -> list[str]:
    calls = await harness.fake.wait_for("respond", count)
    return [str(c.params.get("text", "")) for c in calls]


def buttons_in(blocks: list[dict]) -> bool:
    return any(b.get("type") == "actions" for b in blocks)


async def test_approve_updates_the_card_in_place_and_sends_one_email(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    answer = await slack.click(APPROVE, approval_id, ts)
    assert (answer.status, answer.body) == (200, "")
    decision, outcome = await slack.updates_of(ts, 2)
    # First, as soon as the decision commits: who decided, no buttons, no outcome yet.
    assert decision.params["channel"] == outcome.params["channel"] == "C0OPS"
    assert "Approved by user-u0user at " in blocks_text(decision)  # the name users.info gives
    assert not buttons_in(decision.params["blocks"])
    assert SENT not in blocks_text(decision)
    # Then, once the run has been resumed, what it did.
    assert outcome == await slack.outcome_of(ts)
    shown = card_text(slack.fake, ts)
    assert "Approved by user-u0user at " in shown and SENT in shown
    assert not has_buttons(slack.fake, ts)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1
    assert await status_of(slack, approval_id) == "approved"
    # The card already shows the decision: the dispatcher has nothing left to refresh.
    dispatcher = Dispatcher(
        sessions=slack.runtime.sessions,
        manager=slack.runtime.manager,
        notifiers=[slack.channel.notifier],
    )
    assert await dispatcher.tick() == 0
    assert len(slack.fake.calls_to("chat.update")) == 2


async def test_the_decision_is_shown_before_the_email_is_sent(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    with email_held(smtp_sink) as release:
        await slack.click(APPROVE, approval_id, ts)
        (decision,) = await slack.updates_of(ts)
        assert "Approved by" in blocks_text(decision)
        # A second click while the email is on its way is told at once, not after it.
        await slack.click(APPROVE, approval_id, ts)
        texts = await private_answers(slack, 2)
        assert "was already approved by" in texts[-1]
        assert SENT not in card_text(slack.fake, ts)
        assert len(slack.fake.calls_to("chat.update")) == 1
        release.set()
        await slack.outcome_of(ts)
    assert len(smtp_sink.messages) == 1
    assert len(slack.fake.calls_to("chat.update")) == 2


async def test_a_second_click_is_told_and_changes_nothing(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(APPROVE, approval_id, ts)
    await slack.outcome_of(ts)
    answer = await slack.click(APPROVE, approval_id, ts)
    assert answer.status == 200
    texts = await private_answers(slack, 2)  # "Started ..." and the explanation
    assert "was already approved by" in texts[-1]
    # The explanation comes last: an edit of the card by this click would be in by now.
    assert len(slack.fake.calls_to("chat.update")) == 2
    assert len(smtp_sink.messages) == 1
    assert await refusals(slack) == 1


async def test_concurrent_clicks_decide_once(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await slack.new_card()
    answers = await asyncio.gather(*(slack.click(APPROVE, approval_id, ts) for _ in range(6)))
    assert {a.status for a in answers} == {200}
    texts = await private_answers(slack, 1 + 5)
    assert sum("was already approved by" in t for t in texts) == 5
    await slack.outcome_of(ts)
    decision, outcome = slack.fake.calls_to("chat.update")  # the winner's two edits only
    assert "Approved by" in blocks_text(decision) and SENT in blocks_text(outcome)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1
    assert await refusals(slack) == 5


async def test_someone_not_allowed_is_told_and_nothing_changes(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    for action in (APPROVE, "deskhand.reject", "deskhand.edit", "deskhand.open"):
        await slack.click(action, approval_id, ts, user_id=STRANGER)
    texts = await private_answers(slack, 1 + 4)
    assert all("not allowed" in t and STRANGER in t for t in texts[1:])
    await asyncio.sleep(0.2)
    assert slack.fake.calls_to("chat.update") == [] and slack.fake.calls_to("views.open") == []
    assert has_buttons(slack.fake, ts)
    assert await status_of(slack, approval_id) == "pending"
    assert smtp_sink.messages == []
    assert await refusals(slack) == 4


async def test_forged_values_are_refused(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await slack.new_card()
    for value in (approval_id.lower(), f"{approval_id};approve all", "", "ZZZZZ"):
        await slack.click(APPROVE, value, ts)
    texts = await private_answers(slack, 1 + 4)
    assert sum("not one of my approval cards" in t for t in texts) == 3
    assert "There is no approval ZZZZZ" in texts[-1]
    assert slack.fake.calls_to("chat.update") == []
    assert await status_of(slack, approval_id) == "pending"


async def test_a_card_from_before_a_restart_still_works_once(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    settings = slack_settings(make_settings, fake, sqlite_url)
    async with open_slack(settings, fake) as before:
        approval_id, ts = await before.new_card()
    async with open_slack(settings, fake) as after:  # a new process on the same database
        await after.click(APPROVE, approval_id, ts)
        await after.outcome_of(ts)
        assert "Approved by" in card_text(fake, ts)
        assert smtp_sink.wait_for(1)
        await after.click(APPROVE, approval_id, ts)
        texts = await private_answers(after, 2)
        assert "was already approved" in texts[-1]
    async with open_slack(settings, fake) as again:  # and once more, after another restart
        await again.click(APPROVE, approval_id, ts)
        texts = await private_answers(again, 3)
        assert "was already approved" in texts[-1]
    assert len(smtp_sink.messages) == 1
    assert len(fake.calls_to("chat.update")) == 2  # the decision, then the outcome


async def test_another_operator_after_the_decision_is_told(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    settings = slack_settings(
        make_settings, fake, sqlite_url, SLACK_ALLOWED_USERS=f"{OPERATOR},U0SECOND"
    )
    async with open_slack(settings, fake) as slack:
        approval_id, ts = await slack.new_card()
        await slack.click(APPROVE, approval_id, ts)
        await slack.outcome_of(ts)
        await slack.click(APPROVE, approval_id, ts, user_id="U0SECOND")
        texts = await private_answers(slack, 2)
        assert "was already approved by" in texts[-1]
    assert len(smtp_sink.messages) == 1


async def test_a_rate_limited_update_is_retried(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await slack.new_card()
    slack.fake.fail_next("chat.update", retry_after=0)
    await slack.click(APPROVE, approval_id, ts)
    await slack.outcome_of(ts)
    updates = slack.fake.calls_to("chat.update")
    assert [u.error for u in updates] == ["ratelimited", None, None]  # retried, then the outcome
    assert "Approved by" in blocks_text(updates[1])
    assert not has_buttons(slack.fake, ts)


async def test_a_stale_card_is_brought_up_to_date_by_a_click(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    # Decided in the terminal: no dispatcher runs here, so the card still shows buttons.
    await slack.runtime.core.handle(
        Inbound(User("cli", "ana", "Ana"), text=f"/approve {approval_id}")
    )
    assert has_buttons(slack.fake, ts)
    await slack.click(APPROVE, approval_id, ts)
    await slack.updates_of(ts)
    assert "Approved by Ana" in card_text(slack.fake, ts)
    texts = await private_answers(slack, 2)
    assert "was already approved by Ana" in texts[-1]
    assert len(smtp_sink.messages) == 1


async def test_with_the_dispatcher_running_only_the_click_edits_the_card(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    dispatcher = Dispatcher(
        sessions=slack.runtime.sessions,
        manager=slack.runtime.manager,
        notifiers=[slack.channel.notifier],
    )
    slack.runtime.core.on_change(dispatcher.poke)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        approval_id, ts = await slack.new_card()
        await asyncio.gather(*(slack.click(APPROVE, approval_id, ts) for _ in range(3)))
        await slack.outcome_of(ts)
        # Nothing to wait for: a wrong refresh would come from the dispatcher's next passes,
        # which the decision and the resume both poked (at least 0.25 s apart).
        await asyncio.sleep(0.6)
        assert await dispatcher.tick() == 0
    finally:
        stop.set()
        await task
    decision, outcome = slack.fake.calls_to("chat.update")  # the click's own, nothing more
    assert "Approved by" in blocks_text(decision) and SENT not in blocks_text(decision)
    assert "Approved by" in blocks_text(outcome) and SENT in blocks_text(outcome)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1


async def test_a_card_the_decision_could_not_edit_gets_the_outcome(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    slack.fake.fail_next("chat.update", "internal_error", status=200, retry_after=None)
    await slack.click(APPROVE, approval_id, ts)
    await slack.outcome_of(ts)
    assert [u.error for u in slack.fake.calls_to("chat.update")] == ["internal_error", None]
    assert "Approved by" in card_text(slack.fake, ts) and not has_buttons(slack.fake, ts)
    # The outcome's edit recorded the card: nothing is left for the dispatcher to redo.
    dispatcher = Dispatcher(
        sessions=slack.runtime.sessions,
        manager=slack.runtime.manager,
        notifiers=[slack.channel.notifier],
    )
    assert await dispatcher.tick() == 0
    assert len(smtp_sink.messages) == 1
