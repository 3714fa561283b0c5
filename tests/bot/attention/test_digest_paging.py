"""Digests of 0, 1, 30 and 500 waiting requests, assembled from the database and rendered
for Slack and Telegram: one message that fits each platform's limits, "N more" beyond."""

from __future__ import annotations

import json

import pytest
from telegram.constants import MessageLimit

from bot.core.messages import Response
from bot.runtime import Runtime
from bot.slack.replies import message
from bot.telegram.render import messages as telegram_messages
from tests.bot.attention.conftest import at, request
from tests.bot.slack.limits import problems

NOW = at("2026-11-21T08:00:00")


@pytest.mark.parametrize("waiting", [0, 1, 30, 500])
async def test_digest_paging_within_platform_limits(runtime: Runtime, waiting: int) -> None:
    for i in range(waiting):
        await request(runtime, ("low", "medium", "high")[i % 3], title=f"Request <{i}> & co")
    view = await runtime.attention.digest(NOW, key="now:paging", record=False)
    assert view is not None and view.waiting_total == waiting
    hidden = waiting - len(view.waiting)

    slack = message([view], now=NOW)
    assert problems({"text": slack.text, "blocks": slack.blocks}) == []
    outgoing = telegram_messages(Response((view,)), now=NOW)
    assert len(outgoing) == 1  # one message, never a flood
    telegram = outgoing[0].html
    assert len(telegram) <= MessageLimit.MAX_TEXT_LENGTH
    if waiting == 0:
        assert "quiet" in telegram.lower()
    else:
        assert "&lt;0&gt; &amp; co" in json.dumps(slack.blocks)  # user text escaped
        assert "&lt;0&gt; &amp; co" in telegram
    if hidden:
        assert f"{hidden} more" in json.dumps(slack.blocks) and f"{hidden} more" in telegram
