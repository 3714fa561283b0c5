"""Fixtures for the Slack front-end tests: the local Slack API and the started channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.slack.harness import MakeSettings, SlackHarness, open_slack, slack_settings
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The local Slack Web API and Socket Mode server."""
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def slack(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> AsyncIterator[SlackHarness]:
    """The Slack channel in HTTP mode on a fresh SQLite database."""
    async with open_slack(slack_settings(make_settings, fake, sqlite_url), fake) as harness:
        yield harness


@pytest.fixture
async def socket_slack(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> AsyncIterator[SlackHarness]:
    """The Slack channel in Socket Mode on a fresh SQLite database."""
    settings = slack_settings(make_settings, fake, sqlite_url, SLACK_APP_TOKEN=fake.app_token)
    async with open_slack(settings, fake) as harness:
        yield harness
