"""Nothing lost: an email the mail server could not take is retried until it arrives, once.

A real aiosmtpd server on loopback goes down, greets with 421, refuses a recipient or
hangs up after DATA; time is injected through the attention tick (``now``), relative to
what the ledger recorded, never read from the wall clock's hour or date.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from bot.core.messages import DecisionNotice, Text
from bot.render.text import render
from bot.runtime import Runtime, open_runtime
from memory import effects, jobs, retries
from memory.models import Effect
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, MakeSettings, card_of, say

OpenRuntime = Callable[..., AbstractAsyncContextManager[Runtime]]


async def effect_of(rt: Runtime, run_id: str) -> Effect:
    async with rt.sessions() as session:
        (row,) = await effects.for_run(session, run_id=run_id)
    return row


async def approve(rt: Runtime) -> DecisionNotice:
    card = card_of(await say(rt, ONBOARD)).approval
    notice = (await say(rt, f"/approve {card.id}")).replies[0]
    assert isinstance(notice, DecisionNotice)
    return notice


async def test_smtp_down_then_up_the_email_arrives_once_by_itself(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    smtp_sink.go_down()
    notice = await approve(runtime)
    run_id = notice.run.id
    first = await effect_of(runtime, run_id)
    assert first.status == "retrying" and first.next_try_at is not None
    assert notice.run.status == "waiting" and notice.run.outcome == "retrying"
    assert notice.run.detail == (
        f"Not sent yet: mail server unreachable, next try {first.next_try_at:%H:%M} UTC"
    )
    assert timedelta(seconds=1) <= first.next_try_at - first.updated_at <= timedelta(minutes=1)
    again = await say(runtime, f"/approve {notice.approval.id}")
    assert again.refused

    await runtime.attention.tick(first.next_try_at - timedelta(seconds=1))
    assert (await effect_of(runtime, run_id)).attempts == 1  # not due yet
    await runtime.attention.tick(first.next_try_at)  # due, server still down
    second = await effect_of(runtime, run_id)
    assert (second.status, second.attempts) == ("retrying", 2)
    assert second.next_try_at is not None and second.next_try_at > first.next_try_at
    assert second.retry_until == first.retry_until

    smtp_sink.come_back()
    await runtime.attention.tick(second.next_try_at)
    assert len(smtp_sink.messages) == 1
    shown = await runtime.manager.detail(run_id)
    assert (shown.run.status, shown.run.outcome) == ("completed", "sent")
    assert len(shown.messages) == 1  # the sent-messages record, once
    await runtime.attention.tick(second.next_try_at + timedelta(hours=2))
    assert len(smtp_sink.messages) == 1
    assert (await effect_of(runtime, run_id)).attempts == 3


async def test_drop_after_data_is_in_doubt_and_never_resent_by_itself(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    async with runtime_on(sqlite_url) as rt:
        smtp_sink.drop_next()
        notice = await approve(rt)
        assert notice.run.outcome == "in_doubt"
        row = await effect_of(rt, notice.run.id)
        assert row.status == "in_doubt" and row.next_try_at is None
        for hours in (1, 12, 30):
            await rt.attention.tick(row.updated_at + timedelta(hours=hours))
        assert smtp_sink.data_commands == 1 and len(smtp_sink.messages) == 1
        assert (await effect_of(rt, notice.run.id)).status == "in_doubt"


async def test_5xx_on_rcpt_is_shown_at_once_with_the_servers_reason(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_recipient("bo@example.com", 550)
    async with runtime_on(sqlite_url) as rt:
        notice = await approve(rt)
        assert notice.run.status == "failed"
        assert "550" in (notice.run.detail or "")
        assert "no such mailbox here" in (notice.run.detail or "")
        row = await effect_of(rt, notice.run.id)
        assert (row.status, row.attempts, row.next_try_at) == ("failed", 1, None)
        await rt.attention.tick(row.updated_at + timedelta(hours=1))
        assert (await effect_of(rt, notice.run.id)).attempts == 1
    assert smtp_sink.data_commands == 0


async def test_pending_retry_survives_a_restart(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.greet_with(421)
    async with runtime_on(sqlite_url) as rt:
        notice = await approve(rt)
        assert notice.run.outcome == "retrying"
        assert (notice.run.detail or "").startswith("Not sent yet: mail server unreachable")
        due = (await effect_of(rt, notice.run.id)).next_try_at
    assert due is not None
    smtp_sink.greet_with(None)
    async with runtime_on(sqlite_url) as rt:  # a new process: new manager, same database
        run = (await rt.manager.detail(notice.run.id)).run
        assert (run.status, run.outcome) == ("waiting", "retrying")
        await rt.attention.tick(due)
        assert len(smtp_sink.messages) == 1
        shown = await rt.manager.detail(notice.run.id)
        assert (shown.run.status, shown.run.outcome) == ("completed", "sent")
        # onboarding goes on after the send: the check-in is planned
        assert "schedule.created" in [e.kind for e in shown.events]


async def test_after_the_window_the_operator_retries(
    make_settings: MakeSettings, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.go_down()
    async with open_runtime(make_settings(sqlite_url, DESKHAND_SEND_RETRY_HOURS="2")) as rt:
        notice = await approve(rt)
        run_id = notice.run.id
        first = await effect_of(rt, run_id)
        assert first.retry_until is not None and first.next_try_at is not None
        assert first.retry_until - first.updated_at <= timedelta(hours=2)
        assert first.retry_until - first.updated_at > timedelta(hours=2) - timedelta(minutes=1)
        await rt.attention.tick(first.retry_until)
        gave_up = await effect_of(rt, run_id)
        assert gave_up.status == "failed" and gave_up.attempts == 1
        run = (await rt.manager.detail(run_id)).run
        assert (run.status, run.outcome) == ("waiting", "gave_up")
        assert f"/retry {run_id}" in (run.detail or "")
        await rt.attention.tick(first.retry_until + timedelta(hours=5))
        assert (await effect_of(rt, run_id)).attempts == 1  # nothing more by itself

        smtp_sink.come_back()
        retried = await say(rt, f"/retry {run_id}")
        assert not retried.refused, retried.replies
        assert len(smtp_sink.messages) == 1
        run = (await rt.manager.detail(run_id)).run
        assert (run.status, run.outcome) == ("completed", "sent")
        again = await say(rt, f"/retry {run_id}")
        assert again.refused and "nothing to retry" in again.replies[0].text  # type: ignore[union-attr]


async def test_resolve_resend_that_fails_stays_resolvable(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    async with runtime_on(sqlite_url) as rt:
        smtp_sink.drop_next()
        notice = await approve(rt)
        run_id = notice.run.id
        assert notice.run.outcome == "in_doubt"
        smtp_sink.go_down()
        resent = await say(rt, f"/resolve {run_id} resend")
        assert not resent.refused, resent.replies
        reply = resent.replies[0]
        assert isinstance(reply, Text) and "Not sent yet: mail server unreachable" in reply.text
        row = await effect_of(rt, run_id)
        assert row.status == "retrying"
        run = (await rt.manager.detail(run_id)).run
        assert run.outcome == "retrying" and "/resolve" not in (run.detail or "")

        smtp_sink.come_back()
        await rt.attention.tick(row.next_try_at or row.updated_at)
        assert len(smtp_sink.messages) == 2  # the first (in doubt, really kept) and the resend
        run = (await rt.manager.detail(run_id)).run
        assert run.outcome == "sent"


async def test_resolve_sent_settles_an_email_still_being_retried(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    async with runtime_on(sqlite_url) as rt:
        smtp_sink.drop_next()
        notice = await approve(rt)
        smtp_sink.go_down()
        await say(rt, f"/resolve {notice.run.id} resend")
        settled = await say(rt, f"/resolve {notice.run.id} sent")
        assert not settled.refused, settled.replies
        row = await effect_of(rt, notice.run.id)
        assert row.status == "succeeded"
        await rt.attention.tick(row.updated_at + timedelta(hours=1))
        assert smtp_sink.data_commands == 1


async def test_the_digest_says_what_is_not_sent_yet(
    runtime_on: OpenRuntime, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.go_down()
    async with runtime_on(sqlite_url) as rt:
        notice = await approve(rt)
        row = await effect_of(rt, notice.run.id)
        digest = await say(rt, "/digest")
        text = render(digest.replies[-1])
        assert "Needs attention:" in text
        assert f"run {notice.run.id} (onboarding): Not sent yet: mail server unreachable" in text
        assert f"next try {row.next_try_at:%H:%M} UTC" in text


async def test_the_next_try_is_shown_in_the_operators_time_zone(
    make_settings: MakeSettings, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.go_down()
    settings = make_settings(sqlite_url, DESKHAND_TIMEZONE="Asia/Kolkata")
    async with open_runtime(settings) as rt:
        notice = await approve(rt)
        row = await effect_of(rt, notice.run.id)
        assert row.next_try_at is not None
        local = row.next_try_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
        assert notice.run.detail == (
            f"Not sent yet: mail server unreachable, next try {local:%H:%M} IST"
        )
        await rt.attention.tick(row.next_try_at)  # the retry's own line, still down
        again = await effect_of(rt, notice.run.id)
        assert again.next_try_at is not None
        later = again.next_try_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
        run = (await rt.manager.detail(notice.run.id)).run
        assert run.detail is not None and run.detail.endswith(f"next try {later:%H:%M} IST")


async def test_a_give_up_is_owed_to_each_channel_once_until_a_retry_gives_up_again(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    smtp_sink.go_down()
    notice = await approve(runtime)
    first = await effect_of(runtime, notice.run.id)
    assert first.retry_until is not None
    await runtime.attention.tick(first.retry_until)
    async with runtime.sessions.begin() as session:
        (owed,) = await retries.given_up(session, unclaimed_by="retry-notice:telegram")
        key, effect, run = owed
        assert (key, run.id) == (f"{run.id}#1", notice.run.id)
        assert await jobs.claim(session, job_id="retry-notice:telegram", fire_key=key, by="t")
    async with runtime.sessions() as session:
        assert await retries.given_up(session, unclaimed_by="retry-notice:telegram") == []
        assert len(await retries.given_up(session, unclaimed_by="retry-notice:slack")) == 1
    # A Retry that fails again and gives up again is a new give-up, owed again.
    await say(runtime, f"/retry {notice.run.id}")
    again = await effect_of(runtime, notice.run.id)
    assert again.status == "retrying" and again.retry_until is not None
    await runtime.attention.tick(again.retry_until + timedelta(minutes=10))
    async with runtime.sessions() as session:
        owed_again = await retries.given_up(session, unclaimed_by="retry-notice:telegram")
    assert [k for k, _, _ in owed_again] == [f"{notice.run.id}#2"]
