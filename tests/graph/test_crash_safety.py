"""Crash safety: SIGKILL the bot at the worst moments; restart; nothing lost or doubled."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from memory.db import create_engine
from memory.models import Approval, Event
from tests.fakes.smtp import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


def child(home: Path, url: str, smtp: SmtpSink, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one Deskhand process (see tests/graph/crash_child.py) to its end or its death."""
    return subprocess.run(
        [sys.executable, "-m", "tests.graph.crash_child", str(home), url, smtp.url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )


def answer(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def audit(url: str, run_id: str) -> list[str]:
    from tests.fixtures.db import async_url

    engine = create_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            kinds = (
                await conn.execute(
                    select(Event.kind).where(Event.run_id == run_id).order_by(Event.id)
                )
            ).scalars()
            approval = (await conn.execute(select(Approval.applied_at))).scalars().all()
            return [*kinds, *(["applied"] if all(approval) else [])]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_killed_after_decision_commit_completes_on_restart(
    backend: str, tmp_path: Path, smtp_sink: SmtpSink, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    started = answer(child(tmp_path, url, smtp_sink, "start"))
    killed = child(tmp_path, url, smtp_sink, "approve", started["approval"], "--die-after-decision")
    assert killed.returncode == -signal.SIGKILL
    assert smtp_sink.messages == []

    after = answer(child(tmp_path, url, smtp_sink, "recover"))
    assert after["runs"] == [{"id": started["run"], "status": "completed", "outcome": "sent"}]
    assert after["pending"] == []
    assert len(smtp_sink.messages) == 1
    kinds = await audit(url, started["run"])
    assert kinds.count("approval.decided") == 1 and kinds.count("effect.succeeded") == 1
    assert "applied" in kinds

    # A second restart changes nothing.
    answer(child(tmp_path, url, smtp_sink, "recover"))
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_killed_after_send_is_surfaced_not_resent(
    backend: str, tmp_path: Path, smtp_sink: SmtpSink, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    started = answer(child(tmp_path, url, smtp_sink, "start"))
    killed = child(tmp_path, url, smtp_sink, "approve", started["approval"], "--die-after-send")
    assert killed.returncode == -signal.SIGKILL
    assert len(smtp_sink.messages) == 1  # it did leave, but nobody recorded that

    after = answer(child(tmp_path, url, smtp_sink, "recover"))
    assert after["runs"] == [{"id": started["run"], "status": "completed", "outcome": "in_doubt"}]
    assert [status for status, _ in after["effects"]] == ["in_doubt"]
    assert after["pending"] == []
    assert len(smtp_sink.messages) == 1
    kinds = await audit(url, started["run"])
    assert "effect.in_doubt" in kinds and "effect.succeeded" not in kinds

    answer(child(tmp_path, url, smtp_sink, "recover"))
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_killed_around_every_checkpoint_write_sends_once(
    backend: str, tmp_path: Path, smtp_sink: SmtpSink, request: pytest.FixtureRequest
) -> None:
    """Die just before and just after each checkpointer write of an approval: after a
    restart every run has sent its email exactly once (or says it is in doubt); none is
    "completed" without its effect, and a second restart changes nothing."""
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    counted = answer(child(tmp_path, url, smtp_sink, "start"))
    approve = ("approve", counted["approval"], "--count-writes")
    writes = answer(child(tmp_path, url, smtp_sink, *approve))
    points = [
        (flag, index)
        for index in range(len(writes["writes"]))
        for flag in ("--die-before-write", "--die-after-write")
    ]
    assert len(points) >= 8, writes  # the gate's writes, the send's, the check-in's
    started = answer(child(tmp_path, url, smtp_sink, "start", str(len(points) + 1), "1"))["runs"]
    expected = {}
    for (flag, index), run in zip(points, started, strict=False):
        killed = child(tmp_path, url, smtp_sink, "approve", run["approval"], flag, str(index))
        assert killed.returncode == -signal.SIGKILL, (flag, index, killed.stderr[-2000:])
        expected[run["run"]] = ("completed", "sent", run["to"], f"{flag} {index}")
    last = started[-1]
    killed = child(tmp_path, url, smtp_sink, "approve", last["approval"], "--die-after-send")
    assert killed.returncode == -signal.SIGKILL
    expected[last["run"]] = ("completed", "in_doubt", last["to"], "--die-after-send")

    for _ in range(2):  # a second restart must change nothing
        after = answer(child(tmp_path, url, smtp_sink, "recover"))
        assert after["pending"] == []
        runs = {r["id"]: (r["status"], r["outcome"]) for r in after["runs"]}
        sent_to = [m["To"] for m in smtp_sink.messages]
        for run_id, (status, outcome, to, point) in expected.items():
            assert runs[run_id] == (status, outcome), point
            assert sent_to.count(to) == 1, point
