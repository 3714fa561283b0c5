"""Full garbage collections wait for a pause in presses; a steady stream only delays them."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from bot.collector import QuietCollector
from graph.foreground import Foreground


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, int, int]]:
    """Every test starts with no full pass due, and leaves the thresholds as they were."""
    before = gc.get_threshold()
    gc.collect()  # the full generation's count starts from zero
    yield before
    gc.set_threshold(*before)


def make_due(full_after: int) -> None:
    """As many middle-generation passes as a full pass waits for (each adds one to it)."""
    for _ in range(full_after + 1):
        gc.collect(1)


class Recorder:
    """Runs the real full pass and remembers each."""

    def __init__(self) -> None:
        self.passes: list[int] = []

    def __call__(self, generation: int) -> int:
        self.passes.append(generation)
        return gc.collect(generation)


async def test_full_passes_wait_while_a_press_is_handled(
    thresholds: tuple[int, int, int],
) -> None:
    foreground, recorder, stop = Foreground(settle=0, max_defer=5), Recorder(), asyncio.Event()
    collector = QuietCollector(foreground, check_every=0.01, at_least_every=30, collect=recorder)
    foreground.enter()
    running = asyncio.create_task(collector.run(stop))
    await asyncio.sleep(0.02)
    young, middle, full = gc.get_threshold()
    assert (young, middle) == thresholds[:2] and full > 10**8  # no automatic full pass

    make_due(thresholds[2])
    await asyncio.sleep(0.1)
    assert recorder.passes == []  # due, but a press is being handled

    foreground.leave()
    await asyncio.sleep(0.1)
    assert recorder.passes == [2]  # the pause came: one full pass, and it is no longer due
    assert collector.passes == 1

    stop.set()
    await asyncio.wait_for(running, 1)
    assert gc.get_threshold() == thresholds  # handed back


async def test_a_steady_stream_of_presses_delays_a_full_pass_but_cannot_stop_it(
    thresholds: tuple[int, int, int],
) -> None:
    foreground, recorder, stop = Foreground(settle=0, max_defer=5), Recorder(), asyncio.Event()
    collector = QuietCollector(foreground, check_every=0.01, at_least_every=0.2, collect=recorder)
    running = asyncio.create_task(collector.run(stop))
    with foreground.busy():
        make_due(thresholds[2])
        await asyncio.sleep(0.1)
        assert recorder.passes == []
        await asyncio.sleep(0.3)
        assert recorder.passes == [2]
    stop.set()
    await asyncio.wait_for(running, 1)


async def test_nothing_is_collected_before_it_is_due() -> None:
    foreground, recorder, stop = Foreground(settle=0, max_defer=5), Recorder(), asyncio.Event()
    collector = QuietCollector(foreground, check_every=0.01, at_least_every=0.01, collect=recorder)
    running = asyncio.create_task(collector.run(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(running, 1)
    assert recorder.passes == []
