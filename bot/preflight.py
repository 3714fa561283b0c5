"""What ``deskhand run`` refuses before it starts, and what ``deskhand doctor`` reports.

Settings that load can still be unusable: a Telegram token that is not a token, Slack
without a way to receive events, a SQLite file in a folder that does not exist. These
checks need no network; :func:`problems` lists them and :func:`require` turns them into
one :class:`~bot.settings.SettingsError` (exit 3). ``run`` and ``doctor`` both call this
module, so ``doctor`` says "ok" only when ``run`` would start. Messages name the setting
and never quote a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings, SettingsError

# The bot id, a colon, then the secret part (35 characters from @BotFather; looser here
# so local Bot API servers and test tokens pass).
TELEGRAM_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,}")
SLACK_BOT_PREFIX, SLACK_APP_PREFIX = "xoxb-", "xapp-"


@dataclass(frozen=True)
class Problem:
    """One reason ``run`` would refuse to start: the area and what to fix."""

    area: str  # "telegram", "slack" or "database"
    message: str


def problems(settings: Settings, *, channels: bool = True) -> list[Problem]:
    """Every reason these settings cannot start Deskhand; empty when they can.

    Args:
        settings: the loaded settings.
        channels: include the Telegram and Slack checks (only ``run`` and ``chat``
            start the channels).

    Returns:
        The problems found, database first.
    """
    found = database_problems(settings)
    if channels:
        found += telegram_problems(settings) + slack_problems(settings)
    return found


def require(settings: Settings, *, channels: bool = True) -> None:
    """Refuse settings that cannot start.

    Raises:
        SettingsError: one line per problem, each saying what to fix.
    """
    found = problems(settings, channels=channels)
    if found:
        raise SettingsError("Configuration problems:\n  " + "\n  ".join(p.message for p in found))


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file the database URL names; None for PostgreSQL or an in-memory one."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def database_problems(settings: Settings) -> list[Problem]:
    """A SQLite path that cannot hold a database file."""
    path = sqlite_path(settings)
    if path is None:
        return []
    folder = path.parent.resolve()
    if not folder.is_dir():
        return [
            Problem(
                "database",
                f"SQLite file {path}: the folder {folder} does not exist; "
                "create it or set DATABASE_URL",
            )
        ]
    if path.is_dir():
        return [
            Problem(
                "database",
                f"SQLite file {path} is a folder; set DATABASE_URL to a file such as "
                f"sqlite:///{path / 'deskhand.db'}",
            )
        ]
    return []


def telegram_problems(settings: Settings) -> list[Problem]:
    """A Telegram token that cannot be one."""
    token = _value(settings.telegram_bot_token)
    if token is None or TELEGRAM_TOKEN.fullmatch(token):
        return []
    return [
        Problem(
            "telegram",
            "TELEGRAM_BOT_TOKEN is not a bot token (digits, a colon, then about 35 letters, "
            "digits, - and _); copy it from @BotFather (/mybots, API Token), "
            "or unset it to run without Telegram",
        )
    ]


def slack_problems(settings: Settings) -> list[Problem]:
    """Slack tokens of the wrong kind, or no way to receive Slack's events."""
    bot = _value(settings.slack_bot_token)
    if settings.slack_bot_token is None:
        return []
    found = []
    if bot is None or not bot.startswith(SLACK_BOT_PREFIX):
        found.append(
            Problem(
                "slack",
                f"SLACK_BOT_TOKEN is not a bot token (it starts with {SLACK_BOT_PREFIX}); copy "
                "the Bot User OAuth Token from OAuth & Permissions, or unset it to run "
                "without Slack",
            )
        )
    app = _value(settings.slack_app_token)
    if app is not None and not app.startswith(SLACK_APP_PREFIX):
        found.append(
            Problem(
                "slack",
                f"SLACK_APP_TOKEN is not an app-level token (it starts with "
                f"{SLACK_APP_PREFIX}); create one under Basic Information, App-Level Tokens, "
                "with the connections:write scope",
            )
        )
    if app is None and _value(settings.slack_signing_secret) is None:
        found.append(Problem("slack", SLACK_NEEDS_EVENTS))
    return found


SLACK_NEEDS_EVENTS = (
    "Slack needs SLACK_APP_TOKEN (Socket Mode, easiest) or SLACK_SIGNING_SECRET "
    "(HTTP mode); see docs/slack.md"
)


def _value(secret: SecretStr | None) -> str | None:
    """A secret's value with blanks as unset (an empty line in .env means "not set")."""
    text = secret.get_secret_value().strip() if secret is not None else ""
    return text or None
