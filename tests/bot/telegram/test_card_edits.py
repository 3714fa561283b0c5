"""A tapped card and the dispatcher: each state shown once, never back from the outcome.

The tap's handler shows the decision, then the run's outcome; a dispatcher pass that comes
meanwhile sees the card behind and wants to show the outcome too. Both claim a state
before editing (``bot.core.delivery.edit_card``), so whoever claims it first edits.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.core.delivery import Dispatcher
from memory.runs import FINISHED
from tests.bot.telegram.conftest import ANA, Running, data_of, emails, start_onboarding
from tests.fakes.smtp import SmtpSink
from tests.fixtures.serve_child import shown_state

pytestmark = pytest.mark.timeout(30)

DECIDED = "\u2705 <b>Approved by Ana at "
SENT = "completed: Sent to bo@example.com"


async def _finished(bot: Running, approval_id: str) -> None:
    for _ in range(200):
        pair = await bot.runtime.manager.with_run(approval_id)
        if pair is not None and pair[1].status in FINISHED:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the run did not finish")


async def test_a_pass_during_a_taps_edits_leaves_the_card_on_the_outcome(
    bot: Running, smtp_sink: SmtpSink, sqlite_url: str
) -> None:
    fake = bot.fake
    dispatcher = Dispatcher(
        sessions=bot.runtime.sessions, manager=bot.runtime.manager, notifiers=[bot.channel.notifier]
    )
    card = await start_onboarding(fake)
    approval_id = data_of(card, "Approve").removeprefix("a:")
    await dispatcher.tick()  # nothing to do yet: the card was recorded when /run posted it

    # The decision's edit is slow to reach Telegram; the run finishes meanwhile, and a
    # dispatcher pass finds the card behind its outcome.
    released = fake.stall_next("editMessageText")
    fake.tap(ANA, card["message_id"], data_of(card, "Approve"))
    await fake.wait_for("editMessageText")
    assert await emails(smtp_sink, 1)
    await _finished(bot, approval_id)
    passing = asyncio.create_task(dispatcher.tick())
    await asyncio.sleep(0.2)
    released.set()
    await asyncio.wait_for(passing, 5)
    await fake.wait_for("editMessageText", 2)
    await asyncio.sleep(0.3)  # a third edit, if one is coming, is made by now
    assert await dispatcher.tick() == 0

    edits = [c.params["text"] for c in fake.calls_to("editMessageText")]
    assert len(edits) == 2  # each state once
    assert DECIDED in edits[0] and SENT not in edits[0]
    assert DECIDED in edits[1] and SENT in edits[1]
    shown = fake.message(ANA, card["message_id"])["text"]
    assert SENT in shown  # the decision's late edit did not land over the outcome
    assert await shown_state(sqlite_url) == "approved+run"
