"""Scheduled workflows: commands, claimed firings, and onboarding's check-in follow-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.runtime import Runtime
from bot.scheduler import to_cron
from graph.errors import InvalidInput
from memory import schedules
from tests.bot.attention.conftest import at, attention
from tests.bot.attention.recording import RecordingNotifier
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, card_of, say


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("every monday 9:00", "0 9 * * mon"),
        ("every weekday at 8:30", "30 8 * * mon-fri"),
        ("every day 18:05", "5 18 * * *"),
        ("0 9 * * mon", "0 9 * * mon"),
    ],
)
def test_schedule_phrases(text: str, cron: str) -> None:
    assert to_cron(text) == cron


@pytest.mark.parametrize("bad", ["every blursday 9:00", "every monday 25:00", "sometimes", "* *"])
def test_bad_schedules(bad: str) -> None:
    with pytest.raises(InvalidInput):
        to_cron(bad)


async def test_schedule_commands_and_one_run_per_firing(runtime: Runtime) -> None:
    made = await say(
        runtime, '/schedule checkin "every monday 9:00" name="Bo Diaz" email=bo@example.com'
    )
    assert not made.refused, made.replies
    listing = await say(runtime, "/schedules")
    assert "checkin" in listing.replies[0].text and "every monday 9:00" in listing.replies[0].text  # type: ignore[union-attr]
    assert "(next " in listing.replies[0].text and "UTC" not in listing.replies[0].text  # type: ignore[union-attr]
    [(schedule, next_at)] = await runtime.schedules.listing(at("2026-11-21T10:00:00"))
    assert next_at == at("2026-11-23T09:00:00")
    # Two replicas fire the same job in the same minute: one run.
    fired = await asyncio.gather(*(runtime.schedules.fire(schedule.id, next_at) for _ in range(4)))
    assert sum(r is not None for r in fired) == 1
    assert (await runtime.manager.pending())[0].workflow == "checkin"
    stopped = await say(runtime, f"/unschedule {schedule.id}")
    assert not stopped.refused
    assert await runtime.schedules.fire(schedule.id, next_at + timedelta(days=7)) is None
    again = await say(runtime, f"/unschedule {schedule.id}")
    assert again.refused
    bad = await say(runtime, '/schedule checkin "every monday 9:00" name=Bo')
    assert bad.refused and "email is missing" in bad.replies[0].text  # type: ignore[union-attr]


async def test_onboarding_plans_a_check_in_three_days_later(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    card = card_of(await say(runtime, ONBOARD)).approval
    await say(runtime, f"/approve {card.id}")
    [(schedule, when)] = await runtime.schedules.listing(at("2026-11-21T00:00:00"))
    assert schedule.workflow == "checkin" and when is not None
    assert schedule.inputs == {"name": "Bo Diaz", "email": "bo@example.com"}
    notifier = RecordingNotifier("telegram")
    service = attention(runtime, notifier)
    await service.tick(when - timedelta(minutes=1))
    assert await runtime.manager.pending() == []
    await asyncio.gather(service.tick(when), service.tick(when + timedelta(minutes=1)))
    [checkin] = await runtime.manager.pending()
    assert checkin.workflow == "checkin" and checkin.risk == "medium"
    assert checkin.preview["to"] == "bo@example.com"


async def test_digest_shows_the_soonest_one_offs_and_crontabs(runtime: Runtime) -> None:
    now = at("2026-11-21T10:05:00")
    async with runtime.sessions.begin() as session:
        for hours in (30, 5, 50, 1, 70, 20, 3):
            await schedules.create(
                session,
                workflow="checkin",
                description=f"in {hours}h",
                inputs={},
                created_by="test",
                run_at=now + timedelta(hours=hours),
            )
        stopped = await schedules.create(
            session,
            workflow="checkin",
            description="stopped",
            inputs={},
            created_by="test",
            run_at=now + timedelta(minutes=5),
        )
        await schedules.deactivate(session, schedule_id=stopped.id)
        await schedules.create(
            session,
            workflow="checkin",
            description="half-hourly",
            inputs={},
            created_by="test",
            cron="*/30 * * * *",
        )
    items = await runtime.schedules.upcoming(now, limit=4)
    assert [item.what for item in items] == [
        "checkin (half-hourly)",
        "checkin (in 1h)",
        "checkin (in 3h)",
        "checkin (in 5h)",
    ]
    assert items[0].at == at("2026-11-21T10:30:00")
