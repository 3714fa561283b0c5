"""The APScheduler wiring: the tick fires at once from memory; schedules are persisted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from bot.scheduler import Scheduler, sync_url


async def test_tick_fires_at_start_and_schedules_persist(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    ticks: list[int] = []
    fired: list[str] = []

    async def tick() -> None:
        ticks.append(1)

    async def schedule(schedule_id: str) -> None:
        fired.append(schedule_id)

    scheduler = Scheduler(
        database_url=url, zone=ZoneInfo("UTC"), runners={"tick": tick, "schedule": schedule}
    )
    await scheduler.start()
    try:
        for _ in range(100):
            if ticks:
                break
            await asyncio.sleep(0.02)
        assert ticks == [1]
        scheduler.add_schedule("SABCD", "0 9 * * mon")
    finally:
        await scheduler.stop()
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM apscheduler_jobs"))]
    engine.dispose()
    assert ids == ["schedule:SABCD"]  # the minute tick never writes to the database
