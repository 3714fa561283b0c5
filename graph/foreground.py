"""Interactive work first: background resumes wait for a pause in button presses.

Everything runs on one event loop, which has no priorities. A press is answered, decided
and shown on its card in a few milliseconds, but the resume behind it (the rest of the
workflow: ledger, send, schedule) costs several times that; under a burst of presses the
resumes would take their turns between the presses' steps and every card would wait.
So the run manager's background resumes wait until presses have paused for ``settle``
seconds, but never longer than ``max_defer``: a steady stream of presses delays them, it
cannot starve them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class Foreground:
    """Counts interactive work in flight; lets background work wait for a pause in it."""

    def __init__(self, *, settle: float = 0.05, max_defer: float = 5.0) -> None:
        self._settle = settle
        self._max_defer = max_defer
        self._active = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> None:
        """Interactive work began; call :meth:`leave` when it ends."""
        self._active += 1
        self._quiet.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def leave(self) -> None:
        """Interactive work counted by :meth:`enter` ended."""
        self._active -= 1
        if self._active > 0:
            return
        self._active = 0
        if self._settle <= 0:
            self._quiet.set()
        else:
            self._timer = asyncio.get_running_loop().call_later(self._settle, self._quiet.set)

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark interactive work (a press being handled) for the duration of the block."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def idle(self) -> bool:
        """True when no interactive work is in flight (and the last has settled)."""
        return self._quiet.is_set()

    async def pause(self) -> None:
        """Return once interactive work has paused (or ``max_defer`` seconds have passed)."""
        if self._quiet.is_set():
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self._max_defer)
