"""The "next try" time is shown in the operator's time zone (DESKHAND_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from graph.retry import not_sent_yet

AT = datetime(2026, 11, 21, 13, 5, tzinfo=UTC)


def test_next_try_in_utc_by_default() -> None:
    assert not_sent_yet("mail server unreachable", AT) == (
        "Not sent yet: mail server unreachable, next try 13:05 UTC"
    )


def test_next_try_in_the_operators_zone() -> None:
    assert not_sent_yet("mail server unreachable", AT, ZoneInfo("Europe/Lisbon")) == (
        "Not sent yet: mail server unreachable, next try 13:05 WET"
    )
    assert not_sent_yet("mail server unreachable", AT, ZoneInfo("Europe/Berlin")) == (
        "Not sent yet: mail server unreachable, next try 14:05 CET"
    )
    summer = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
    assert not_sent_yet("timeout", summer, ZoneInfo("America/Sao_Paulo")).endswith(
        "next try 09:05 -03"
    )


def test_a_naive_time_from_the_database_is_utc() -> None:
    naive = AT.replace(tzinfo=None)
    assert not_sent_yet("x", naive, ZoneInfo("Europe/Berlin")).endswith("next try 14:05 CET")
