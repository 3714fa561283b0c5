"""A simulated day of 50 requests: high risk at once, the rest batched, one digest."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.core.delivery import Dispatcher
from bot.runtime import Runtime
from tests.bot.attention.conftest import POLICY, at, attention, request
from tests.bot.attention.recording import RecordingNotifier


async def test_a_day_of_fifty_requests(runtime: Runtime) -> None:
    rng = random.Random(7)
    start = at("2026-11-21T09:30:00")
    # 50 requests spread over 24 hours, some inside quiet hours (22:00-07:00).
    plan = sorted(
        (
            start + timedelta(minutes=rng.randrange(1, 22 * 60)),
            ("high", "medium", "low", "low", "medium")[i % 5],
        )
        for i in range(50)
    )
    notifier = RecordingNotifier("telegram")
    immediate = Dispatcher(sessions=runtime.sessions, notifiers=[notifier], risks=("high",))
    service = attention(runtime, notifier)
    created: dict[str, tuple[object, str]] = {}

    # Nothing happens between arrivals, window starts and digest time, so the clock jumps
    # from one such moment to the next (as a minute-by-minute loop would, only faster).
    moments = {when for when, _ in plan} | {at("2026-11-22T08:00:00"), at("2026-11-22T08:05:00")}
    moments |= {start + timedelta(minutes=30 + 60 * h) for h in range(24)}
    for now in sorted(m for m in moments if m >= start):
        notifier.now = now
        while plan and plan[0][0] <= now:
            when, risk = plan.pop(0)
            created[await request(runtime, risk)] = (when, risk)
        await immediate.tick()
        await service.tick(now)

    cards, batches, digests = notifier.of("card"), notifier.of("batch"), notifier.of("digest")
    high = {i for i, (_, risk) in created.items() if risk == "high"}
    held = {i for i, (_, risk) in created.items() if risk != "high"}
    # High risk: every one at once, in the minute it arrived, quiet hours or not.
    assert {c.ids[0] for c in cards} == high
    for card in cards:
        assert card.at == created[card.ids[0]][0].replace(second=0)  # type: ignore[attr-defined]
    # The rest: each in exactly one batch, sent at the start of a window, never when quiet.
    batched = [i for b in batches for i in b.ids]
    assert sorted(batched) == sorted(held)
    for batch in batches:
        assert batch.at == POLICY.batch_window(batch.at) and not POLICY.is_quiet(batch.at)
        for approval_id in batch.ids:
            assert created[approval_id][0] <= batch.at  # type: ignore[operator]
    windows = [POLICY.batch_window(b.at) for b in batches]
    assert len(windows) == len(set(windows))  # at most one batch per window
    assert not any(POLICY.is_quiet(c.at) for c in notifier.sent if c.kind != "card")
    # One digest, at 08:00 the next morning, listing what still waits.
    assert [d.at for d in digests] == [at("2026-11-22T08:00:00")]
    assert set(digests[0].ids) <= high | held
