"""``deskhand run`` in terminal mode stops on SIGTERM while its stdin is still open.

A real subprocess each time: stdin an open pipe, then a pseudo-terminal (where the
chat reads through readline). The chat starts a run first, so there is something in the
database to find intact afterwards.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STARTUP_S = 60  # generous: two shared cores, other test runs beside this one
STOP_S = 5  # the stop itself takes well under a second; this only catches a hang
ONBOARD = b'/run onboarding name="Ana Lima" email=ana@example.com\n'


def env_for(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DESKHAND_", "TELEGRAM_", "SLACK_", "OPENAI_", "DATABASE_"))
    }
    return {**env, "PYTHONPATH": str(ROOT), "DESKHAND_HOME": str(home)}


def read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    """Read ``fd`` into ``seen`` until ``marker`` appears; drop what was read up to it.

    Whatever came after the marker in the same read stays in ``seen`` for the next call:
    a prompt often arrives in the same chunk as the card before it.
    """
    deadline = time.monotonic() + STARTUP_S
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {bytes(seen[-500:])!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"output ended without {marker!r}: {bytes(seen[-500:])!r}"
            seen += chunk
    del seen[: seen.index(marker) + len(marker)]


def stop_with_sigterm(proc: subprocess.Popen[bytes]) -> float:
    """Send SIGTERM; return how long the process took to exit."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"still running {STOP_S} s after SIGTERM")
    return time.monotonic() - began


def assert_consistent(home: Path) -> None:
    """The run started before the stop waits at its gate, and the file is sound."""
    with sqlite3.connect(home / "deskhand.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT status FROM runs").fetchall() == [("waiting",)]
        assert conn.execute("SELECT status FROM approvals").fetchall() == [("pending",)]
    listed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "pending", "--json"],
        env=env_for(home),
        cwd=home.parent,
        capture_output=True,
        timeout=60,
    )
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_sigterm_stops_the_terminal_with_stdin_an_open_pipe(home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(home),
        cwd=home.parent,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        seen = bytearray()
        read_until(proc.stdout.fileno(), b"you> ", seen)
        proc.stdin.write(ONBOARD)
        proc.stdin.flush()
        read_until(proc.stdout.fileno(), b"[1] Approve", seen)
        read_until(proc.stdout.fileno(), b"you> ", seen)

        stop_with_sigterm(proc)  # stdin stays open: nothing else ends the chat
        assert proc.returncode == 0, proc.stderr.read()
        assert b"Stopped." in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    assert_consistent(home)


def test_sigterm_stops_the_terminal_on_a_pseudo_terminal(home: Path) -> None:
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        # All three, as in a terminal: input() writes its prompt to stderr.
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env_for(home),
        cwd=home.parent,
        start_new_session=True,
    )
    os.close(secondary)
    try:
        seen = bytearray()
        read_until(main, b"you> ", seen)
        os.write(main, ONBOARD)
        read_until(main, b"[1] Approve", seen)
        read_until(main, b"you> ", seen)

        stop_with_sigterm(proc)
        assert proc.returncode == 0, bytes(seen[-500:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    assert_consistent(home)
