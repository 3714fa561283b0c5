"""First answers first: decisions wait for unanswered presses, but never for long."""

from __future__ import annotations

import asyncio
import time

from bot.core.intake import Intake


async def test_clear_returns_at_once_when_every_press_is_answered() -> None:
    intake = Intake(max_wait=5)
    with intake.answering():
        pass
    began = time.monotonic()
    await intake.clear()
    assert time.monotonic() - began < 0.05


async def test_a_decision_waits_for_the_presses_still_unanswered() -> None:
    intake = Intake(max_wait=5)
    intake.arrived()
    intake.arrived()
    waiting = asyncio.create_task(intake.clear())
    await asyncio.sleep(0.02)
    intake.answered()
    await asyncio.sleep(0.02)
    assert not waiting.done()  # one is still unanswered
    intake.answered()
    await asyncio.wait_for(waiting, 1)


async def test_presses_cannot_hold_a_decision_up_for_longer_than_max_wait() -> None:
    intake = Intake(max_wait=0.05)
    intake.arrived()  # never answered
    began = time.monotonic()
    await intake.clear()
    assert 0.04 <= time.monotonic() - began < 1.0
