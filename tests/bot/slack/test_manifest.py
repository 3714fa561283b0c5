"""The Slack app manifest: valid, shown whole in the guide, and matching what the app handles."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.commands import SLASH_COMMAND
from tests.bot.slack.harness import MakeSettings, open_slack, slack_settings
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "slack-manifest.yml"


def test_the_guide_shows_the_manifest_as_it_is() -> None:
    guide = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    assert f"```yaml\n{MANIFEST.read_text(encoding='utf-8')}```" in guide


async def test_the_manifest_subscribes_to_what_the_app_handles(
    make_settings: MakeSettings, fake: FakeSlack, sqlite_url: str
) -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert manifest["features"]["app_home"]["home_tab_enabled"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert events == {"app_home_opened", "app_mention", "message.im"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update/postEphemeral, conversations.open (DMs), users.info, events.
    assert scopes == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
        "im:write",
        "users:read",
    }
    async with open_slack(slack_settings(make_settings, fake, sqlite_url), fake) as slack:
        # Every event in the manifest reaches a handler (Bolt answers 404 otherwise).
        for event in (
            {"type": "app_home_opened", "user": "U0USER", "tab": "home"},
            {
                "type": "app_mention",
                "user": "U0USER",
                "channel": "C0OPS",
                "text": "hi",
                "ts": "1.1",
            },
            {
                "type": "message",
                "channel_type": "im",
                "user": "U0USER",
                "channel": "D0A",
                "text": "x",
            },
        ):
            assert (await slack.event(event)).status == 200
