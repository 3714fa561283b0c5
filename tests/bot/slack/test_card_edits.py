"""A clicked card and the dispatcher: each state shown once, never back from the outcome.

The click's handler shows the decision, then the run's outcome; a dispatcher pass that
comes meanwhile sees the card behind and wants to show the outcome too. Both claim a state
before editing (``bot.core.delivery.edit_card``), so whoever claims it first edits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.core.delivery import Dispatcher
from memory.runs import FINISHED
from tests.bot.slack.harness import SENT, SlackHarness, blocks_text, card_text
from tests.fakes.smtp import SmtpSink
from tests.fixtures.serve_child import shown_state

pytestmark = pytest.mark.timeout(30)

APPROVE = "deskhand.approve"
DECIDED = "Approved by user-u0user at "


async def _until(ready: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(250):
        if await ready():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited in vain for {what}")


async def test_a_pass_during_a_clicks_edits_leaves_the_card_on_the_outcome(
    slack: SlackHarness, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    fake = slack.fake
    dispatcher = Dispatcher(
        sessions=slack.runtime.sessions,
        manager=slack.runtime.manager,
        notifiers=[slack.channel.notifier],
    )
    approval_id, ts = await slack.new_card()
    await dispatcher.tick()  # nothing to do yet: the card was recorded when it was posted

    async def stalled() -> bool:
        return fake.stalled("chat.update") == 1

    async def finished() -> bool:
        pair = await slack.runtime.manager.with_run(approval_id)
        return pair is not None and pair[1].status in FINISHED

    # The decision's update is slow to reach Slack; the run finishes meanwhile, and a
    # dispatcher pass finds the card behind its outcome.
    released = fake.stall_next("chat.update")
    await slack.click(APPROVE, approval_id, ts)
    await _until(stalled, "the decision's update")
    assert await asyncio.to_thread(smtp_sink.wait_for, 1)
    await _until(finished, "the run to finish")
    passing = asyncio.create_task(dispatcher.tick())
    await asyncio.sleep(0.2)
    released.set()
    await asyncio.wait_for(passing, 5)
    await slack.outcome_of(ts)
    await asyncio.sleep(0.3)  # a third update, if one is coming, is made by now
    assert await dispatcher.tick() == 0

    updates = [blocks_text(c) for c in fake.calls_to("chat.update") if c.params["ts"] == ts]
    assert len(updates) == 2  # each state once
    assert DECIDED in updates[0] and SENT not in updates[0]
    assert DECIDED in updates[1] and SENT in updates[1]
    assert SENT in card_text(fake, ts)  # the decision's late update did not land over it
    assert await shown_state(sqlite_url) == "approved+run"
