"""One card per approval per channel: a /deskhand run's card and the dispatcher's, never both."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.core.delivery import Dispatcher
from tests.bot.slack.harness import (
    ONBOARD_ARGS,
    MakeSettings,
    approval_of,
    open_slack,
    slack_settings,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import CHANNEL_ID

pytestmark = pytest.mark.timeout(60)

RUNS = 100


async def test_run_in_the_default_channel_posts_one_card_per_approval(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    # The channel the command is typed in is where the dispatcher posts too.
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_CHANNEL=CHANNEL_ID)
    async with open_slack(settings, fake) as slack:
        dispatcher = Dispatcher(
            sessions=slack.runtime.sessions,
            manager=slack.runtime.manager,
            notifiers=[slack.channel.notifier],
        )
        slack.runtime.core.on_change(dispatcher.poke)
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            answers = await asyncio.gather(
                *(slack.command(f"run {ONBOARD_ARGS}") for _ in range(RUNS))
            )
            assert {a.status for a in answers} == {200}
            await fake.wait_for("chat.postMessage", RUNS, timeout=45, predicate=_is_card)
            await asyncio.sleep(0.5)  # a second card, if one is coming, is posted by now
            await dispatcher.tick()
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    cards = Counter(approval_of(c) for c in fake.calls_to("chat.postMessage") if _is_card(c))
    twice = sorted(a for a, n in cards.items() if n > 1)
    assert len(cards) == RUNS and twice == [], f"{len(twice)} of {RUNS} posted twice"


def _is_card(call: object) -> bool:
    try:
        approval_of(call)  # type: ignore[arg-type]
    except AssertionError:
        return False
    return True
