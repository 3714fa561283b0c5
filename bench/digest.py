"""Digest benchmark: 10,000 pending approvals, 100,000 events, 10,000 active schedules.

    python -m bench.digest [--approvals 10000] [--events 100000] [--schedules 10000]
                           [--backend sqlite|postgres|both]

The schedules are what 10,000 completed onboardings leave: one-off check-ins due within
three days, plus a few repeating (cron) ones. Prints a table: "scheduled next" (the
digest's next few planned runs), assembly (database) and rendering times, p50/p95/max
over repeated runs, on SQLite and PostgreSQL; then how many proactive messages a
simulated day of 50 requests produces under a few batch settings. Targets: the whole
digest (scheduled next + assemble + render) under 200 ms; at the
default settings, at most 3 proactive messages a day besides the high-risk requests.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.attention.digest import assemble
from bot.attention.policy import AttentionPolicy
from bot.attention.service import Attention
from bot.core.delivery import Dispatcher, MessageRef
from bot.render.text import render
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from memory.models import Approval, Event, Run, Schedule

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TARGET_MS = 200.0
TARGET_MESSAGES = 3
# (DESKHAND_BATCH_MINUTES, DESKHAND_BATCH_LIMIT) for the day table; None: the default.
DAY_ROWS: tuple[tuple[int | None, int | None], ...] = (
    (None, None),
    (60, 0),
    (60, 1000),
    (180, 2),
    (360, 2),
)
# Repeating schedules seeded beside the one-off check-ins, as an operator would add them.
CRONS = ("0 9 * * mon", "30 8 * * mon-fri", "5 18 * * *", "0 7 1 * *", "15 12 * * fri")


def bench_settings(home: Path, url: str, **env: str) -> Settings:
    """Settings for a bench database, ignoring any ``.env`` in the working directory."""
    values: dict[str, Any] = {"DESKHAND_HOME": str(home), "DATABASE_URL": url, **env}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def backend(name: str) -> AsyncIterator[str]:
    """Yield a database URL for ``name`` (a temp SQLite file or a pgserver database)."""
    with tempfile.TemporaryDirectory() as tmp:
        if name == "sqlite":
            yield f"sqlite:///{tmp}/bench.db"
            return
        import pgserver

        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        try:
            server.psql("CREATE DATABASE bench;")
            base = server.get_uri().split("?")
            yield base[0].rsplit("/", 1)[0] + "/bench?" + base[1]
        finally:
            server.cleanup()


async def seed(rt: Runtime, *, approvals: int, events: int, schedules: int) -> None:
    """Bulk-insert runs, pending approvals, finished runs, events and active schedules."""
    rng = random.Random(1)
    risks = ("low", "medium", "high")
    async with rt.engine.begin() as conn:
        for start in range(0, approvals, 2000):
            chunk = range(start, min(start + 2000, approvals))
            await conn.execute(
                insert(Run),
                [
                    {
                        "id": f"r{i:08d}",
                        "workflow": "onboarding",
                        "workflow_version": "1",
                        "status": "waiting",
                        "inputs": {},
                        "started_by": "bench",
                        "created_at": NOW - timedelta(minutes=i),
                        "updated_at": NOW,
                    }
                    for i in chunk
                ],
            )
            await conn.execute(
                insert(Approval),
                [
                    {
                        "id": f"A{i:07d}",
                        "run_id": f"r{i:08d}",
                        "gate_key": "g:0",
                        "workflow": "onboarding",
                        "step": "send",
                        "title": f"Request {i}",
                        "summary": "Send an email",
                        "preview": {
                            "kind": "email",
                            "to": "x@y.z",
                            "subject": "Hi",
                            "body": "Hello",
                        },
                        "risk": risks[i % 3],
                        "allowed_actions": {"actions": ["approve", "reject"]},
                        "status": "pending",
                        "requested_at": NOW - timedelta(minutes=i),
                        "on_expiry": "reject",
                    }
                    for i in chunk
                ],
            )
        done: list[dict[str, Any]] = [
            {
                "id": f"d{i:08d}",
                "workflow": "onboarding",
                "workflow_version": "1",
                "status": ("completed", "failed", "rejected")[i % 3],
                "inputs": {},
                "started_by": "bench",
                "detail": "done",
                "created_at": NOW - timedelta(hours=rng.randrange(1, 72)),
                "updated_at": NOW - timedelta(hours=rng.randrange(1, 72)),
            }
            for i in range(2000)
        ]
        await conn.execute(insert(Run), done)
        for start in range(0, events, 5000):
            await conn.execute(
                insert(Event),
                [
                    {
                        "actor": "bench",
                        "kind": ("run.started", "approval.requested", "approval.decided")[i % 3],
                        "summary": f"event {i}",
                        "run_id": f"r{i % approvals:08d}",
                        "data": {},
                        "at": NOW - timedelta(seconds=i),
                    }
                    for i in range(start, min(start + 5000, events))
                ],
            )
        # Onboarding's check-ins: one-off, due within three days of their welcome email.
        for start in range(0, schedules, 2000):
            await conn.execute(
                insert(Schedule),
                [
                    {
                        "id": f"F{i:07d}",
                        "workflow": "checkin",
                        "cron": None,
                        "run_at": NOW + timedelta(minutes=rng.randrange(1, 3 * 24 * 60)),
                        "description": "3 days after welcome",
                        "inputs": {"name": f"Person {i}", "email": f"p{i}@example.com"},
                        "created_by": f"run:r{i:08d}",
                        "created_at": NOW - timedelta(minutes=i),
                        "active": True,
                    }
                    for i in range(start, min(start + 2000, schedules))
                ],
            )
        await conn.execute(
            insert(Schedule),
            [
                {
                    "id": f"C{i:07d}",
                    "workflow": "checkin",
                    "cron": cron,
                    "run_at": None,
                    "description": cron,
                    "inputs": {"name": "Bo Diaz", "email": "bo@example.com"},
                    "created_by": "bench",
                    "created_at": NOW - timedelta(days=30),
                    "active": True,
                }
                for i, cron in enumerate(CRONS)
            ],
        )


async def time_digest(
    rt: Runtime, repeats: int
) -> tuple[list[float], list[float], list[float], int]:
    """Find the scheduled runs, assemble and render ``repeats`` times.

    Returns:
        The "scheduled next", assembly and rendering times (ms) and the text length.
    """
    scheduled_ms, assemble_ms, render_ms, length = [], [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        scheduled = await rt.schedules.upcoming(NOW)
        t1 = time.perf_counter()
        async with rt.sessions() as session:
            view = await assemble(
                session,
                key="bench",
                period_start=NOW - timedelta(days=1),
                now=NOW,
                scheduled=scheduled,
            )
        t2 = time.perf_counter()
        text = render(view, now=NOW)
        t3 = time.perf_counter()
        scheduled_ms.append((t1 - t0) * 1000)
        assemble_ms.append((t2 - t1) * 1000)
        render_ms.append((t3 - t2) * 1000)
        length = len(text)
    return scheduled_ms, assemble_ms, render_ms, length


class CountingNotifier:
    """Counts proactive messages by kind."""

    channel = "bench"

    def __init__(self) -> None:
        self.counts = {"card": 0, "batch": 0, "digest": 0}

    async def post_approval(self, view: object) -> MessageRef:
        # A ref, not None: None means "nowhere to post", and the card would be retried
        # (and counted again) at every tick.
        self.counts["card"] += 1
        return MessageRef(self.channel, "bench", str(self.counts["card"]))

    async def refresh_approval(self, view: object, ref: object, run: object = None) -> None:
        return None

    async def post_batch(self, view: object) -> None:
        self.counts["batch"] += 1

    async def post_digest(self, view: object) -> None:
        self.counts["digest"] += 1


async def simulated_day(
    url: str, home: Path, batch_minutes: int | None, batch_limit: int | None
) -> tuple[AttentionPolicy, dict[str, int]]:
    """50 requests over a working day (09:00-18:00), quiet 22:00-07:00; count messages.

    The policy comes from the settings, so a None leaves that setting at its default.
    """
    from memory import approvals, runs

    attention_env = {
        name: str(value)
        for name, value in (
            ("DESKHAND_BATCH_MINUTES", batch_minutes),
            ("DESKHAND_BATCH_LIMIT", batch_limit),
        )
        if value is not None
    }
    settings = bench_settings(
        home, url, DESKHAND_TIMEZONE="UTC", DESKHAND_QUIET_HOURS="22:00-07:00", **attention_env
    )
    policy = settings.attention_policy()
    batch_minutes = policy.batch_minutes
    rng = random.Random(5)
    start = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    plan = sorted(
        (
            start + timedelta(minutes=30 + rng.randrange(0, 9 * 60)),
            ("high", "medium", "low", "low", "medium")[i % 5],
        )
        for i in range(50)
    )
    async with open_runtime(settings) as rt:
        notifier = CountingNotifier()
        attention = Attention(
            manager=rt.manager,
            sessions=rt.sessions,
            policy=policy,
            notifiers=[notifier],
            instance="bench",
        )  # type: ignore[list-item]
        dispatcher = Dispatcher(
            sessions=rt.sessions,
            manager=rt.manager,
            notifiers=[notifier],  # type: ignore[list-item]
            risks=("high",),
        )
        await attention.tick(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # day's first digest
        notifier.counts = {"card": 0, "batch": 0, "digest": 0}
        windows = {
            policy.batch_window(start) + timedelta(minutes=m)
            for m in range(0, 24 * 60 + batch_minutes, batch_minutes)
        }
        next_digest = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        moments = sorted({w for w, _ in plan} | windows | {next_digest})
        for now in moments:
            while plan and plan[0][0] <= now:
                _, risk = plan.pop(0)
                async with rt.sessions.begin() as session:
                    run = await runs.create(
                        session,
                        workflow="onboarding",
                        workflow_version="b",
                        inputs={},
                        started_by="bench",
                    )
                    await approvals.create(
                        session,
                        run_id=run.id,
                        gate_key="g",
                        workflow="x",
                        step="s",
                        title="t",
                        summary="s",
                        preview={},
                        risk=risk,
                        allowed_actions=("approve",),
                    )
            await dispatcher.tick()
            await attention.tick(now)
        return policy, notifier.counts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approvals", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        f"Digest with {args.approvals:,} pending approvals, {args.events:,} events and "
        f"{args.schedules + len(CRONS):,} active schedules; {args.repeats} runs each (ms)"
    )
    print(f"{'backend':<10}{'part':<16}{'p50':>8}{'p95':>8}{'max':>8}  target")
    failed = False
    for name in names:
        async with backend(name) as url:
            with tempfile.TemporaryDirectory() as home:
                settings = bench_settings(Path(home), url)
                async with open_runtime(settings) as rt:
                    await seed(
                        rt,
                        approvals=args.approvals,
                        events=args.events,
                        schedules=args.schedules,
                    )
                    await time_digest(rt, 3)  # warm caches and the query planner
                    s_ms, a_ms, r_ms, length = await time_digest(rt, args.repeats)
            total = [s + a + r for s, a, r in zip(s_ms, a_ms, r_ms, strict=True)]
            parts = (
                ("scheduled next", s_ms),
                ("assemble", a_ms),
                ("render", r_ms),
                ("total", total),
            )
            for part, values in parts:
                verdict = ""
                if part == "total":
                    ok = pct(values, 0.95) < TARGET_MS
                    failed |= not ok
                    verdict = f"{'PASS' if ok else 'FAIL'} p95 < {TARGET_MS:.0f}"
                print(
                    f"{name:<10}{part:<16}{statistics.median(values):>8.1f}"
                    f"{pct(values, 0.95):>8.1f}{max(values):>8.1f}  {verdict}"
                )
            print(f"{'':<10}(rendered digest: {length:,} characters)")
    print()
    print("A working day of 50 requests (10 high), quiet hours 22:00-07:00, SQLite:")
    print(
        f"{'batch minutes':<15}{'batch limit':<13}{'high (at once)':>15}{'batches':>9}"
        f"{'digests':>9}{'other msgs':>12}  target"
    )
    for minutes, limit in DAY_ROWS:
        with tempfile.TemporaryDirectory() as home:
            policy, counts = await simulated_day(
                f"sqlite:///{home}/day.db", Path(home), minutes, limit
            )
        other = counts["batch"] + counts["digest"]
        verdict = ""
        if (minutes, limit) == (None, None):
            ok = other <= TARGET_MESSAGES
            failed |= not ok
            verdict = f"{'PASS' if ok else 'FAIL'} <= {TARGET_MESSAGES} (defaults)"
        print(
            f"{policy.batch_minutes:<15}{policy.batch_limit:<13}{counts['card']:>15}"
            f"{counts['batch']:>9}{counts['digest']:>9}{other:>12}  {verdict}"
        )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
