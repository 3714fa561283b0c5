"""Start-up with many waiting runs: how long until the bot is ready, and what recovery costs.

    python -m bench.recovery [--waiting 1000] [--backend sqlite|postgres|both]

Seeds ``--waiting`` onboarding runs waiting at their approval gate (through the real run
manager), plus one decision committed but never applied. Then opens the runtime again,
as ``deskhand run`` does at start (migrations checked, recovery), three times, each in a
fresh process, and prints a table: time from the process's start (imports included) to
ready, of which opening and recovery in-process, and how much recovery took. Recovery
reads only what needs recovering (unapplied decisions, runs left running), so the
waiting runs cost nothing.
Target: ready in under 2 s with 1,000 waiting approvals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.digest import backend, bench_settings
from bot.core.messages import Inbound
from bot.runtime import open_runtime
from memory import decisions
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import OPERATOR, card_of

TARGET_S = 2.0
ROUNDS = 3


async def seed(home: Path, url: str, smtp: str, waiting: int) -> None:
    """Start ``waiting`` onboarding runs (each stops at its gate) and one unapplied decision."""
    settings = bench_settings(home, url, DESKHAND_SMTP_URL=smtp)
    async with open_runtime(settings) as rt:
        for n in range(waiting + 1):
            line = f'/run onboarding name="Client {n}" email=c{n}@example.com'
            card_of(await rt.core.handle(Inbound(OPERATOR, text=line)))
        # A decision committed whose resume never ran, as after a crash: recovery's job.
        (last,) = await rt.manager.pending(limit=1)
        await decisions.decide(
            rt.sessions,
            approval_id=last.id,
            action="approve",
            actor="terminal:local",
            actor_name="Ana",
            details={},
        )


async def measure(home: Path, url: str, smtp: str) -> tuple[float, float, int]:
    """Open the runtime as start-up does; return (ready s, recovery s, runs recovered)."""
    settings = bench_settings(home, url, DESKHAND_SMTP_URL=smtp)
    began = time.perf_counter()
    async with open_runtime(settings, recover=False) as rt:
        opened = time.perf_counter()
        recovered = await rt.manager.recover()
        ready = time.perf_counter()
    return ready - began, ready - opened, len(recovered)


def start_process(home: Path, url: str, smtp: str) -> dict[str, float]:
    """Start a fresh process that opens the runtime; return its timings."""
    began = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "bench.recovery", "--child", str(home), url, smtp],
        capture_output=True,
        text=True,
        check=True,
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    return {"process": child["at"] - began, **child}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ready, recovery, count = await measure(Path(args.child[0]), *args.child[1:])
        at = time.time()
        print(json.dumps({"ready": ready, "recovery": recovery, "count": count, "at": at}))
        return
    names = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print(f"Start-up with {args.waiting:,} runs waiting at a gate, {ROUNDS} starts each")
    print(
        f"{'backend':<12}{'start':>6}{'to ready s':>11}{'open+recover s':>16}"
        f"{'recovery ms':>13}{'recovered':>11}  target"
    )
    sink = SmtpSink()
    sink.start()
    try:
        for name in names:
            async with backend(name) as url:
                with tempfile.TemporaryDirectory() as tmp:
                    home = Path(tmp)
                    await seed(home, url, sink.url, args.waiting)
                    totals = []
                    for round_ in range(1, ROUNDS + 1):
                        t = await asyncio.to_thread(start_process, home, url, sink.url)
                        totals.append(t["process"])
                        print(
                            f"{name:<12}{round_:>6}{t['process']:>11.2f}{t['ready']:>16.2f}"
                            f"{t['recovery'] * 1000:>13.1f}{int(t['count']):>11}"
                            f"  ready < {TARGET_S:.0f} s"
                        )
                    print(f"{name:<12}{'median':>6}{statistics.median(totals):>11.2f}")
    finally:
        sink.stop()


if __name__ == "__main__":
    asyncio.run(main())
