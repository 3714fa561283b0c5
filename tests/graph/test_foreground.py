"""Background resumes wait for a pause in presses, but a steady stream cannot starve them."""

from __future__ import annotations

import asyncio
import time

from graph.foreground import Foreground


async def test_pause_returns_at_once_when_nothing_is_pressed() -> None:
    began = time.monotonic()
    await Foreground(settle=0.5, max_defer=5).pause()
    assert time.monotonic() - began < 0.1


async def test_pause_waits_for_presses_to_stop_then_settle() -> None:
    foreground = Foreground(settle=0.1, max_defer=5)
    waited = asyncio.Event()

    async def background() -> float:
        await foreground.pause()
        waited.set()
        return time.monotonic()

    with foreground.busy():
        task = asyncio.create_task(background())
        await asyncio.sleep(0.2)
        assert not waited.is_set()  # still pressing
    released = time.monotonic()
    resumed = await task
    assert 0.08 <= resumed - released < 0.5  # after the settle time, not before


async def test_a_press_during_the_settle_time_keeps_background_waiting() -> None:
    foreground = Foreground(settle=0.15, max_defer=5)
    with foreground.busy():
        pass
    task = asyncio.create_task(foreground.pause())
    await asyncio.sleep(0.05)
    with foreground.busy():
        await asyncio.sleep(0.2)
        assert not task.done()
    await asyncio.wait_for(task, 1)


async def test_a_steady_stream_of_presses_delays_but_cannot_starve() -> None:
    foreground = Foreground(settle=0.05, max_defer=0.3)
    stop = asyncio.Event()

    async def presses() -> None:
        while not stop.is_set():
            with foreground.busy():
                await asyncio.sleep(0.01)

    pressing = asyncio.create_task(presses())
    await asyncio.sleep(0.02)
    began = time.monotonic()
    await foreground.pause()
    waited = time.monotonic() - began
    stop.set()
    await pressing
    assert 0.25 <= waited < 1.0
