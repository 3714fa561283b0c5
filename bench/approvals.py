"""Approval latency: Deskhand's decide-and-resume path against a bare LangGraph resume.

For each backend (a SQLite file, and PostgreSQL 16 from the ``pgserver`` wheel) it times:

- the floor: a two-node LangGraph graph (``ask`` calls ``interrupt()``, ``finish``
  returns) on the checkpointer :func:`graph.checkpointer.open_checkpointer` builds,
  resumed with ``Command(resume=...)`` and ``durability="sync"`` as Deskhand does;
- Deskhand: :meth:`graph.runs.RunManager.decide` on onboarding runs waiting at their
  gate: the atomic inbox UPDATE, the event log, the run lock, the LangGraph resume (gate
  re-run, send node, effects ledger, outbound record) and the run status update.

Each is measured one operation at a time and with ``--concurrency`` operations in
flight. Starting the runs is set-up and is not timed. The email itself is not sent:
:class:`NullTransport` discards it, so the external effect is excluded while every
database write around it is included.

Run ``python -m bench.approvals --help``; ``bench/README.md`` explains the output.
"""

from __future__ import annotations

import argparse
import asyncio
import email.message
import itertools
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from bot.runtime import open_runtime
from bot.settings import Settings
from graph.checkpointer import open_checkpointer

LOCKED = "database is locked"
WARMUP = 10
TARGET_P50_MS = 15.0
TARGET_P99_MS = 100.0
TARGET_RATIO = 2.0
EFFECT_NOTE = (
    "Email effect excluded: NullTransport discards each message (no SMTP, no file). "
    "Included: inbox UPDATE, event log, run lock, LangGraph resume (gate re-run + send "
    "node), effects ledger, outbound record, run status."
)

Op = Callable[[], Awaitable[None]]


class BenchError(Exception):
    """An operation returned without raising but did not do what it should have."""


class NullTransport:
    """A real :class:`adapters.email.Transport` that accepts every message and drops it."""

    name = "null"

    async def deliver(self, msg: email.message.EmailMessage) -> str:
        """Discard ``msg``."""
        return "discarded"


# -- results ---------------------------------------------------------------------------


@dataclass
class Scenario:
    """Latencies and failures of one measured batch."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    locked: int = 0
    wall_s: float = 0.0
    first_error: str | None = None

    def percentile(self, q: float) -> float:
        """Linear-interpolated percentile of the successful operations, in ms."""
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        pos = (len(data) - 1) * q / 100
        low = int(pos)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (pos - low)

    def summary(self) -> dict[str, Any]:
        """The numbers the table and the JSON report show."""
        ops = len(self.latencies_ms) + self.errors
        return {
            "name": self.name,
            "ops": ops,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "max_ms": max(self.latencies_ms, default=float("nan")),
            "ops_per_s": ops / self.wall_s if self.wall_s else float("nan"),
            "errors": self.errors,
            "locked": self.locked,
            "first_error": self.first_error,
        }


@dataclass
class BackendResult:
    """Everything measured on one backend."""

    backend: str
    scenarios: list[Scenario]
    setup_errors: int = 0
    setup_first_error: str | None = None

    def get(self, name: str) -> Scenario:
        """The scenario called ``name``."""
        return next(s for s in self.scenarios if s.name == name)


class ErrorLog(logging.Handler):
    """Collects ERROR log records: RunManager logs a failed resume instead of raising."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.locked = 0
        self.records = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record, and count it as locked when its traceback says so."""
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.records += 1
        self.locked += LOCKED in text
        self.first = self.first or text.strip().splitlines()[-1]


@contextmanager
def capture_errors() -> Iterator[ErrorLog]:
    """Route ERROR records to an :class:`ErrorLog` (and nowhere else) for the block."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def measure(name: str, ops: Sequence[Op], *, concurrency: int, log: ErrorLog) -> Scenario:
    """Run ``ops`` with at most ``concurrency`` in flight, timing each one.

    A concurrent operation's clock starts when it gets its slot, so its latency includes
    waiting for the event loop, the pool, the run lock and the database, not for the
    semaphore.
    """
    scenario = Scenario(name)
    slots = asyncio.Semaphore(concurrency)
    locked_before = log.locked

    async def one(op: Op) -> None:
        async with slots:
            started = time.perf_counter()
            try:
                await op()
            except Exception as exc:
                scenario.errors += 1
                scenario.locked += LOCKED in str(exc)
                scenario.first_error = scenario.first_error or f"{type(exc).__name__}: {exc}"
            else:
                scenario.latencies_ms.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    if concurrency == 1:
        for op in ops:
            await one(op)
    else:
        await asyncio.gather(*(one(op) for op in ops))
    scenario.wall_s = time.perf_counter() - began
    scenario.locked += log.locked - locked_before
    if scenario.first_error is None and log.locked > locked_before:
        scenario.first_error = log.first
    return scenario


async def prepare(items: Sequence[Callable[[], Awaitable[Any]]], *, concurrency: int) -> list[Any]:
    """Run set-up steps (not timed); a failed step yields its exception instead of a value."""
    slots = asyncio.Semaphore(concurrency)

    async def one(step: Callable[[], Awaitable[Any]]) -> Any:
        async with slots:
            try:
                return await step()
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(one(step) for step in items)))


# -- the floor: bare LangGraph ---------------------------------------------------------


class FloorState(TypedDict, total=False):
    """State of the two-node floor graph."""

    question: str
    answer: str
    done: bool


async def ask(state: FloorState, config: RunnableConfig) -> dict[str, Any]:
    """Wait for an answer."""
    return {"answer": interrupt({"question": state["question"]})}


async def finish(state: FloorState, config: RunnableConfig) -> dict[str, Any]:
    """End the run."""
    return {"done": True}


def build_floor() -> StateGraph[Any]:
    """Build (not compile) ``START -> ask (interrupt) -> finish -> END``."""
    graph: StateGraph[Any] = StateGraph(FloorState)
    graph.add_node("ask", ask)
    graph.add_node("finish", finish)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", "finish")
    graph.add_edge("finish", END)
    return graph


async def bench_floor(
    url: str, *, runs: int, concurrency: int, log: ErrorLog
) -> tuple[list[Scenario], int, str | None]:
    """Time bare interrupt resumes, sequentially then concurrently, on a fresh database."""
    async with open_checkpointer(url) as saver:
        graph = build_floor().compile(checkpointer=saver, name="floor")

        def config(thread: str) -> RunnableConfig:
            return {"configurable": {"thread_id": thread}}

        async def start(thread: str) -> str:
            result = await graph.ainvoke({"question": "ok?"}, config(thread), durability="sync")
            if "__interrupt__" not in result:
                raise BenchError(f"floor thread {thread} did not stop at its interrupt")
            return thread

        def resume(thread: str) -> Op:
            async def op() -> None:
                cmd: Command[str] = Command(resume="yes")
                result = await graph.ainvoke(cmd, config(thread), durability="sync")
                if result.get("done") is not True or result.get("answer") != "yes":
                    raise BenchError(f"floor thread {thread} did not finish: {result}")

            return op

        scenarios, failed, first = [], 0, None
        batches = [("floor sequential", 1), (f"floor concurrent({concurrency})", concurrency)]
        for name, width in batches:
            threads = [uuid.uuid4().hex for _ in range(runs + WARMUP)]
            started = await prepare([partial(start, t) for t in threads], concurrency=10)
            ready = [t for t in started if isinstance(t, str)]
            errors = [e for e in started if isinstance(e, BaseException)]
            failed += len(errors)
            first = first or (f"{type(errors[0]).__name__}: {errors[0]}" if errors else None)
            await measure("warm-up", [resume(t) for t in ready[:WARMUP]], concurrency=1, log=log)
            ops = [resume(t) for t in ready[WARMUP:]]
            scenarios.append(await measure(name, ops, concurrency=width, log=log))
        return scenarios, failed, first


# -- Deskhand: decide and resume -------------------------------------------------------


def deskhand_settings(home: Path, database_url: str) -> Settings:
    """Settings for the bench: its own home, template drafting, no SMTP, no LLM."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        DESKHAND_HOME=home,
        DATABASE_URL=database_url,
        DESKHAND_SMTP_URL=None,
        OPENAI_API_KEY=None,
        OPENAI_BASE_URL=None,
    )


async def bench_deskhand(
    settings: Settings, *, runs: int, concurrency: int, log: ErrorLog
) -> tuple[list[Scenario], int, str | None]:
    """Start onboarding runs to their gate (untimed), then time ``decide`` on each."""
    counter = itertools.count()
    async with open_runtime(settings, transport=NullTransport()) as rt:
        manager = rt.manager

        async def start() -> str:
            i = next(counter)
            inputs = {
                "name": f"Client {i}",
                "email": f"client{i}@example.com",
                "company": "Acme & Co",
                "need": "a new website",
            }
            report = await manager.start("onboarding", inputs, actor="bench")
            if report.approval is None:
                raise BenchError(f"run {report.run.id} is {report.run.status}, not at its gate")
            return report.approval.id

        def decide(approval_id: str, who: int) -> Op:
            async def op() -> None:
                result = await manager.decide(
                    approval_id, "approve", actor=f"bench:{who}", actor_name=f"Decider {who}"
                )
                run = result.report.run
                if run.status != "completed" or run.outcome != "sent":
                    raise BenchError(f"run {run.id} ended {run.status}/{run.outcome}: {run.detail}")

            return op

        scenarios, failed, first = [], 0, None
        batches = [("deskhand sequential", 1), (f"deskhand concurrent({concurrency})", concurrency)]
        for name, width in batches:
            started = await prepare([start for _ in range(runs + WARMUP)], concurrency=10)
            ready = [a for a in started if isinstance(a, str)]
            errors = [e for e in started if isinstance(e, BaseException)]
            failed += len(errors)
            first = first or (f"{type(errors[0]).__name__}: {errors[0]}" if errors else None)
            warm = [decide(a, 0) for a in ready[:WARMUP]]
            await measure("warm-up", warm, concurrency=1, log=log)
            ops = [decide(a, i % width) for i, a in enumerate(ready[WARMUP:])]
            scenarios.append(await measure(name, ops, concurrency=width, log=log))
        return scenarios, failed, first


# -- backends --------------------------------------------------------------------------


def _pg_url(server: Any, dbname: str) -> str:
    # pgserver hands out a unix-socket URI: postgresql://postgres:@/postgres?host=/tmp/...
    uri: str = server.get_uri()
    base, _, query = uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{dbname}?{query}"


@contextmanager
def database_urls(backend: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield (floor URL, Deskhand URL): two fresh databases of one kind; drop them after."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'floor.db'}", f"sqlite:///{workdir / 'deskhand.db'}"
        return
    import pgserver  # a dev dependency: only needed for this backend

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="delete")
    try:
        server.psql("CREATE DATABASE bench_floor;")
        server.psql("CREATE DATABASE bench_deskhand;")
        floor = _pg_url(server, "bench_floor").replace("postgresql://", "postgresql+psycopg://", 1)
        yield floor, _pg_url(server, "bench_deskhand")
    finally:
        server.cleanup()


async def bench_backend(
    backend: str, floor_url: str, deskhand_url: str, home: Path, *, runs: int, concurrency: int
) -> BackendResult:
    """Measure the floor, then Deskhand, on one backend."""
    with capture_errors() as log:
        floor, floor_failed, floor_first = await bench_floor(
            floor_url, runs=runs, concurrency=concurrency, log=log
        )
        settings = deskhand_settings(home, deskhand_url)
        desk, desk_failed, desk_first = await bench_deskhand(
            settings, runs=runs, concurrency=concurrency, log=log
        )
    failed, first = floor_failed + desk_failed, floor_first or desk_first
    return BackendResult(backend, floor + desk, failed, first)


# -- report ----------------------------------------------------------------------------


def checks(result: BackendResult, concurrency: int) -> list[tuple[str, bool]]:
    """The issue's targets, each with whether it holds."""
    out: list[tuple[str, bool]] = []
    for mode, width in (("sequential", None), ("concurrent", concurrency)):
        suffix = f"({width})" if width else ""
        desk = result.get(f"deskhand {mode}{suffix}")
        floor = result.get(f"floor {mode}{suffix}")
        ratio = desk.percentile(50) / floor.percentile(50)
        out += [
            (
                f"deskhand {mode}{suffix} p50 {desk.percentile(50):.1f} ms < {TARGET_P50_MS:g} ms",
                desk.percentile(50) < TARGET_P50_MS,
            ),
            (
                f"deskhand {mode}{suffix} p99 {desk.percentile(99):.1f} ms < {TARGET_P99_MS:g} ms",
                desk.percentile(99) < TARGET_P99_MS,
            ),
            (
                f"{mode} p50 ratio deskhand/floor {ratio:.2f}x <= {TARGET_RATIO:g}x",
                ratio <= TARGET_RATIO,
            ),
        ]
    locked = sum(s.locked for s in result.scenarios)
    out.append((f"'{LOCKED}' errors {locked} == 0", locked == 0))
    return out


def render(results: Sequence[BackendResult], *, runs: int, concurrency: int, wall_s: float) -> str:
    """The plain-text table."""
    head = (
        f"{'backend':<9}{'scenario':<26}{'ops':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'ops/s':>9}{'errors':>8}{'locked':>8}"
    )
    lines = [
        f"Approval decide-and-resume: {runs} runs per batch, {concurrency} concurrent, "
        f"{WARMUP} warm-up ops per batch not counted",
        EFFECT_NOTE,
        "Deskhand's resume does strictly more than the floor's: the floor resumes a "
        "2-node graph; Deskhand also re-runs the gate node, runs the send node and writes "
        "its own tables (~10 transactions per decide).",
        "",
        head,
        "-" * len(head),
    ]
    for result in results:
        for s in result.scenarios:
            m = s.summary()
            lines.append(
                f"{result.backend:<9}{s.name:<26}{m['ops']:>6}{m['p50_ms']:>9.2f}"
                f"{m['p95_ms']:>9.2f}{m['p99_ms']:>9.2f}{m['max_ms']:>9.2f}"
                f"{m['ops_per_s']:>9.1f}{m['errors']:>8}{m['locked']:>8}"
            )
        seq = result.get("deskhand sequential").percentile(50) / result.get(
            "floor sequential"
        ).percentile(50)
        conc = result.get(f"deskhand concurrent({concurrency})").percentile(50) / result.get(
            f"floor concurrent({concurrency})"
        ).percentile(50)
        lines.append(
            f"{result.backend:<9}{'ratio deskhand/floor p50':<26}"
            f"  sequential {seq:.2f}x   concurrent({concurrency}) {conc:.2f}x"
        )
        lines.append("")
    for result in results:
        lines.append(f"Targets on {result.backend}:")
        for text, ok in checks(result, concurrency):
            lines.append(f"  {'PASS' if ok else 'FAIL'}  {text}")
        if result.setup_errors:
            lines.append(f"  set-up failures: {result.setup_errors} ({result.setup_first_error})")
        for s in result.scenarios:
            if s.first_error:
                lines.append(f"  first error in {s.name}: {s.first_error}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines += [
        "",
        f"Total wall time {wall_s:.1f} s; load average at the end {load}; "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}",
    ]
    return "\n".join(lines) + "\n"


def as_json(
    results: Sequence[BackendResult], *, runs: int, concurrency: int, wall_s: float
) -> dict[str, Any]:
    """The same numbers as the table, plus the raw settings, for ``--json``."""
    return {
        "runs": runs,
        "concurrency": concurrency,
        "warmup": WARMUP,
        "wall_s": wall_s,
        "loadavg": os.getloadavg(),
        "note": EFFECT_NOTE,
        "backends": {
            r.backend: {
                "scenarios": [s.summary() for s in r.scenarios],
                "setup_errors": r.setup_errors,
                "targets": [{"check": text, "pass": ok} for text, ok in checks(r, concurrency)],
            }
            for r in results
        },
    }


# -- command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.approvals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=1000, help="operations per batch")
    parser.add_argument("--concurrency", type=int, default=50, help="deciders in flight")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.concurrency < 2:
        parser.error("--runs must be at least 1 and --concurrency at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 when any operation failed, else 0."""
    args = parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    began = time.perf_counter()
    results: list[BackendResult] = []
    for backend in backends:
        workdir = Path(tempfile.mkdtemp(prefix=f"deskhand-bench-{backend}-"))
        try:
            with database_urls(backend, workdir) as (floor_url, deskhand_url):
                results.append(
                    asyncio.run(
                        bench_backend(
                            backend,
                            floor_url,
                            deskhand_url,
                            workdir / "home",
                            runs=args.runs,
                            concurrency=args.concurrency,
                        )
                    )
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    wall_s = time.perf_counter() - began
    sys.stdout.write(render(results, runs=args.runs, concurrency=args.concurrency, wall_s=wall_s))
    if args.json is not None:
        report = as_json(results, runs=args.runs, concurrency=args.concurrency, wall_s=wall_s)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = sum(r.setup_errors + sum(s.errors for s in r.scenarios) for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
