"""Deskhand's settings: one class, read from the environment once at start-up.

Ecosystem names where they exist (``DATABASE_URL``, ``TELEGRAM_BOT_TOKEN``,
``SLACK_BOT_TOKEN``, ``OPENAI_API_KEY``...), ``DESKHAND_*`` for our own. Build it with
:func:`load_settings`, which turns validation errors into one readable message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.attention.policy import AttentionPolicy, QuietHours, parse_clock

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
PLACEHOLDERS = frozenset({"changeme", "change-me", "xxx", "secret", "token", "your-token", "todo"})


class SettingsError(Exception):
    """The configuration is wrong; the message lists every problem and how to fix it."""


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything Deskhand reads from the environment (or a ``.env`` file)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path("~/.deskhand"), alias="DESKHAND_HOME")
    env: Literal["development", "production"] = Field("development", alias="DESKHAND_ENV")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    timezone: str = Field("UTC", alias="DESKHAND_TIMEZONE")
    log_level: str = Field("INFO", alias="DESKHAND_LOG_LEVEL")
    operator_name: str = Field("Your Deskhand", alias="DESKHAND_OPERATOR_NAME")
    max_input_chars: int = Field(4000, ge=100, le=100_000, alias="DESKHAND_MAX_INPUT_CHARS")

    digest_time: str = Field("08:00", alias="DESKHAND_DIGEST_TIME")
    batch_minutes: int = Field(60, ge=5, le=24 * 60, alias="DESKHAND_BATCH_MINUTES")
    # The attention budget: batch messages per channel between one digest and the next.
    batch_limit: int = Field(2, alias="DESKHAND_BATCH_LIMIT")
    quiet_hours: str | None = Field(None, alias="DESKHAND_QUIET_HOURS")

    smtp_url: SecretStr | None = Field(None, alias="DESKHAND_SMTP_URL")
    smtp_from: str = Field("deskhand@localhost", alias="DESKHAND_SMTP_FROM")
    # How long an email the mail server could not take is retried before the operator is
    # asked (a one-tap Retry); attempts start seconds apart and grow to a few minutes.
    send_retry_hours: float = Field(24.0, gt=0, le=24 * 14, alias="DESKHAND_SEND_RETRY_HOURS")

    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    llm_model: str = Field("gpt-4o-mini", alias="DESKHAND_LLM_MODEL")

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_chat_id: int | None = Field(None, alias="TELEGRAM_CHAT_ID")
    telegram_webhook_url: str | None = Field(None, alias="DESKHAND_TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(
        None, alias="DESKHAND_TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_webhook_listen: str = Field("0.0.0.0", alias="DESKHAND_TELEGRAM_WEBHOOK_LISTEN")
    telegram_webhook_port: int = Field(8443, ge=1, le=65535, alias="DESKHAND_TELEGRAM_WEBHOOK_PORT")
    telegram_allowed_users: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="TELEGRAM_ALLOWED_USERS"
    )
    # Requests per second to chats, overall (Telegram allows about 30); 0 turns throttling
    # off (a local Bot API server). A 429's retry_after is honoured either way.
    telegram_max_rate: float = Field(30.0, ge=0, le=1000, alias="DESKHAND_TELEGRAM_MAX_RATE")
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_allowed_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SLACK_ALLOWED_USERS"
    )
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_channel: str | None = Field(None, alias="SLACK_CHANNEL")
    http_host: str = Field("0.0.0.0", alias="DESKHAND_HTTP_HOST")
    http_port: int = Field(3000, ge=1, le=65535, alias="DESKHAND_HTTP_PORT")

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("telegram_allowed_users", "slack_allowed_users", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalize_database_url(value.strip())

    @field_validator("digest_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value.strip()

    @field_validator("batch_limit", mode="before")
    @classmethod
    def _budget(cls, value: object) -> object:
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError(
                f"must be a whole number of batch messages a day, 0 or more (got {value!r}), "
                "e.g. 2; 0 turns batches off: all but high-risk requests wait for the digest"
            )
        return int(text)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        QuietHours.parse(value)
        return value.strip()

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _from_address(cls, value: str) -> str:
        if "@" not in value or any(c in value for c in "\r\n"):
            raise ValueError("must be an address such as Ana <ana@example.com>")
        return value

    @field_validator("openai_base_url", "telegram_webhook_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://localhost:11434/v1")
        return value.strip().rstrip("/")

    @field_validator("telegram_api_url", "slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value.strip()

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        # Telegram accepts 1-256 of these; a blank one would quietly mean no check at all.
        secret = self.telegram_webhook_secret
        usable = secret is not None and WEBHOOK_SECRET.fullmatch(secret.get_secret_value())
        if self.telegram_webhook_url and not usable:
            raise ValueError(
                "DESKHAND_TELEGRAM_WEBHOOK_URL needs DESKHAND_TELEGRAM_WEBHOOK_SECRET "
                "(1-256 characters of A-Z, a-z, 0-9, _ and -), so forged updates are refused"
            )
        return self

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if self.env != "production":
            return self
        for name in (
            "telegram_bot_token",
            "slack_bot_token",
            "slack_app_token",
            "slack_signing_secret",
            "openai_api_key",
        ):
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value().strip().lower() in PLACEHOLDERS:
                raise ValueError(f"{name.upper()} is a placeholder; set the real value")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: ``DATABASE_URL`` or a SQLite file in the home folder."""
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'deskhand.db'}"

    def attention_policy(self) -> AttentionPolicy:
        """The batching, quiet-hours and digest policy these settings describe."""
        return AttentionPolicy(
            zone=ZoneInfo(self.timezone),
            batch_minutes=self.batch_minutes,
            digest_at=parse_clock(self.digest_time),
            quiet=QuietHours.parse(self.quiet_hours) if self.quiet_hours else None,
            batch_limit=self.batch_limit,
        )

    @property
    def llm_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint is configured (key or base URL)."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = [
            self.telegram_bot_token,
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.openai_api_key,
            self.telegram_webhook_secret,
        ]
        found = [v.get_secret_value() for v in values if v is not None]
        if self.smtp_url is not None:
            password = urlsplit(self.smtp_url.get_secret_value()).password
            if password:
                found.append(password)
        if self.database_url:
            password = urlsplit(self.database_url).password
            if password:
                found.append(password)
        return [s for s in found if len(s) >= 4]


def normalize_database_url(url: str) -> str:
    """Map plain database URLs to the async drivers Deskhand uses.

    ``sqlite:///path`` → ``sqlite+aiosqlite:///path``; ``postgres://`` and
    ``postgresql://`` → ``postgresql+psycopg://``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("must be a URL such as sqlite:///path/deskhand.db or postgresql://...")
    base = scheme.split("+")[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in {"postgres", "postgresql"}:
        return f"postgresql+psycopg://{rest}"
    raise ValueError(f"scheme {scheme!r} is not supported; use sqlite:/// or postgresql://")


def load_settings() -> Settings:
    """Read settings from the environment and ``.env``; raise SettingsError if wrong.

    Raises:
        SettingsError: one line per problem, naming the variable to fix.
    """
    try:
        return Settings(_env_file=".env")  # type: ignore[call-arg]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            field = Settings.model_fields.get(where)
            name = (field.alias if field and field.alias else where).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("Configuration problems:\n  " + "\n  ".join(lines)) from None
