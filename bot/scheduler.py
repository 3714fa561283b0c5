"""The scheduler: APScheduler 3 with its job store in Deskhand's own database.

Jobs have fixed ids (``attention:tick``, ``schedule:<id>``) and call the same core
functions as chat commands. Every replica runs a scheduler on the shared job store; each
firing is claimed in ``job_claims`` before it runs, so exactly one replica does the work.

The tick job is kept in memory (it is re-created at each start); scheduled workflows are
persisted. Stated misfire policy: the attention tick coalesces (one tick catches up on everything,
so a digest missed while the bot was down goes out once, covering the gap); a scheduled
workflow missed by less than an hour runs once on start-up, an older miss is skipped and
logged as a ``schedule.missed`` event.

APScheduler stores a job's callable as an import path, so job functions are module-level
and find their runner in a small registry filled by :meth:`Scheduler.start`.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import make_url

from graph.errors import InvalidInput

log = logging.getLogger(__name__)

TICK_JOB = "attention:tick"
SCHEDULE_GRACE = timedelta(hours=1)
_DAYS = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "weekday": "mon-fri",
    "day": "*",
}
_PHRASE = re.compile(r"^every\s+(\w+)\s+(?:at\s+)?(\d{1,2}):(\d{2})$")

Runner = Callable[..., Awaitable[None]]
_RUNNERS: dict[str, Runner] = {}


def to_cron(text: str) -> str:
    """Turn ``every monday 9:00`` (or a 5-field crontab) into a crontab expression.

    Raises:
        InvalidInput: neither a known phrase nor a valid crontab.
    """
    phrase = _PHRASE.match(text.strip().lower())
    if phrase:
        day, hour, minute = phrase.group(1), int(phrase.group(2)), int(phrase.group(3))
        if day not in _DAYS or hour > 23 or minute > 59:
            raise InvalidInput(f'I can\'t read \u201c{text}\u201d; try "every monday 9:00".')
        return f"{minute} {hour} * * {_DAYS[day]}"
    try:
        CronTrigger.from_crontab(text.strip())
    except ValueError:
        raise InvalidInput(
            f'\u201c{text}\u201d is not a schedule; use "every monday 9:00", '
            '"every weekday 8:30" or a crontab such as "0 9 * * mon".'
        ) from None
    return text.strip()


def next_fire(cron: str, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The next time a crontab fires after ``after`` (UTC)."""
    trigger = CronTrigger.from_crontab(cron, timezone=zone)
    fire = trigger.get_next_fire_time(None, after)
    return fire.astimezone(UTC) if fire else None


def sync_url(async_url: str) -> str:
    """The synchronous driver URL for APScheduler's job store."""
    url = make_url(async_url)
    if url.get_backend_name() == "sqlite":
        url = url.set(drivername="sqlite")
    return url.render_as_string(hide_password=False)


async def fire(kind: str, *args: Any) -> None:
    """Run a stored job: look up the runner registered for ``kind``; never raise."""
    runner = _RUNNERS.get(kind)
    if runner is None:
        log.warning("no runner for scheduled job", extra={"kind": kind})
        return
    try:
        await runner(*args)
    except Exception:
        log.exception("scheduled job failed", extra={"kind": kind, "ref": secrets.token_hex(4)})


class Scheduler:
    """Owns the APScheduler instance and the jobs Deskhand keeps in it."""

    def __init__(self, *, database_url: str, zone: ZoneInfo, runners: dict[str, Runner]) -> None:
        self._url = sync_url(database_url)
        self._zone = zone
        self._runners = runners
        self._aps: AsyncIOScheduler | None = None

    async def start(self) -> None:
        """Start firing jobs; (re)create the fixed tick job."""
        _RUNNERS.update(self._runners)
        # APScheduler's job stores are synchronous and run on the event loop. The tick job
        # (re-created at every start) lives in memory, so nothing writes to the database
        # every minute; only scheduled workflows, which change rarely, are persisted.
        self._aps = AsyncIOScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(url=self._url, tablename="apscheduler_jobs"),
                "memory": MemoryJobStore(),
            },
            timezone=self._zone,
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._aps.start()
        self._aps.add_job(
            fire,
            "interval",
            minutes=1,
            id=TICK_JOB,
            args=["tick"],
            replace_existing=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
            jobstore="memory",
        )

    def add_schedule(self, schedule_id: str, cron: str) -> None:
        """Create or replace the job that starts a scheduled workflow."""
        if self._aps is None:
            return
        self._aps.add_job(
            fire,
            CronTrigger.from_crontab(cron, timezone=self._zone),
            id=f"schedule:{schedule_id}",
            args=["schedule", schedule_id],
            replace_existing=True,
            misfire_grace_time=int(SCHEDULE_GRACE.total_seconds()),
        )

    def remove_schedule(self, schedule_id: str) -> None:
        """Delete a scheduled workflow's job, if present."""
        if self._aps is not None and self._aps.get_job(f"schedule:{schedule_id}") is not None:
            self._aps.remove_job(f"schedule:{schedule_id}")

    async def stop(self) -> None:
        """Stop firing; stored jobs stay for the next start."""
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        for kind in self._runners:
            _RUNNERS.pop(kind, None)
