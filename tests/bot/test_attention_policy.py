"""The attention policy's time arithmetic, including wrap-around and DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.attention.policy import AttentionPolicy, QuietHours, parse_clock

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_quiet_hours_wrap_midnight() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet.contains(time(23, 30)) and quiet.contains(time(6, 59))
    assert not quiet.contains(time(7, 0)) and not quiet.contains(time(12, 0))
    day = QuietHours.parse("12:00-13:00")
    assert day.contains(time(12, 30)) and not day.contains(time(13, 0))


@pytest.mark.parametrize("bad", ["25:00", "8", "08:0", "aa:bb", "-1:00"])
def test_bad_clock_times(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(bad)
    with pytest.raises(ValueError):
        QuietHours.parse(f"{bad}-07:00")


def test_batch_windows_and_digest_times_in_local_time() -> None:
    policy = AttentionPolicy(
        zone=BERLIN, batch_minutes=60, digest_at=time(8, 0), quiet=QuietHours.parse("22:00-07:00")
    )
    now = at("2026-11-21T10:17:00")  # 11:17 in Berlin
    assert policy.batch_window(now) == at("2026-11-21T10:00:00")
    assert policy.last_digest_time(now) == at("2026-11-21T07:00:00")
    assert policy.next_digest_time(now) == at("2026-11-22T07:00:00")
    assert policy.digest_key(now) == "digest:2026-11-21"
    early = at("2026-11-21T06:30:00")  # 07:30 Berlin, before today's digest
    assert policy.digest_key(early) == "digest:2026-11-20"
    assert policy.is_quiet(at("2026-11-21T21:30:00")) and not policy.is_quiet(now)


def test_batch_windows_of_90_minutes_count_from_midnight() -> None:
    policy = AttentionPolicy(zone=ZoneInfo("UTC"), batch_minutes=90)
    assert policy.batch_window(at("2026-11-21T02:59:00")) == at("2026-11-21T01:30:00")
    assert policy.batch_window(at("2026-11-21T03:00:00")) == at("2026-11-21T03:00:00")


def test_batch_slots_spend_the_budget_of_the_digest_period() -> None:
    policy = AttentionPolicy(
        zone=BERLIN, batch_minutes=60, digest_at=time(8, 0), quiet=QuietHours.parse("22:00-07:00")
    )
    assert policy.batch_limit == 2  # the default budget
    now = at("2026-11-21T10:00:00")  # 11:00 in Berlin; the period began at 08:00 Berlin
    assert policy.budget_key(now) == "2026-11-21"
    assert policy.budget_key(at("2026-11-21T06:59:00")) == "2026-11-20"  # 07:59 Berlin
    digest = at("2026-11-21T07:00:30")
    assert policy.batch_slot(now, sent=0, last_digest=digest) == "2026-11-21#1"
    assert policy.batch_slot(now, sent=1, last_digest=digest) == "2026-11-21#2"
    assert policy.batch_slot(now, sent=2, last_digest=digest) is None  # budget spent
    assert policy.batch_slot(now, sent=0, last_digest=None) == "2026-11-21#1"
    quiet = at("2026-11-21T22:00:00")  # 23:00 in Berlin
    assert policy.batch_slot(quiet, sent=0, last_digest=digest) is None


def test_no_batch_in_the_window_the_digest_went_out_in() -> None:
    policy = AttentionPolicy(zone=ZoneInfo("UTC"), batch_minutes=60, digest_at=time(8, 0))
    digest = at("2026-11-21T08:00:20")
    assert policy.batch_slot(at("2026-11-21T08:00:30"), sent=0, last_digest=digest) is None
    assert policy.batch_slot(at("2026-11-21T08:59:00"), sent=0, last_digest=digest) is None
    assert policy.batch_slot(at("2026-11-21T09:00:00"), sent=0, last_digest=digest) == (
        "2026-11-21#1"
    )
    # A catch-up digest at 11:10 (the bot was down at 08:00) closes the 11:00 window too.
    late = at("2026-11-21T11:10:00")
    assert policy.batch_slot(at("2026-11-21T11:20:00"), sent=0, last_digest=late) is None


@pytest.mark.parametrize(("limit", "allowed"), [(0, 0), (1, 1), (2, 2), (500, 500)])
def test_batch_limit_counts_slots(limit: int, allowed: int) -> None:
    policy = AttentionPolicy(zone=ZoneInfo("UTC"), batch_limit=limit)
    now = at("2026-11-21T12:00:00")
    slots = [policy.batch_slot(now, sent=n, last_digest=None) for n in range(limit + 1)]
    assert slots[:allowed] == [f"2026-11-21#{n + 1}" for n in range(allowed)]
    assert slots[allowed:] == [None]
