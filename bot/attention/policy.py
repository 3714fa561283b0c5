"""The operator's attention budget as pure time arithmetic (no clock of its own).

Everything takes ``now`` as an argument, so a test can walk through a simulated day
without sleeping, and the scheduler simply passes the real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_clock(text: str) -> time:
    """Parse ``HH:MM`` (24-hour).

    Raises:
        ValueError: not a time of day.
    """
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{text!r} is not a time like 08:00")
    value = int(hours), int(minutes)
    if not (0 <= value[0] < 24 and 0 <= value[1] < 60):
        raise ValueError(f"{text!r} is not a time like 08:00")
    return time(*value)


@dataclass(frozen=True)
class QuietHours:
    """A daily span (may wrap midnight) when only high-risk requests are delivered."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``22:00-07:00``.

        Raises:
            ValueError: not two times separated by a dash.
        """
        first, sep, second = text.partition("-")
        if not sep:
            raise ValueError(f"{text!r} is not a span like 22:00-07:00")
        return cls(parse_clock(first), parse_clock(second))

    def contains(self, local: time) -> bool:
        """True when the local time of day falls inside the quiet span."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class AttentionPolicy:
    """When batches and digests go out, in the operator's time zone."""

    zone: ZoneInfo
    batch_minutes: int = 60
    digest_at: time = time(8, 0)
    quiet: QuietHours | None = None

    def local(self, now: datetime) -> datetime:
        """``now`` in the operator's time zone."""
        return now.astimezone(self.zone)

    def is_quiet(self, now: datetime) -> bool:
        """True during quiet hours."""
        return self.quiet is not None and self.quiet.contains(self.local(now).time())

    def batch_window(self, now: datetime) -> datetime:
        """Start (UTC) of the batch window ``now`` falls in; windows count from midnight."""
        local = self.local(now)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = int((local - midnight).total_seconds() // 60)
        start = midnight + timedelta(minutes=minutes - minutes % self.batch_minutes)
        return start.astimezone(UTC)

    def last_digest_time(self, now: datetime) -> datetime:
        """The most recent scheduled digest time at or before ``now`` (UTC)."""
        local = self.local(now)
        today = datetime.combine(local.date(), self.digest_at, tzinfo=self.zone)
        scheduled = today if today <= local else today - timedelta(days=1)
        return scheduled.astimezone(UTC)

    def next_digest_time(self, now: datetime) -> datetime:
        """The next scheduled digest time after ``now`` (UTC)."""
        return self.last_digest_time(now) + timedelta(days=1)

    def digest_key(self, now: datetime) -> str:
        """Identifies the digest due at ``now``: one per local day, whoever sends it."""
        return "digest:" + self.local(self.last_digest_time(now)).date().isoformat()
