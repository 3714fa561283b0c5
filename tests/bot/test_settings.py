"""Settings: defaults, normalisation, and one readable message per problem."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.attention.policy import AttentionPolicy, QuietHours
from bot.settings import Settings, SettingsError, load_settings


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = make(DESKHAND_HOME=str(tmp_path))
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    assert settings.timezone == "UTC" and not settings.llm_configured
    assert settings.smtp_url is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////var/lib/deskhand.db", "sqlite+aiosqlite:////var/lib/deskhand.db"),
        ("postgres://u:p@db/deskhand", "postgresql+psycopg://u:p@db/deskhand"),
        ("postgresql://u:p@db:5433/deskhand", "postgresql+psycopg://u:p@db:5433/deskhand"),
        ("postgresql+psycopg://u@db/d", "postgresql+psycopg://u@db/d"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert make(DATABASE_URL=given).sqlalchemy_url == expected


def test_lists_and_secrets(tmp_path: Path) -> None:
    settings = make(
        TELEGRAM_ALLOWED_USERS="12, 34;56",
        SLACK_ALLOWED_USERS="U1,U2",
        DESKHAND_SMTP_URL="smtp://ana:s3cret-pw@mail.example.com:587",
        TELEGRAM_BOT_TOKEN="123:abcdef",
    )
    assert settings.telegram_allowed_users == [12, 34, 56]
    assert settings.slack_allowed_users == ["U1", "U2"]
    assert "s3cret-pw" in settings.secrets() and "123:abcdef" in settings.secrets()
    assert "s3cret-pw" not in repr(settings) and "abcdef" not in repr(settings)


def test_every_problem_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKHAND_TIMEZONE", "Mars/Base")
    monkeypatch.setenv("DATABASE_URL", "mysql://x/y")
    monkeypatch.setenv("DESKHAND_SMTP_URL", "http://mail")
    monkeypatch.setenv("TELEGRAM_ALLOWED_USERS", "12,ana")
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:11434")
    with pytest.raises(SettingsError) as err:
        load_settings()
    text = str(err.value)
    for name in (
        "DESKHAND_TIMEZONE",
        "DATABASE_URL",
        "DESKHAND_SMTP_URL",
        "TELEGRAM_ALLOWED_USERS",
        "OPENAI_BASE_URL",
    ):
        assert name in text
    assert "Europe/Berlin" in text and "smtp://" in text


def test_placeholders_refused_in_production() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN is a placeholder"):
        make(DESKHAND_ENV="production", TELEGRAM_BOT_TOKEN="changeme")
    assert make(TELEGRAM_BOT_TOKEN="changeme").telegram_bot_token is not None


def test_attention_settings_make_the_policy() -> None:
    # The defaults of the settings and of the policy are the same budget.
    assert make().attention_policy() == AttentionPolicy(zone=ZoneInfo("UTC"))
    assert make().batch_limit == 2
    policy = make(
        DESKHAND_TIMEZONE="Europe/Berlin",
        DESKHAND_BATCH_MINUTES="30",
        DESKHAND_BATCH_LIMIT="0",
        DESKHAND_DIGEST_TIME="07:30",
        DESKHAND_QUIET_HOURS="22:00-07:00",
    ).attention_policy()
    assert policy == AttentionPolicy(
        zone=ZoneInfo("Europe/Berlin"),
        batch_minutes=30,
        digest_at=time(7, 30),
        quiet=QuietHours.parse("22:00-07:00"),
        batch_limit=0,
    )
    assert make(DESKHAND_BATCH_LIMIT=" 12 ").batch_limit == 12


@pytest.mark.parametrize("bad", ["-1", "2.5", "two", "", "true"])
def test_batch_limit_must_be_a_whole_number(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bad: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKHAND_BATCH_LIMIT", bad)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value) == (
        "Configuration problems:\n  DESKHAND_BATCH_LIMIT: must be a whole number of batch "
        f"messages a day, 0 or more (got {bad!r}), e.g. 2; 0 turns batches off: all but "
        "high-risk requests wait for the digest"
    )


@pytest.mark.parametrize("secret", [None, "", "   ", "has space", "x" * 257, "naïve"])
def test_webhook_mode_needs_a_usable_secret(secret: str | None) -> None:
    values = {"DESKHAND_TELEGRAM_WEBHOOK_URL": "https://bot.example.com/tg"}
    if secret is not None:
        values["DESKHAND_TELEGRAM_WEBHOOK_SECRET"] = secret
    with pytest.raises(ValueError, match="DESKHAND_TELEGRAM_WEBHOOK_SECRET"):
        make(**values)
    ok = make(**{**values, "DESKHAND_TELEGRAM_WEBHOOK_SECRET": "s3cret-Token_1"})
    assert ok.telegram_webhook_secret is not None
