"""Digests: content and paging, one catch-up after downtime, once across replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from bot.render.text import render
from bot.runtime import Runtime
from memory.models import Run
from tests.bot.attention.conftest import at, attention, request
from tests.bot.attention.recording import RecordingNotifier


async def test_restart_across_digest_time_sends_one_catch_up(runtime: Runtime) -> None:
    notifier = RecordingNotifier("slack")
    await attention(runtime, notifier).tick(at("2026-11-21T08:00:00"))
    assert len(notifier.of("digest")) == 1
    # Down from Saturday evening until Tuesday 11:00: three digest times were missed.
    after = attention(runtime, notifier, instance="restarted")
    for minute in range(3):
        await after.tick(at("2026-11-24T11:00:00") + timedelta(minutes=minute))
    digests = notifier.of("digest")
    assert len(digests) == 2
    catch_up = digests[1].view
    assert catch_up.period_start == at("2026-11-21T08:00:00")  # type: ignore[attr-defined]
    assert catch_up.period_end == at("2026-11-24T11:00:00")  # type: ignore[attr-defined]


async def test_fresh_install_does_not_open_with_a_digest(runtime: Runtime) -> None:
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(at("2026-11-21T15:00:00"))
    assert notifier.of("digest") == []
    await attention(runtime, notifier).tick(at("2026-11-22T08:00:30"))
    assert len(notifier.of("digest")) == 1


async def test_two_replicas_fire_each_job_once(runtime: Runtime) -> None:
    first, second = RecordingNotifier("telegram"), RecordingNotifier("telegram")
    a = attention(runtime, first, instance="replica-a")
    b = attention(runtime, second, instance="replica-b")
    arrived: dict[int, list[str]] = {}
    for hour in range(7, 13):
        arrived[hour] = [await request(runtime, "low"), await request(runtime, "medium")]
        now = at(f"2026-11-21T{hour:02d}:00:00")
        first.now = second.now = now
        await asyncio.gather(a.tick(now), b.tick(now), a.tick(now), b.tick(now))
    sent = first.sent + second.sent
    digests = [s for s in sent if s.kind == "digest"]
    assert [d.at for d in digests] == [at("2026-11-21T08:00:00")]
    # 07:00 spends the last of the previous day's budget; 08:00 is the digest's window;
    # 09:00 and 10:00 spend today's two batches between them, whichever replica sent them.
    batches = sorted((s for s in sent if s.kind == "batch"), key=lambda s: s.at)
    assert [s.at.hour for s in batches] == [7, 9, 10]
    assert sorted(i for s in batches for i in s.ids) == sorted(
        set(i for s in batches for i in s.ids)
    )
    assert set(batches[0].ids) == set(arrived[7])
    # The 08:00 requests were shown in the digest; 11:00 and 12:00 wait for the next one.
    assert set(batches[1].ids) == set(arrived[9])
    waiting = {i for hour in (11, 12) for i in arrived[hour]}
    assert not waiting & {i for s in batches for i in s.ids}
    assert waiting <= {a.id for a in await runtime.manager.pending()}


async def test_empty_day_says_so_in_one_line(runtime: Runtime) -> None:
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(at("2026-11-21T08:00:00"))
    text = render(notifier.of("digest")[0].view)  # type: ignore[arg-type]
    assert "\n" not in text and "quiet day" in text


async def test_digest_lists_exceptions_first_and_pages(runtime: Runtime) -> None:
    ids = [await request(runtime, ("low", "high")[i % 2], title=f"R{i}") for i in range(30)]
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Run)
            .where(Run.id.in_([r for r in [await _run_of(runtime, ids[0])]]))
            .values(status="failed", detail="SMTP refused", updated_at=at("2026-11-21T07:30:00"))
        )
    notifier = RecordingNotifier("telegram")
    await attention(runtime, notifier).tick(at("2026-11-21T08:00:00"))
    view = notifier.of("digest")[0].view
    assert view.failed_total == 1 and view.waiting_total == 30  # type: ignore[attr-defined]
    assert len(view.waiting) == 25  # type: ignore[attr-defined]
    text = render(view)  # type: ignore[arg-type]
    assert text.index("Needs attention") < text.index("Waiting for you")
    assert "and 5 more: /pending" in text and "/approvelow digest:2026-11-21" in text


async def _run_of(runtime: Runtime, approval_id: str) -> str:
    return (await runtime.manager.get_approval(approval_id)).run_id
