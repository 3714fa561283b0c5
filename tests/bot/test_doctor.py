"""``deskhand doctor``, case by case: a configuration, its exit code, the line saying what to fix.

Doctor runs as a real subprocess. For each configuration it refuses, the validation
``deskhand run`` calls (:func:`bot.preflight.require` after :func:`load_settings`) must
refuse it with the same line; no bot is started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot import preflight
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("DESKHAND_", "TELEGRAM_", "SLACK_", "OPENAI_", "DATABASE_")
TELEGRAM_OK = "123456789:AAH" + "x" * 32
SECRETS = ("xoxb-1-bot-secret", "xapp-1-app-secret", "signing-secret-42", TELEGRAM_OK, "pw-hidden")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Case:
    name: str
    env: dict[str, str]
    code: int
    line: str  # in doctor's output; for a refused case, in run's refusal too
    refused: bool = False
    absent: tuple[str, ...] = field(default=())


CASES = [
    Case("nothing set", {}, 0, "ok   channels  terminal only (`deskhand chat`)"),
    Case(
        "Slack bot token alone",
        {"SLACK_BOT_TOKEN": "xoxb-1-bot-secret", "SLACK_ALLOWED_USERS": "U1"},
        3,
        "FIX  slack     Slack needs SLACK_APP_TOKEN (Socket Mode, easiest) or "
        "SLACK_SIGNING_SECRET (HTTP mode); see docs/slack.md",
        refused=True,
    ),
    Case(
        "Slack bot token and signing secret: HTTP mode",
        {
            "SLACK_BOT_TOKEN": "xoxb-1-bot-secret",
            "SLACK_SIGNING_SECRET": "signing-secret-42",
            "SLACK_ALLOWED_USERS": "U1",
        },
        0,
        "ok   slack     token set, HTTP mode on port 3000, 1 operator(s)",
    ),
    Case(
        "Slack bot and app tokens: Socket Mode",
        {
            "SLACK_BOT_TOKEN": "xoxb-1-bot-secret",
            "SLACK_APP_TOKEN": "xapp-1-app-secret",
            "SLACK_ALLOWED_USERS": "U1",
        },
        0,
        "ok   slack     tokens set, Socket Mode, 1 operator(s)",
    ),
    Case(
        "Slack tokens swapped",
        {
            "SLACK_BOT_TOKEN": "xapp-1-app-secret",
            "SLACK_APP_TOKEN": "xoxb-1-bot-secret",
            "SLACK_ALLOWED_USERS": "U1",
        },
        3,
        "FIX  slack     SLACK_APP_TOKEN is not an app-level token (it starts with xapp-)",
        refused=True,
    ),
    Case(
        "Telegram token abc",
        {"TELEGRAM_BOT_TOKEN": "abc", "TELEGRAM_ALLOWED_USERS": "42"},
        3,
        "FIX  telegram  TELEGRAM_BOT_TOKEN is not a bot token (digits, a colon, then about 35 "
        "letters, digits, - and _); copy it from @BotFather (/mybots, API Token), "
        "or unset it to run without Telegram",
        refused=True,
        absent=("ok   telegram", "ok   channels"),
    ),
    Case(
        "Telegram token of the right shape",
        {"TELEGRAM_BOT_TOKEN": TELEGRAM_OK, "TELEGRAM_ALLOWED_USERS": "42"},
        0,
        "ok   telegram  token set, long polling, 1 operator(s)",
    ),
    Case(
        "Telegram token with nobody allowed",
        {"TELEGRAM_BOT_TOKEN": TELEGRAM_OK},
        1,
        "FIX  telegram  TELEGRAM_ALLOWED_USERS is empty, so nobody may use the bot",
    ),
    Case(
        "SQLite in a missing folder",
        {"DATABASE_URL": "sqlite:///{tmp}/nowhere/deskhand.db"},
        3,
        "FIX  database  SQLite file {tmp}/nowhere/deskhand.db: the folder {tmp}/nowhere does "
        "not exist; create it or set DATABASE_URL",
        refused=True,
        absent=("server is running",),
    ),
    Case(
        "SQLite file not created yet",
        {"DATABASE_URL": "sqlite:///{tmp}/deskhand.db"},
        0,
        "ok   database  SQLite file {tmp}/deskhand.db, created at the first start",
    ),
    Case(
        "PostgreSQL on a closed port",
        {"DATABASE_URL": "postgresql://deskhand:pw-hidden@127.0.0.1:{port}/deskhand"},
        1,
        "FIX  database  cannot open postgresql+psycopg://deskhand:***@127.0.0.1:{port}/deskhand: "
        "OperationalError. Check DATABASE_URL and that the server is running.",
    ),
    Case(
        "placeholder secret in production",
        {"DESKHAND_ENV": "production", "TELEGRAM_BOT_TOKEN": "changeme"},
        3,
        "TELEGRAM_BOT_TOKEN is a placeholder; set the real value",
        refused=True,
    ),
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # `deskhand` creates its home before anything else; so does this fixture.
    (tmp_path / "home").mkdir()
    return tmp_path


def _env(case: Case, tmp: Path, port: int) -> dict[str, str]:
    env = {k: v.format(tmp=tmp, port=port) for k, v in case.env.items()}
    return {"DESKHAND_HOME": str(tmp / "home"), **env}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_doctor(case: Case, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    env = _env(case, home, port)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"],
        cwd=home,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    line = case.line.format(tmp=home, port=port)
    assert proc.returncode == case.code, output
    assert line in output, output
    for text in case.absent:
        assert text not in output, output
    for secret in SECRETS:
        assert secret not in output, output

    # What `deskhand run` does first: load the settings, then the shared validation.
    for key in os.environ:
        if key.startswith(PREFIXES):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(home)
    refusal = _run_refusal()
    if case.refused:
        # Doctor's line is "FIX  <area, 9 wide> <message>"; run's refusal is the message.
        message = line[15:] if line.startswith("FIX") else line
        assert refusal is not None and message in refusal, refusal
    else:
        assert refusal is None


def _run_refusal() -> str | None:
    try:
        preflight.require(load_settings(), channels=True)
    except SettingsError as exc:
        return str(exc)
    return None


def test_run_refuses_before_opening_anything(home: Path) -> None:
    """`deskhand run` with a token that cannot be one stops with exit 3 and doctor's line."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=home,
        env={
            **clean,
            "PYTHONPATH": str(ROOT),
            "DESKHAND_HOME": str(home / "home"),
            "TELEGRAM_BOT_TOKEN": "abc",
            # Were the check missing, the bot would reach nothing: a closed local port.
            "TELEGRAM_API_URL": f"http://127.0.0.1:{_closed_port()}",
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "TELEGRAM_BOT_TOKEN is not a bot token" in proc.stderr
    assert not (home / "home" / "deskhand.db").exists()
