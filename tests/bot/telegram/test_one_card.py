"""One card per approval per chat: a /run's reply and the dispatcher never both post it."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.core.delivery import Dispatcher
from tests.bot.telegram.conftest import ANA, Running, buttons, has_keyboard
from tests.fixtures.runtime import ONBOARD

pytestmark = pytest.mark.timeout(60)

RUNS = 100


async def test_run_in_the_operators_chat_posts_one_card_per_approval(bot: Running) -> None:
    # As `deskhand run` wires it: every change pokes the dispatcher, whose default
    # destination is Ana's private chat, the chat she types /run in.
    dispatcher = Dispatcher(
        sessions=bot.runtime.sessions, manager=bot.runtime.manager, notifiers=[bot.channel.notifier]
    )
    bot.runtime.core.on_change(dispatcher.poke)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        for _ in range(RUNS):
            bot.fake.send_text(ANA, ONBOARD)
        await bot.fake.wait_for("sendMessage", count=RUNS, predicate=has_keyboard, timeout=45)
        await asyncio.sleep(0.5)  # a second card, if one is coming, is posted by now
        await dispatcher.tick()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    cards = Counter(buttons(m)["\u2705 Approve"] for m in bot.fake.sent_messages(ANA) if buttons(m))
    twice = sorted(a for a, n in cards.items() if n > 1)
    assert len(cards) == RUNS and twice == [], f"{len(twice)} of {RUNS} posted twice"
