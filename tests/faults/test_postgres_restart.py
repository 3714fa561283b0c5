"""PostgreSQL restarted under the bot: no tap lost, no email lost or sent twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.core.messages import ButtonAction, Inbound
from bot.runtime import Runtime
from tests.fakes.smtp import SmtpSink
from tests.faults.conftest import RestartablePostgres
from tests.fixtures.runtime import OPERATOR, card_of, say

OpenRuntime = Callable[..., AbstractAsyncContextManager[Runtime]]


def onboard(number: int) -> str:
    return f'/run onboarding name="Client {number}" email=c{number}@example.com'


async def settled(rt: Runtime, run_ids: list[str], *, within: float = 60.0) -> dict[str, str]:
    """Wait until every run has finished; return each run's status and outcome."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        runs = {r.id: r for r in await rt.manager.list_runs(limit=100)}
        states = {i: f"{runs[i].status}:{runs[i].outcome}" for i in run_ids}
        if all(not s.startswith(("running", "waiting")) for s in states.values()):
            return states
        assert loop.time() < deadline, states
        await asyncio.sleep(0.2)


async def test_restart_between_card_and_tap(
    restartable_pg: RestartablePostgres, runtime_on: OpenRuntime, smtp_sink: SmtpSink
) -> None:
    """The bot idles with a card out; PostgreSQL restarts; the tap works, one email."""
    async with runtime_on(restartable_pg.url) as rt:
        card = card_of(await say(rt, onboard(1))).approval
        await asyncio.to_thread(restartable_pg.restart)

        tapped = await rt.core.handle(Inbound(OPERATOR, action=ButtonAction("approve", card.id)))
        assert not tapped.refused and tapped.error_ref is None, tapped.replies
        assert await settled(rt, [card.run_id]) == {card.run_id: "completed:sent"}
    assert [m["To"] for m in smtp_sink.messages] == ["c1@example.com"]


async def test_restart_under_a_busy_bot(
    restartable_pg: RestartablePostgres, runtime_on: OpenRuntime, smtp_sink: SmtpSink
) -> None:
    """PostgreSQL restarts while resumes are sending, then stays down a while under taps
    and a new run: each run ends, each email leaves once, nothing stays "running"."""
    async with runtime_on(restartable_pg.url) as rt:
        cards = [card_of(await say(rt, onboard(n))).approval for n in range(5)]
        restarted = threading.Event()

        def restart_during_first_send(_message: object) -> None:
            # Runs on the SMTP server's thread after the message arrived and before the
            # 250 reply: the sender's next step finds every connection cut.
            if not restarted.is_set():
                restarted.set()
                restartable_pg.restart()

        smtp_sink.on_message = restart_during_first_send
        await asyncio.gather(*(tap(rt, c.id) for c in cards[:4]))
        run_ids = [c.run_id for c in cards[:4]]
        assert set((await settled(rt, run_ids)).values()) == {"completed:sent"}
        assert restarted.is_set()

        # Down for a while: a tap and a /run made meanwhile go through once it is back.
        await asyncio.to_thread(restartable_pg.stop)
        during = asyncio.gather(tap(rt, cards[4].id), say(rt, onboard(5)))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(restartable_pg.start)
        _, started = await during
        assert started.error_ref is None, started.replies
        late = card_of(started).approval
        await tap(rt, late.id)
        run_ids += [cards[4].run_id, late.run_id]
        assert set((await settled(rt, run_ids)).values()) == {"completed:sent"}

    sent = sorted(m["To"] for m in smtp_sink.messages)
    assert sent == sorted(f"c{n}@example.com" for n in range(6))


async def tap(rt: Runtime, approval_id: str) -> None:
    """Approve as the operator would, by button; the tap must be accepted."""
    response = await rt.core.handle(Inbound(OPERATOR, action=ButtonAction("approve", approval_id)))
    assert not response.refused and response.error_ref is None, response.replies
