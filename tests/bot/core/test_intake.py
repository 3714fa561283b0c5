"""First answers first: decisions wait for unanswered presses, but never for long."""

from __future__ import annotations

import asyncio
import time

from bot.core.intake import new_intake
from graph.foreground import Foreground


async def test_clear_returns_at_once_when_every_press_is_answered() -> None:
    intake = Foreground(settle=0.0, max_defer=5)
    with intake.busy():
        pass
    began = time.monotonic()
    await intake.pause()
    assert time.monotonic() - began < 0.05


async def test_a_decision_waits_for_the_presses_still_unanswered() -> None:
    intake = Foreground(settle=0.0, max_defer=5)
    intake.enter()
    intake.enter()
    waiting = asyncio.create_task(intake.pause())
    await asyncio.sleep(0.02)
    intake.leave()
    await asyncio.sleep(0.02)
    assert not waiting.done()  # one is still unanswered
    intake.leave()
    await asyncio.wait_for(waiting, 1)


async def test_presses_cannot_hold_a_decision_up_for_longer_than_max_wait() -> None:
    intake = new_intake()  # at most 0.05 s
    intake.enter()  # never answered
    began = time.monotonic()
    await intake.pause()
    assert 0.04 <= time.monotonic() - began < 1.0
