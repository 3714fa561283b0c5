"""``deskhand doctor``: check settings, database and SMTP, and say what to fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.smtp import SmtpConfig, probe_smtp
from bot.settings import Settings
from memory.db import create_engine
from memory.migrate import status

EXIT_OK, EXIT_PROBLEMS = 0, 1


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    message: str


async def checks(settings: Settings) -> list[Check]:
    """Run every check; never raises."""
    results = [Check("settings", True, f"home {settings.home}, time zone {settings.timezone}")]
    results.append(await _database(settings))
    results.append(await _smtp(settings))
    results.append(
        Check(
            "drafting",
            True,
            f"LLM {settings.llm_model} at {settings.openai_base_url or 'OpenAI'}"
            if settings.llm_configured
            else "templates (set OPENAI_API_KEY or OPENAI_BASE_URL to draft with an LLM)",
        )
    )
    results += _channels(settings)
    return results


async def _database(settings: Settings) -> Check:
    url = make_url(settings.sqlalchemy_url)
    shown = url.render_as_string(hide_password=True)
    engine = create_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current, head = await status(engine)
    except Exception as exc:
        return Check(
            "database",
            False,
            f"cannot reach {shown}: {type(exc).__name__}. "
            "Check DATABASE_URL and that the server is running.",
        )
    finally:
        await engine.dispose()
    if current != head:
        return Check(
            "database",
            False,
            f"{shown} is at revision {current}, latest is {head}: "
            "run `deskhand migrate` (or just start Deskhand, which migrates).",
        )
    return Check("database", True, f"{shown}, schema up to date ({head})")


async def _smtp(settings: Settings) -> Check:
    if settings.smtp_url is None:
        return Check(
            "email",
            True,
            f"no SMTP configured: emails are written to "
            f"{settings.home / 'outbox'}; set DESKHAND_SMTP_URL to send them",
        )
    config = SmtpConfig.from_url(settings.smtp_url.get_secret_value())
    try:
        detail = await probe_smtp(config)
    except Exception as exc:
        return Check(
            "email",
            False,
            f"cannot use {config.describe()}: {type(exc).__name__}: "
            f"{_safe(str(exc), settings)}. Check DESKHAND_SMTP_URL.",
        )
    return Check("email", True, detail)


def _channels(settings: Settings) -> list[Check]:
    found = []
    for name, token, allowed in (
        ("telegram", settings.telegram_bot_token, settings.telegram_allowed_users),
        ("slack", settings.slack_bot_token, settings.slack_allowed_users),
    ):
        if token is None:
            continue
        if not allowed:
            found.append(
                Check(
                    name,
                    False,
                    f"{name.upper()}_ALLOWED_USERS is empty, so nobody "
                    "may use the bot: add your user id",
                )
            )
        else:
            found.append(Check(name, True, f"token set, {len(allowed)} operator(s)"))
    if not found:
        found.append(
            Check(
                "channels",
                True,
                "terminal only (`deskhand chat`); set "
                "TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN to chat from your phone",
            )
        )
    return found


def _safe(message: str, settings: Settings) -> str:
    for secret in settings.secrets():
        message = message.replace(secret, "***")
    return message


async def run_doctor(settings: Settings, *, write: Callable[[str], None]) -> int:
    """Print the report; exit code 1 when anything needs fixing."""
    results = await checks(settings)
    for check in results:
        write(f"{'ok ' if check.ok else 'FIX'}  {check.name:<9} {check.message}")
    return EXIT_OK if all(c.ok for c in results) else EXIT_PROBLEMS
