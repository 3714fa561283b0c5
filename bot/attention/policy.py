"""The operator's attention budget as pure time arithmetic (no clock of its own).

Everything takes ``now`` as an argument, so a test can walk through a simulated day
without sleeping, and the scheduler simply passes the real time. The budget itself is
counted, not remembered: the caller says how many batches went out (it counts them in
the database) and :meth:`AttentionPolicy.batch_slot` says whether one more may.
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
    """When batches and digests go out, in the operator's time zone.

    ``batch_limit`` is the attention budget: batch messages per channel between one daily
    digest time and the next (0: no batches, everything but high risk waits for the
    digest).
    """

    zone: ZoneInfo
    batch_minutes: int = 60
    digest_at: time = time(8, 0)
    quiet: QuietHours | None = None
    batch_limit: int = 2

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

    def budget_key(self, now: datetime) -> str:
        """Names the budget ``now`` draws on: the local day that began at the last digest time."""
        return self.local(self.last_digest_time(now)).date().isoformat()

    def batch_slot(self, now: datetime, *, sent: int, last_digest: datetime | None) -> str | None:
        """The budget slot a batch sent at ``now`` would take, or None when none may go out.

        Args:
            now: the current time.
            sent: batches already sent on this channel under :meth:`budget_key` of ``now``.
            last_digest: when the last daily digest went out (None before the first).

        Returns:
            ``<budget key>#<n>`` for the n-th batch of the period; None during quiet hours,
            once ``batch_limit`` batches went out, and in the batch window in which the
            daily digest went out (it has just shown everything waiting).
        """
        if self.is_quiet(now) or sent >= self.batch_limit:
            return None
        if last_digest is not None and last_digest >= self.batch_window(now):
            return None
        return f"{self.budget_key(now)}#{sent + 1}"
