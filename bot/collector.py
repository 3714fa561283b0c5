"""Full garbage collections when presses pause, not in the middle of a burst of them.

CPython's collector runs a full pass (every tracked object outside the frozen start-up
heap) every tenth pass of its middle generation, wherever the program happens to be. In a
burst of taps that is in the middle of twenty answers: measured with
``bench/telegram_taps.py`` (2026-11-21), one full pass of 21 ms stopped the event loop for
31 ms and made the 12 slowest answers of 500, the answer p99 58 ms against 44 ms for the
taps it did not touch. The young generations cost at most about 1 ms a pass and stay
automatic.

So while :class:`QuietCollector` runs, the full pass is not automatic: every
``check_every`` seconds, once the collector would have been due (as many middle passes as
its own threshold), the full pass runs if no press is being handled, or regardless once
``at_least_every`` seconds have gone by without one, so a steady stream of presses
delays it and cannot stop it (the garbage it holds meanwhile is what that stream
allocates in cycles: bounded by time). The thresholds are restored when it stops.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from contextlib import suppress

from graph.foreground import Foreground

_NEVER = 1_000_000_000  # a full-pass threshold the middle generation never reaches


class QuietCollector:
    """Moves the collector's full passes into pauses between presses."""

    def __init__(
        self,
        foreground: Foreground,
        *,
        check_every: float = 0.5,
        at_least_every: float = 30.0,
        collect: Callable[[int], object] = gc.collect,
    ) -> None:
        self._foreground = foreground
        self._check_every = check_every
        self._at_least_every = at_least_every
        self._collect = collect
        self.passes = 0  # full passes run so far

    async def run(self, stop: asyncio.Event) -> None:
        """Take over the full passes until ``stop`` is set; then hand them back."""
        young, middle, full_after = gc.get_threshold()
        gc.set_threshold(young, middle, _NEVER)
        loop = asyncio.get_running_loop()
        due_since: float | None = None
        try:
            while not stop.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._check_every)
                if gc.get_count()[2] < full_after:
                    continue
                due_since = due_since or loop.time()
                overdue = loop.time() - due_since >= self._at_least_every
                if self._foreground.idle() or overdue:
                    self._collect(2)
                    self.passes += 1
                    due_since = None
        finally:
            gc.set_threshold(young, middle, full_after)
