"""Times people can read: one function, the clock and the zone handed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.render.when import when

BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 6 Dec 2026, 02:41 in Berlin (01:41 UTC)
SUNDAY = datetime(2026, 12, 6, 2, 41, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "now", "expected"),
    [
        (SUNDAY + timedelta(seconds=30), SUNDAY, "now"),
        (SUNDAY - timedelta(seconds=59), SUNDAY, "now"),
        (SUNDAY + timedelta(minutes=40), SUNDAY, "in 40 min"),
        (SUNDAY - timedelta(minutes=40), SUNDAY, "40 min ago"),
        (SUNDAY + timedelta(minutes=59, seconds=40), SUNDAY, "in 1 h"),
        (SUNDAY + timedelta(hours=3), SUNDAY, "in 3 h"),
        (SUNDAY + timedelta(hours=2, minutes=50), SUNDAY, "in 3 h"),
        (SUNDAY - timedelta(hours=5), SUNDAY, "5 h ago"),
        (SUNDAY + timedelta(hours=18), SUNDAY, "today 20:41"),
        (SUNDAY + timedelta(hours=22), SUNDAY, "tomorrow 00:41"),
        (datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN), SUNDAY, "tomorrow 09:00"),
        (datetime(2026, 12, 5, 9, 0, tzinfo=BERLIN), SUNDAY, "yesterday 09:00"),
        (datetime(2026, 12, 8, 9, 0, tzinfo=BERLIN), SUNDAY, "Tue 09:00"),
        (datetime(2026, 12, 12, 23, 59, tzinfo=BERLIN), SUNDAY, "Sat 23:59"),
        (datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN), SUNDAY, "last Tue 09:00"),
        # the issue: seven days away on a Sunday is not "Sun 02:41"
        (SUNDAY + timedelta(days=7), SUNDAY, "13 Dec"),
        (SUNDAY - timedelta(days=7), SUNDAY, "29 Nov"),
        (datetime(2027, 1, 4, 9, 0, tzinfo=BERLIN), SUNDAY, "4 Jan 2027"),
        (datetime(2025, 12, 13, 9, 0, tzinfo=BERLIN), SUNDAY, "13 Dec 2025"),
    ],
)
def test_near_times_are_relative_far_ones_a_day_or_a_date(
    moment: datetime, now: datetime, expected: str
) -> None:
    assert when(moment, now=now, zone=BERLIN) == expected


@pytest.mark.parametrize(
    ("moment", "now", "expected"),
    [
        # spring forward, Sun 29 Mar 2026: 02:00 CET becomes 03:00 CEST
        (  # UTC would say 08:00: the wall clock in Berlin says 09:00
            datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
            datetime(2026, 3, 28, 19, 0, tzinfo=UTC),
            "tomorrow 09:00",
        ),
        (  # 01:30 CET to 04:30 CEST is two real hours, not three on the clock
            datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            "in 2 h",
        ),
        # fall back, Sun 25 Oct 2026: 03:00 CEST becomes 02:00 CET
        (
            datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
            datetime(2026, 10, 24, 20, 0, tzinfo=UTC),
            "tomorrow 09:00",
        ),
        (
            datetime(2026, 10, 27, 8, 0, tzinfo=UTC),
            datetime(2026, 10, 24, 20, 0, tzinfo=UTC),
            "Tue 09:00",
        ),
    ],
)
def test_days_are_counted_on_the_local_clock_across_daylight_saving(
    moment: datetime, now: datetime, expected: str
) -> None:
    assert when(moment, now=now, zone=BERLIN) == expected


def test_the_zone_decides_the_day_and_naive_times_are_utc() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    late = datetime(2026, 12, 6, 23, 30)  # naive, as the database may return it
    assert when(late, now=now, zone=UTC) == "today 23:30"
    assert when(late, now=now, zone=BERLIN) == "tomorrow 00:30"
    assert when(late, now=now.replace(tzinfo=None), zone=ZoneInfo("America/New_York")) == (
        "today 18:30"
    )
