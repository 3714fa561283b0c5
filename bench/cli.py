"""CLI benchmark: wall time of ``deskhand pending --json`` and ``deskhand --help``.

    python -m bench.cli [--repeats 20] [--waiting 300]

Each command runs as a real subprocess of this Python (``python -m bot.cli``, with the
tree this file belongs to first on the path), the way a shell script calls it: start-up,
imports, the database and the interpreter's exit all count. ``pending --json`` is timed
on a database with no waiting approvals and on one with ``--waiting`` approvals, each
waiting on a real onboarding run (with its LangGraph checkpoint). Prints median, p95 and
max in milliseconds. Target: ``pending --json`` median under 1 s. Everything lives in a
temporary directory deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.outbox import OutboxTransport
from bot.runtime import open_runtime
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 1000.0


def cli_env(home: Path) -> dict[str, str]:
    """The environment of a plain user: no tokens or settings but the home folder."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DESKHAND_", "TELEGRAM_", "SLACK_", "OPENAI_", "DATABASE_"))
    }
    return {**env, "PYTHONPATH": str(ROOT), "DESKHAND_HOME": str(home)}


async def seed(home: Path, waiting: int) -> None:
    """Start ``waiting`` onboarding runs; each stops at its welcome-email approval."""
    values: dict[str, Any] = {"DESKHAND_HOME": str(home)}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    async with open_runtime(settings, transport=OutboxTransport(home / "outbox")) as rt:
        for i in range(waiting):
            await rt.manager.start(
                "onboarding",
                {"name": f"Client {i}", "email": f"client{i}@example.com"},
                actor="bench",
            )


def timed(args: list[str], home: Path, repeats: int) -> list[float]:
    """Wall time in ms of ``python -m bot.cli ARGS``, ``repeats`` times; fails loudly."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=cli_env(home),
            cwd=home.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        times.append((time.perf_counter() - began) * 1000)
        if proc.returncode != 0 or (args[-1] == "--json" and proc.stderr):
            raise SystemExit(f"deskhand {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--waiting", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deskhand-bench-cli-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        asyncio.run(seed(empty, 0))
        began = time.perf_counter()
        asyncio.run(seed(full, args.waiting))
        print(f"set-up: {args.waiting} waiting runs in {time.perf_counter() - began:.1f} s")
        rows = [
            ("pending --json, 0 waiting", ["pending", "--json"], empty, True),
            (f"pending --json, {args.waiting} waiting", ["pending", "--json"], full, True),
            ("--help", ["--help"], empty, False),
        ]
        print(f"{args.repeats} runs each, wall time of the subprocess (ms)")
        print(f"{'command':<32}{'median':>8}{'p95':>8}{'max':>8}  target")
        for label, argv, home, checked in rows:
            times = timed(argv, home, args.repeats)
            median = statistics.median(times)
            verdict = ""
            if checked:
                ok = median < TARGET_MS
                verdict = f"{'PASS' if ok else 'FAIL'} median < {TARGET_MS:.0f}"
            print(f"{label:<32}{median:>8.0f}{pct(times, 0.95):>8.0f}{max(times):>8.0f}  {verdict}")


if __name__ == "__main__":
    main()
