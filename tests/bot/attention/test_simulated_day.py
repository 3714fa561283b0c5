"""A simulated day of 50 requests under the attention budget.

High risk arrives at once; the rest goes out in at most ``DESKHAND_BATCH_LIMIT`` batches
(one per window, each with everything due), then waits for the one digest; nothing but
high risk during quiet hours. The clock jumps from one arrival, window start or digest
time to the next, as a minute-by-minute loop would, only faster.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from bot.attention.policy import AttentionPolicy, QuietHours
from bot.core.delivery import Dispatcher
from bot.core.views import DigestView
from bot.runtime import Runtime
from memory import approvals
from tests.bot.attention.conftest import at, attention, request
from tests.bot.attention.recording import RecordingNotifier, Sent

QUIET = QuietHours.parse("22:00-07:00")
START = at("2026-11-21T09:30:00")
DIGEST = at("2026-11-22T08:00:00")
RISKS = ("high", "medium", "low", "low", "medium")


def default_policy(runtime: Runtime) -> AttentionPolicy:
    """The policy of the default settings, plus the issue's quiet hours."""
    policy = replace(runtime.settings.attention_policy(), quiet=QUIET)
    assert (policy.batch_minutes, policy.batch_limit, policy.digest_at) == (60, 2, time(8, 0))
    return policy


def plan_of_the_day() -> list[tuple[datetime, str]]:
    """50 requests (10 high) over 22 hours from 09:30, some inside quiet hours."""
    rng = random.Random(7)
    return sorted(
        (START + timedelta(minutes=rng.randrange(1, 22 * 60)), RISKS[i % 5]) for i in range(50)
    )


def moments(plan: Iterable[tuple[datetime, str]]) -> list[datetime]:
    """Every arrival, every window start until the digest, and just after the digest."""
    windows = {START + timedelta(minutes=30 + 60 * h) for h in range(23)}
    return sorted({when for when, _ in plan} | windows | {DIGEST, DIGEST + timedelta(minutes=5)})


@dataclass
class Day:
    """What reached the operator during a simulated day, and when each request arrived."""

    notifier: RecordingNotifier = field(default_factory=lambda: RecordingNotifier("telegram"))
    created: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    clock: datetime = START - timedelta(minutes=1)

    def of(self, kind: str) -> list[Sent]:
        return self.notifier.of(kind)

    def arrived(self, approval_id: str) -> datetime:
        return self.created[approval_id][0]

    @property
    def high(self) -> set[str]:
        return {i for i, (_, risk) in self.created.items() if risk == "high"}

    @property
    def held(self) -> set[str]:
        return {i for i, (_, risk) in self.created.items() if risk != "high"}

    @property
    def held_back(self) -> set[str]:
        """Low and medium requests no batch delivered: the digest's to show."""
        return self.held - {i for batch in self.of("batch") for i in batch.ids}


async def live(
    runtime: Runtime,
    policy: AttentionPolicy,
    day: Day,
    plan: list[tuple[datetime, str]],
    until: datetime,
    *,
    instance: str = "a",
) -> None:
    """Walk the clock up to ``until``: requests arrive, delivery and attention tick, and
    the operator decides whatever a card or a batch showed them."""
    notifier = day.notifier
    immediate = Dispatcher(
        sessions=runtime.sessions, manager=runtime.manager, notifiers=[notifier], risks=("high",)
    )
    service = attention(runtime, notifier, instance=instance, policy=policy)
    for now in moments(plan):
        if not day.clock < now < until:
            continue
        day.clock = notifier.now = now
        while plan and plan[0][0] <= now:
            when, risk = plan.pop(0)
            day.created[await request(runtime, risk)] = (when, risk)
        seen = len(notifier.sent)
        await immediate.tick()
        await service.tick(now)
        shown = [i for s in notifier.sent[seen:] if s.kind in ("card", "batch") for i in s.ids]
        await decide(runtime, shown)


async def decide(runtime: Runtime, ids: Iterable[str]) -> None:
    """Record the operator's decisions (no workflow runs behind these test requests)."""
    async with runtime.sessions.begin() as session:
        for approval_id in ids:
            await approvals.decide(
                session,
                approval_id=approval_id,
                action="approve",
                actor="test:ana",
                actor_name="Ana",
                payload={},
            )
            await approvals.mark_applied(session, approval_id=approval_id)


def check_day(day: Day, policy: AttentionPolicy) -> None:
    """What must hold whatever the budget."""
    cards, batches, digests = day.of("card"), day.of("batch"), day.of("digest")
    # High risk: every one at once, in the minute it arrived, quiet hours or not.
    assert sorted(c.ids[0] for c in cards) == sorted(day.high)
    assert any(policy.is_quiet(c.at) for c in cards)
    for card in cards:
        assert card.at == day.arrived(card.ids[0])
    # Batches: within the budget, at a window start outside quiet hours, one per window,
    # each with everything that arrived since the one before.
    assert len(batches) <= policy.batch_limit
    assert len({policy.batch_window(b.at) for b in batches}) == len(batches)
    previous = START
    for batch in batches:
        assert batch.at == policy.batch_window(batch.at) and not policy.is_quiet(batch.at)
        due = {i for i in day.held if previous < day.arrived(i) <= batch.at}
        assert due and sorted(batch.ids) == sorted(due)
        previous = batch.at
    # What no batch delivered waits for the digest: exactly one, at 08:00 the next day,
    # and it lists (first page, plus the count for /pending) exactly those requests.
    assert day.held_back == {i for i in day.held if day.arrived(i) > previous}
    assert [d.at for d in digests] == [DIGEST]
    view = digests[0].view
    assert isinstance(view, DigestView)
    assert view.waiting_total == len(day.held_back)
    assert set(digests[0].ids) <= day.held_back
    assert len(digests[0].ids) == min(25, len(day.held_back))
    # Nothing but high risk during quiet hours.
    assert all(s.kind == "card" for s in day.notifier.sent if policy.is_quiet(s.at))


async def test_a_day_of_fifty_requests_at_the_default_budget(runtime: Runtime) -> None:
    policy = default_policy(runtime)
    day = Day()
    await live(runtime, policy, day, plan_of_the_day(), until=DIGEST + timedelta(hours=1))
    check_day(day, policy)
    assert len(day.created) == 50 and len(day.high) == 10
    batches = day.of("batch")
    # The target: high risk at once, and at most three other messages a day.
    assert len(batches) == 2 and len(batches) + len(day.of("digest")) == 3
    # The first request comes at 10:47: the budget goes on the 11:00 and 12:00 windows, and
    # later requests wait for the digest even when the operator is awake and a window opens.
    assert [b.at for b in batches] == [at("2026-11-21T11:00:00"), at("2026-11-21T12:00:00")]
    waited = [day.arrived(i) for i in day.held_back]
    assert any(not policy.is_quiet(when) for when in waited)


async def test_batch_limit_zero_sends_everything_but_high_risk_in_the_digest(
    runtime: Runtime,
) -> None:
    policy = replace(default_policy(runtime), batch_limit=0)
    day = Day()
    await live(runtime, policy, day, plan_of_the_day(), until=DIGEST + timedelta(hours=1))
    check_day(day, policy)
    assert day.of("batch") == [] and day.held_back == day.held and len(day.held) == 40
    assert [s.kind for s in day.notifier.sent] == ["card"] * 10 + ["digest"]


async def test_a_large_batch_limit_batches_every_window(runtime: Runtime) -> None:
    policy = replace(default_policy(runtime), batch_limit=100)
    day = Day()
    await live(runtime, policy, day, plan_of_the_day(), until=DIGEST + timedelta(hours=1))
    check_day(day, policy)
    batches = day.of("batch")
    assert len(batches) > 2
    # Only what arrived after the last window before the digest (07:00) waited for it;
    # the 08:00 window is the digest's own.
    last_window = at("2026-11-22T07:00:00")
    assert batches[-1].at == last_window
    assert day.held_back and all(day.arrived(i) > last_window for i in day.held_back)


async def test_a_restart_mid_day_keeps_the_budget(
    runtime_on: Callable[..., AbstractAsyncContextManager[Runtime]], database_url: str
) -> None:
    plan, day = plan_of_the_day(), Day()
    restart = at("2026-11-21T11:30:00")  # after the first batch, before the second
    async with runtime_on(database_url) as before:
        policy = default_policy(before)
        await live(before, policy, day, plan, until=restart, instance="before")
    assert [b.at for b in day.of("batch")] == [at("2026-11-21T11:00:00")]
    # New runtime, new service objects, same database: one batch left in today's budget.
    async with runtime_on(database_url) as after:
        await live(after, policy, day, plan, until=DIGEST + timedelta(hours=1), instance="after")
    check_day(day, policy)
    assert [b.at for b in day.of("batch")] == [
        at("2026-11-21T11:00:00"),
        at("2026-11-21T12:00:00"),
    ]
