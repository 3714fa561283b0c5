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
