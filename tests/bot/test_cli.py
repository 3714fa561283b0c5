"""The ``deskhand`` command, run as a real subprocess on a real SQLite file and SMTP server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.smtp import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deskhand(tmp_path: Path, smtp_sink: SmtpSink) -> Any:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DESKHAND_", "TELEGRAM_", "SLACK_", "OPENAI_", "DATABASE_"))
    }
    env.update(
        # The tree under test, not whatever `pip install -e` pointed the venv at.
        PYTHONPATH=str(ROOT),
        DESKHAND_HOME=str(tmp_path / "home"),
        DESKHAND_SMTP_URL=smtp_sink.url,
        DESKHAND_SMTP_FROM="ana@studio.test",
    )

    def run(
        *args: str,
        stdin: str | None = None,
        extra: dict[str, str] | None = None,
        python: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = ["-c", python, *args] if python is not None else ["-m", "bot.cli", *args]
        return subprocess.run(
            [sys.executable, *command],
            cwd=tmp_path,
            env={**env, **(extra or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def test_start_approve_show_with_json(deskhand: Any, smtp_sink: SmtpSink) -> None:
    started = deskhand(
        "start",
        "onboarding",
        "name=Ana Lima",
        "email=ana@example.com",
        "company=Lima & Co",
        "--json",
    )
    assert started.returncode == 0, started.stderr
    run = as_json(started)
    assert run["status"] == "waiting" and run["id"].startswith("r")
    approval = run["approval"]
    assert approval["run_id"] == run["id"] and approval["risk"] == "high"
    assert approval["status"] == "pending" and approval["title"]

    pending = as_json(deskhand("pending", "--json"))
    assert [(a["id"], a["status"], a["run_id"]) for a in pending] == [
        (approval["id"], "pending", run["id"])
    ]

    approved = deskhand("approve", approval["id"], "--json")
    assert approved.returncode == 0, approved.stderr
    assert as_json(approved)["run"]["status"] == "completed"
    assert len(smtp_sink.messages) == 1

    again = deskhand("approve", approval["id"])
    assert again.returncode == 1
    assert "already approved by" in again.stderr

    runs = as_json(deskhand("runs", "--json"))
    assert [(r["id"], r["status"]) for r in runs] == [(run["id"], "completed")]
    shown = as_json(deskhand("show", run["id"], "--json"))
    assert shown["status"] == "completed"
    assert [e["kind"] for e in shown["events"]][0] == "run.started"


def test_refusals_exit_non_zero(deskhand: Any) -> None:
    unknown = deskhand("approve", "ZZZZZ", "--json")
    assert unknown.returncode == 1
    assert "There is no approval ZZZZZ" in as_json(unknown)["error"]
    assert deskhand("show", "rzzzzzzzz").returncode == 1
    assert deskhand("start", "nope").returncode == 1
    assert deskhand("start", "onboarding", "name=Ana").returncode == 1
    assert deskhand("frobnicate").returncode == 2


def test_reject_with_reason_and_edit(deskhand: Any, smtp_sink: SmtpSink) -> None:
    first = as_json(deskhand("start", "onboarding", "name=Bo", "email=bo@example.com", "--json"))
    edited = deskhand("edit", first["approval"]["id"], "subject=Hello Bo", "--json")
    assert edited.returncode == 0, edited.stderr
    second = as_json(edited)["approval"]
    assert second["preview"]["subject"] == "Hello Bo"
    rejected = deskhand("reject", second["id"], "not", "this", "week")
    assert rejected.returncode == 0
    assert "Reason: not this week" in rejected.stdout
    assert smtp_sink.messages == []


def test_bad_configuration_is_explained(deskhand: Any) -> None:
    proc = deskhand(
        "runs", extra={"DESKHAND_TIMEZONE": "Mars/Olympus", "DATABASE_URL": "mysql://x"}
    )
    assert proc.returncode == 3
    assert "DESKHAND_TIMEZONE: unknown time zone 'Mars/Olympus'" in proc.stderr
    assert "DATABASE_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_doctor_reports_and_migrate_is_idempotent(deskhand: Any, smtp_sink: SmtpSink) -> None:
    migrated = deskhand("migrate")
    assert migrated.returncode == 0 and "Database is at revision" in migrated.stdout
    assert deskhand("migrate").returncode == 0
    doctor = deskhand("doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert "schema up to date" in doctor.stdout and "127.0.0.1" in doctor.stdout
    broken = deskhand("doctor", extra={"DESKHAND_SMTP_URL": "smtp://user:hunter22@127.0.0.1:1"})
    assert broken.returncode == 1
    assert "FIX  email" in broken.stdout and "hunter22" not in broken.stdout


def test_chat_over_stdin(deskhand: Any, smtp_sink: SmtpSink) -> None:
    script = (
        "\n".join(
            [
                "/help",
                '/run onboarding name="Cy Tran" email=cy@example.com need="bookkeeping"',
                "2",
                "not yet",
                '/run onboarding name="Di Ng" email=di@example.com',
                "3",
                "subject",
                "Welcome, Di",
                "1",
                "/quit",
            ]
        )
        + "\n"
    )
    proc = deskhand("chat", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[1] Approve  [2] Reject  [3] Edit" in out
    assert "rejected by" in out and "Reason: not yet" in out
    assert "Subject: Welcome, Di" in out
    assert "completed: Sent to di@example.com" in out
    assert [m["Subject"] for m in smtp_sink.messages] == ["Welcome, Di"]


# Runs a CLI command in-process (so the interpreter survives it), then reports on stderr
# which of the named top-level packages it imported.
IMPORTS_OF = """
import json, sys
from bot.cli import invoke
try:
    invoke(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "langgraph",
    "langchain_core", "alembic", "pydantic"})
sys.stderr.write("\\nIMPORTED " + json.dumps(loaded) + "\\n")
"""


def imported(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stderr.rsplit("IMPORTED ", 1)[1]))


def test_pending_json_prints_json_and_nothing_else(deskhand: Any) -> None:
    first = deskhand("pending", "--json")
    assert first.returncode == 0 and as_json(first) == []
    # A fresh database is migrated on first use: one line says so, on stderr.
    assert len(first.stderr.splitlines()) == 1 and "database migrated" in first.stderr
    again = deskhand("pending", "--json")
    assert as_json(again) == [] and again.stderr == ""


def test_help_loads_no_database_code_and_reading_no_graphs(deskhand: Any) -> None:
    assert imported(deskhand("--help", python=IMPORTS_OF)) == []
    for command in (["pending", "--json"], ["runs"], ["show", "rzzzzzzzz"]):
        loaded = imported(deskhand(*command, python=IMPORTS_OF))
        assert "sqlalchemy" in loaded and "langgraph" not in loaded, command
        assert "langchain_core" not in loaded, command


def _applied_at(home: Path, approval_id: str) -> str | None:
    with sqlite3.connect(home / "deskhand.db") as conn:
        row = conn.execute("SELECT applied_at FROM approvals WHERE id = ?", (approval_id,))
        value: str | None = row.fetchone()[0]
        return value


def test_only_recover_applies_a_decision_left_unapplied(
    deskhand: Any, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """A decision committed by a process that died before resuming stays for recovery."""
    home = tmp_path / "home"
    first = as_json(deskhand("start", "onboarding", "name=Ana", "email=ana@example.com", "--json"))
    second = as_json(deskhand("start", "onboarding", "name=Bo", "email=bo@example.com", "--json"))
    left = first["approval"]["id"]
    killed = subprocess.run(
        [sys.executable, "-m", "tests.graph.crash_child", str(home)]
        + [f"sqlite:///{home / 'deskhand.db'}", smtp_sink.url, "approve", left]
        + ["--die-after-decision"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    assert _applied_at(home, left) is None

    for command in (["pending"], ["pending", "--json"], ["runs"], ["show", first["id"]]):
        assert deskhand(*command).returncode == 0, command
    shown = as_json(deskhand("show", first["id"], "--json"))
    assert shown["status"] == "waiting" and shown["approvals"][0]["status"] == "approved"
    assert smtp_sink.messages == [] and _applied_at(home, left) is None

    # Deciding another approval applies that decision only.
    approved = deskhand("approve", second["approval"]["id"], "--json")
    assert as_json(approved)["run"]["status"] == "completed"
    assert [m["To"] for m in smtp_sink.messages] == ["bo@example.com"]
    assert _applied_at(home, left) is None

    recovered = deskhand("recover")
    assert recovered.returncode == 0 and "1 unfinished run(s) brought up" in recovered.stdout
    assert [m["To"] for m in smtp_sink.messages] == ["bo@example.com", "ana@example.com"]
    assert _applied_at(home, left) is not None
    assert as_json(deskhand("show", first["id"], "--json"))["status"] == "completed"


def test_retry_refuses_a_run_with_nothing_to_retry(deskhand: Any) -> None:
    here = {"PYTHONPATH": str(ROOT)}  # this checkout's code, whatever is installed
    unknown = deskhand("retry", "rzzzzzzzz", extra=here)
    assert unknown.returncode == 1, unknown.stderr
    assert "There is no run" in unknown.stderr
    started = deskhand(
        "start", "onboarding", "name=Ana", "email=ana@example.com", "--json", extra=here
    )
    waiting = deskhand("retry", as_json(started)["id"], extra=here)
    assert waiting.returncode == 1 and "nothing to retry" in waiting.stderr
