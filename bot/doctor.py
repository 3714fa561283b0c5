"""``deskhand doctor``: check settings, database and SMTP, and say what to fix.

The configuration checks are :mod:`bot.preflight`'s, the ones ``deskhand run`` refuses to
start with, so "ok" here means ``run`` starts. Exit codes follow the CLI's: 0 all ok; 3 when
``run`` would refuse the configuration (exit 3 there too); 1 when something else needs
fixing (a database or mail server that does not answer, nobody allowed to use a bot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.smtp import SmtpConfig, probe_smtp
from bot import preflight
from bot.settings import Settings
from memory.db import create_engine
from memory.migrate import status

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG = 0, 1, 3


@dataclass(frozen=True)
class Check:
    """One line of the report; ``refused`` when ``deskhand run`` would not start."""

    name: str
    ok: bool
    message: str
    refused: bool = False


async def checks(settings: Settings) -> list[Check]:
    """Run every check; never raises."""
    refused = preflight.problems(settings)
    areas = {p.area for p in refused}
    results = [Check("settings", True, f"home {settings.home}, time zone {settings.timezone}")]
    results += _refusals(refused, "database") or [await _database(settings)]
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
    results += _refusals(refused, "telegram") + _refusals(refused, "slack")
    results += _channels(settings, skip=areas)
    return results


def _refusals(found: list[preflight.Problem], area: str) -> list[Check]:
    return [Check(p.area, False, p.message, refused=True) for p in found if p.area == area]


async def _database(settings: Settings) -> Check:
    path = preflight.sqlite_path(settings)
    if path is not None and not path.exists():
        # Connecting would create the file: a check should not write.
        return Check("database", True, f"SQLite file {path}, created at the first start")
    url = make_url(settings.sqlalchemy_url)
    shown = f"SQLite file {path}" if path is not None else url.render_as_string(hide_password=True)
    engine = create_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current, head = await status(engine)
    except Exception as exc:
        fix = (
            "Check that the file is a Deskhand database you may read and write, "
            "or set DATABASE_URL."
            if path is not None
            else "Check DATABASE_URL and that the server is running."
        )
        return Check("database", False, f"cannot open {shown}: {type(exc).__name__}. {fix}")
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


def _channels(settings: Settings, *, skip: set[str]) -> list[Check]:
    found = []
    for name, token, allowed in (
        ("telegram", settings.telegram_bot_token, settings.telegram_allowed_users),
        ("slack", settings.slack_bot_token, settings.slack_allowed_users),
    ):
        if token is None or name in skip:
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
            found.append(Check(name, True, f"{_mode(settings, name)}, {len(allowed)} operator(s)"))
    if not found and not skip & {"telegram", "slack"}:
        found.append(
            Check(
                "channels",
                True,
                "terminal only (`deskhand chat`); set "
                "TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN to chat from your phone",
            )
        )
    return found


def _mode(settings: Settings, channel: str) -> str:
    if channel == "telegram":
        hook = settings.telegram_webhook_url
        return f"token set, webhook {hook}" if hook else "token set, long polling"
    if settings.slack_app_token is not None and settings.slack_app_token.get_secret_value():
        return "tokens set, Socket Mode"
    return f"token set, HTTP mode on port {settings.http_port}"


def _safe(message: str, settings: Settings) -> str:
    for secret in settings.secrets():
        message = message.replace(secret, "***")
    return message


async def run_doctor(settings: Settings, *, write: Callable[[str], None]) -> int:
    """Print the report; exit 3 when `run` would refuse, 1 when anything else needs fixing."""
    results = await checks(settings)
    for check in results:
        write(f"{'ok ' if check.ok else 'FIX'}  {check.name:<9} {check.message}")
    if any(c.refused for c in results):
        return EXIT_CONFIG
    return EXIT_OK if all(c.ok for c in results) else EXIT_PROBLEMS
