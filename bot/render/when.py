"""Times as people read them: ``in 40 min``, ``tomorrow 09:00``, ``Mon 09:00``, ``13 Dec``.

One pure function for every channel. The caller hands in ``now`` and the operator's
zone (``DESKHAND_TIMEZONE``, carried on the view being rendered), so the same moment
reads the same in Telegram, Slack and the terminal, and tests need no clock.

Near times are relative, because "in 3 h" needs no arithmetic; further ones name the
local day, because "in 31 h" does; beyond a week a date, because a weekday a week away
("Sun 02:41" on a Sunday) reads as today. Calendar days are counted in the local zone,
so a daylight-saving change moves the wall-clock time, not the day.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

NEAR = 6 * 3600  # up to six hours away "in 3 h"; beyond, the day and the time


def when(moment: datetime, *, now: datetime, zone: tzinfo) -> str:
    """``moment`` for a reader at ``now`` in ``zone``.

    Args:
        moment: the time to show; a naive time is taken as UTC (the database keeps UTC).
        now: the reader's present, also UTC if naive.
        zone: the operator's time zone.

    Returns:
        ``now``, ``in 40 min`` / ``40 min ago``, ``in 3 h`` / ``3 h ago``,
        ``today 21:00``, ``tomorrow 09:00`` / ``yesterday 09:00``, ``Mon 09:00`` /
        ``last Mon 09:00`` within the week, ``13 Dec`` beyond, ``13 Dec 2027`` in another
        year.
    """
    moment, now = _aware(moment), _aware(now)
    seconds = (moment - now).total_seconds()
    distance = abs(seconds)
    if distance < 60:
        return "now"
    if distance < NEAR:
        minutes = round(distance / 60)
        amount = f"{minutes} min" if minutes < 60 else f"{round(distance / 3600)} h"
        return f"in {amount}" if seconds > 0 else f"{amount} ago"
    local, today = moment.astimezone(zone), now.astimezone(zone)
    days = (local.date() - today.date()).days
    clock = f"{local:%H:%M}"
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if 0 < days < 7:
        return f"{local:%a} {clock}"
    if -7 < days < 0:
        return f"last {local:%a} {clock}"  # "Tue 09:00" alone would read as the next one
    if local.year == today.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
