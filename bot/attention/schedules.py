"""Scheduled workflows: add, list, remove, and fire them exactly once per firing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.views import ScheduledItem
from bot.scheduler import Scheduler, next_fire, to_cron
from graph.errors import NotFound
from graph.runs import RunManager, RunReport
from graph.workflows import lookup
from memory import events, jobs, schedules
from memory.db import Sessions
from memory.models import Schedule

log = logging.getLogger(__name__)


class Schedules:
    """The operator's scheduled workflows, kept in the database and mirrored as jobs."""

    def __init__(
        self, *, manager: RunManager, sessions: Sessions, zone: ZoneInfo, instance: str
    ) -> None:
        self._manager = manager
        self._sessions = sessions
        self._zone = zone
        self._instance = instance
        self._scheduler: Scheduler | None = None

    def attach(self, scheduler: Scheduler) -> None:
        """Mirror changes into a running scheduler from now on."""
        self._scheduler = scheduler

    async def sync_jobs(self) -> None:
        """Make the scheduler's jobs match the active repeating schedules."""
        if self._scheduler is None:
            return
        async with self._sessions() as session:
            for schedule in await schedules.repeating(session):
                if schedule.cron:
                    self._scheduler.add_schedule(schedule.id, schedule.cron)

    async def add(
        self, *, workflow: str, when: str, inputs: Mapping[str, str], actor: str
    ) -> Schedule:
        """Schedule a workflow ("every monday 9:00" or a crontab) with validated inputs.

        Raises:
            NotFound: no such workflow.
            InvalidInput: the schedule or the inputs do not validate.
        """
        spec = lookup(dict(self._manager.workflows), workflow)
        if spec is None:
            raise NotFound(f"There is no workflow called \u201c{workflow[:40]}\u201d.")
        cron = to_cron(when)
        clean = spec.validate_inputs(inputs)
        async with self._sessions.begin() as session:
            schedule = await schedules.create(
                session,
                workflow=spec.name,
                cron=cron,
                description=when.strip(),
                inputs=clean,
                created_by=actor,
            )
            await events.append(
                session,
                actor=actor,
                kind="schedule.created",
                summary=f"Scheduled {spec.name} {when.strip()} ({schedule.id})",
                workflow=spec.name,
                data={"schedule_id": schedule.id, "cron": cron},
            )
        if self._scheduler is not None:
            self._scheduler.add_schedule(schedule.id, cron)
        return schedule

    async def remove(self, schedule_id: str, *, actor: str) -> None:
        """Stop a schedule.

        Raises:
            NotFound: no active schedule with that id.
        """
        async with self._sessions.begin() as session:
            if not await schedules.deactivate(session, schedule_id=schedule_id):
                raise NotFound(f"There is no active schedule {schedule_id}. /schedules lists them.")
            await events.append(
                session,
                actor=actor,
                kind="schedule.removed",
                summary=f"Schedule {schedule_id} removed",
                data={"schedule_id": schedule_id},
            )
        if self._scheduler is not None:
            self._scheduler.remove_schedule(schedule_id)

    async def listing(self, now: datetime) -> list[tuple[Schedule, datetime | None]]:
        """Active schedules with their next firing."""
        async with self._sessions() as session:
            rows = await schedules.active(session)
        return [(s, self._next(s, now)) for s in rows]

    async def upcoming(self, now: datetime, *, limit: int = 5) -> tuple[ScheduledItem, ...]:
        """The next few scheduled runs, soonest first (for the digest).

        Reads only what it can show: the ``limit`` soonest one-off schedules (onboarding
        leaves one per new client) and the crontab ones, whose next firing is computed
        here; then keeps the ``limit`` soonest of both.
        """
        async with self._sessions() as session:
            rows = [
                *await schedules.next_once(session, limit=limit),
                *await schedules.repeating(session),
            ]
        items = [
            ScheduledItem(at, f"{s.workflow} ({s.description})")
            for s in rows
            if (at := self._next(s, now)) is not None
        ]
        return tuple(sorted(items, key=lambda i: i.at)[:limit])

    def _next(self, schedule: Schedule, now: datetime) -> datetime | None:
        if schedule.cron:
            return next_fire(schedule.cron, self._zone, now)
        return schedule.run_at

    async def fire(self, schedule_id: str, now: datetime | None = None) -> RunReport | None:
        """Start a repeating schedule's workflow once for this minute (first replica wins)."""
        now = now or datetime.now(UTC)
        key = now.replace(second=0, microsecond=0).isoformat()
        return await self._start(schedule_id, key)

    async def fire_due_once(self, now: datetime) -> list[RunReport]:
        """Start every one-off schedule whose time has come (called by the tick)."""
        async with self._sessions() as session:
            due = await schedules.due_once(session, now=now)
        reports = []
        for schedule in due:
            report = await self._start(schedule.id, "once")
            async with self._sessions.begin() as session:
                await schedules.deactivate(session, schedule_id=schedule.id)
            if report is not None:
                reports.append(report)
        return reports

    async def _start(self, schedule_id: str, fire_key: str) -> RunReport | None:
        async with self._sessions.begin() as session:
            schedule = await schedules.get(session, schedule_id=schedule_id)
            if schedule is None or not schedule.active:
                return None
            if not await jobs.claim(
                session, job_id=f"schedule:{schedule_id}", fire_key=fire_key, by=self._instance
            ):
                return None
        log.info("starting scheduled run", extra={"schedule_id": schedule_id})
        return await self._manager.start(
            schedule.workflow, schedule.inputs, actor=f"schedule:{schedule_id}"
        )
