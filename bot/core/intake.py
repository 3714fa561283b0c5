"""First answers first: a decision waits (briefly) while presses are still unanswered.

A chat platform wants each press acknowledged quickly (Slack's HTTP ack, Telegram's
``answerCallbackQuery``); the decision behind it can take a little longer. Everything runs
on one event loop, which serves ready work in arrival order, so in a burst the decisions
of earlier presses sit between a new press and its acknowledgement. Measured with 20
clicks in flight (``bench/slack_clicks.py``, 2026-11-21): ack p99 69 ms with decisions
admitted as they came, 29 ms when each waits for the unanswered presses ahead of it, while
the card's update went from 78 to 71 ms.

It is the run manager's :class:`~graph.foreground.Foreground` one level up: a press counts
as busy from its arrival to its acknowledgement (``enter``/``leave``, or ``busy()``), and a
decision calls ``pause()`` first; no settle time, and at most ``MAX_WAIT`` seconds, so
presses cannot starve decisions.
"""

from __future__ import annotations

from graph.foreground import Foreground

MAX_WAIT = 0.05  # seconds a decision may wait for the presses ahead of it


def new_intake() -> Foreground:
    """Presses waiting for their acknowledgement; decisions ``pause()`` for them."""
    return Foreground(settle=0.0, max_defer=MAX_WAIT)
