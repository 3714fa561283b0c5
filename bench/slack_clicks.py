"""Click latency through Slack: a signed Approve click in, the HTTP ack and ``chat.update`` out.

Set-up, not timed: a SQLite database with one onboarding run per click waiting at its gate,
each card posted to ``SLACK_CHANNEL`` through the Slack notifier and recorded. Then the app
runs as ``deskhand run`` runs it (``bot.channels.serve``: Slack in HTTP mode, dispatchers,
scheduler) in a child process (``--serve``), against the local Slack Web API
(``tests/fakes/slack_api.py``) in this process, which timestamps each call as it arrives.
Each click is a signed ``block_actions`` request POSTed to ``/slack/events``,
``--concurrency`` at a time (a click's slot frees when its card shows the decision), and
latencies are taken from just before the POST:

- ack: the HTTP response (Bolt's ack) back at the client;
- update: the card's first ``chat.update`` reaching the local Web API, the one showing the
  decision ("Approved by ... at ...", no buttons): the update the issue's target is about;
- outcome: the card's second ``chat.update``, adding what the run did once it was resumed
  in the background.

``--single`` clicks one card at a time and the next only once the card shows the outcome
(one person at work); the default is a burst, 20 clicks always in flight.

Every card must get exactly those two edits, in that order; the outcomes are awaited
before the app is stopped.

The email is not sent: :class:`NullTransport` discards it, so the workflow's external effect
is excluded and every database write around it is included.

    python -m bench.slack_clicks [--clicks 500] [--concurrency 20] [--profile child.prof]
        [--bare]    # the Slack channel alone, without dispatchers and scheduler
    python -m bench.slack_clicks --single [--clicks 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench.approvals import NullTransport
from bot.core.delivery import record_shown
from bot.core.messages import ApprovalView
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings, load_settings
from bot.slack.app import SlackChannel
from bot.slack.blocks import APPROVE
from tests.fakes.slack_api import Call, FakeSlack
from tests.fakes.slack_signing import FORM_CONTENT_TYPE, USER_ID, block_actions_body, sign

SECRET = "bench-signing-secret"
WARMUP = 20  # clicks run first and not counted (imports, caches, connection pools)
TARGETS_MS = {"ack": 100.0, "update": 300.0, "outcome": 2000.0}
DECIDED = "Approved by"  # on both edits of an approved card
OUTCOME = "Run `"  # only on the second: what the run did


def environment(fake: FakeSlack, home: Path, port: int) -> dict[str, str]:
    """The child's settings, as ``deskhand run`` would read them."""
    return {
        "DESKHAND_HOME": str(home),
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_ALLOWED_USERS": USER_ID,
        "SLACK_API_URL": fake.api_url,
        "SLACK_CHANNEL": "C0OPS",
        "DESKHAND_HTTP_HOST": "127.0.0.1",
        "DESKHAND_HTTP_PORT": str(port),
        "DESKHAND_LOG_LEVEL": "WARNING",
    }


async def prepare(settings: Settings, clicks: int) -> list[tuple[str, str]]:
    """Start one run per click and post its card; returns (approval id, card ts) pairs."""
    cards: list[tuple[str, str]] = []
    async with open_runtime(settings, transport=NullTransport()) as runtime:
        notifier = SlackChannel(runtime).notifier
        gate = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with gate:
                report = await runtime.manager.start(
                    "onboarding", {"name": f"Client {i}", "email": f"c{i}@example.com"}, actor="cli"
                )
                assert report.approval is not None
                view = ApprovalView.of(report.approval)
                ref = await notifier.post_approval(view)
                assert ref is not None
                await record_shown(runtime.sessions, view=view, ref=ref, claim=True)
                cards.append((view.id, ref.message_id))

        await asyncio.gather(*(one(i) for i in range(clicks)))
    return cards


def kind_of(call: Call) -> str:
    """What a ``chat.update`` on a card shows: "decision", "outcome" or "other"."""
    shown = json.dumps(call.params.get("blocks"), ensure_ascii=False)
    if DECIDED not in shown:
        return "other"
    return "outcome" if OUTCOME in shown else "decision"


class Clicks:
    """Sends signed clicks and matches each card's two ``chat.update`` calls to its click."""

    def __init__(
        self, fake: FakeSlack, url: str, http: aiohttp.ClientSession, *, single: bool = False
    ) -> None:
        self._url, self._http, self._single = url, http, single
        self._respond = fake.response_url
        self._waiting: dict[tuple[str, str], asyncio.Future[float]] = {}
        self.began: dict[str, float] = {}
        self.outcomes: dict[str, asyncio.Future[float]] = {}
        fake.listeners.append(self._seen)

    def _seen(self, call: Call) -> None:
        if call.method == "chat.update" and call.error is None:
            waiter = self._waiting.pop((str(call.params.get("ts")), kind_of(call)), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(call.at)

    def _expect(self, ts: str, kind: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[(ts, kind)] = future
        return future

    async def click(self, approval_id: str, ts: str) -> tuple[float, float]:
        """One Approve click; returns (ack, update) latency in milliseconds."""
        decided = self._expect(ts, "decision")
        self.outcomes[ts] = self._expect(ts, "outcome")
        body = block_actions_body(
            action_id=APPROVE, value=approval_id, message_ts=ts, response_url=self._respond
        )
        headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(SECRET, body)}
        began = self.began[ts] = time.time()
        async with self._http.post(self._url, data=body, headers=headers) as resp:
            await resp.read()
            acked = time.time()
            if resp.status != 200:
                raise RuntimeError(f"click answered {resp.status}")
        at_update = await asyncio.wait_for(decided, 60)
        if self._single:  # one person: the next click once this card shows the outcome
            await asyncio.wait_for(self.outcomes[ts], 60)
        return (acked - began) * 1000, (at_update - began) * 1000

    async def outcome_latencies(self, cards: Sequence[tuple[str, str]]) -> list[float]:
        """Wait for each card's outcome edit; milliseconds from its click."""
        done = await asyncio.wait_for(asyncio.gather(*(self.outcomes[ts] for _, ts in cards)), 300)
        return [(at - self.began[ts]) * 1000 for at, (_, ts) in zip(done, cards, strict=True)]


async def drive(clicks: Clicks, cards: Sequence[tuple[str, str]], concurrency: int) -> list:
    """Click every card, ``concurrency`` at a time; latencies in click order."""
    queue = list(reversed(cards))
    results: list[tuple[float, float]] = []

    async def worker() -> None:
        while queue:
            approval_id, ts = queue.pop()
            results.append(await clicks.click(approval_id, ts))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def free_port() -> int:
    """A loopback port nobody listens on right now (for the app's HTTP server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_listening(port: int, child: asyncio.subprocess.Process) -> None:
    """Wait until the app accepts connections (or fail if it exited)."""
    for _ in range(600):
        if child.returncode is not None:
            raise RuntimeError(f"the app exited with {child.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise TimeoutError("the app did not start listening")


async def bench(
    clicks: int, concurrency: int, profile: str | None, bare: bool, single: bool = False
) -> int:
    """Set up, run the app, click, print the table; 1 if any card was not updated once."""
    with tempfile.TemporaryDirectory(prefix="deskhand-slack-bench-") as tmp:
        fake = FakeSlack()
        await fake.start()
        port = free_port()
        env = environment(fake, Path(tmp), port)
        try:
            started = time.perf_counter()
            cards = await prepare(Settings(_env_file=None, **env), WARMUP + clicks)  # type: ignore[call-arg]
            setup = time.perf_counter() - started
            argv = [sys.executable, "-m", "bench.slack_clicks", "--serve"]
            argv += ["--profile", profile] if profile else []
            argv += ["--bare"] if bare else []
            child = await asyncio.create_subprocess_exec(*argv, env={**os.environ, **env})
            try:
                await wait_listening(port, child)
                url = f"http://127.0.0.1:{port}/slack/events"
                connector = aiohttp.TCPConnector(limit=concurrency)
                async with aiohttp.ClientSession(connector=connector) as http:
                    taker = Clicks(fake, url, http, single=single)
                    await drive(taker, cards[:WARMUP], concurrency)
                    # The warm-up's resumes run now, not inside the measured clicks.
                    await taker.outcome_latencies(cards[:WARMUP])
                    began = time.perf_counter()
                    results = await drive(taker, cards[WARMUP:], concurrency)
                    wall = time.perf_counter() - began
                    outcomes = await taker.outcome_latencies(cards[WARMUP:])
            finally:
                child.send_signal(signal.SIGTERM)
                await asyncio.wait_for(child.wait(), 60)
            updates = fake.calls_to("chat.update")
        finally:
            await fake.stop()
    edits: dict[str, list[str]] = {}
    for call in updates:
        if call.error is None:
            edits.setdefault(str(call.params["ts"]), []).append(kind_of(call))
    twice = len(edits) == WARMUP + clicks and all(
        kinds == ["decision", "outcome"] for kinds in edits.values()
    )
    print(
        f"Slack clicks: {clicks} signed Approve clicks (+{WARMUP} warm-up), {concurrency} at a "
        f"time, HTTP mode, SQLite, the app in its own process "
        f"{'(Slack channel only)' if bare else 'as `deskhand run`'}; email to a "
        f"null transport. Set-up (not timed) {setup:.0f} s."
    )
    latencies = {"ack": [a for a, _ in results], "update": [u for _, u in results]}
    print(report({**latencies, "outcome": outcomes}))
    print(
        f"{clicks / wall:.1f} clicks/s (to the decision on the card); every card edited "
        f"exactly twice, decision then outcome: {twice}. "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    return 0 if twice and child.returncode == 0 else 1


def report(latencies: dict[str, list[float]]) -> str:
    """The table: percentiles per latency, and whether the p99 target was met."""
    rows = [f"{'':<17}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}   target"]
    names = {"ack": "click -> ack", "update": "click -> update", "outcome": "click -> outcome"}
    for key, values in latencies.items():
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        cells = [cuts[49], cuts[89], cuts[98], max(values)]
        target = TARGETS_MS.get(key)
        if target is None:
            verdict = ""
        else:
            verdict = f"p99 < {target:.0f} ms: " + ("met" if cuts[98] < target else "MISSED")
        rows.append(f"{names[key]:<17}" + "".join(f"{c:>7.1f}ms" for c in cells) + f"   {verdict}")
    return "\n".join(rows)


async def serve_child(profile: str | None, bare: bool) -> None:
    """The app, as ``deskhand run`` runs it (or ``bare``: Slack alone), email discarded."""
    from bot.channels import serve

    settings = load_settings()
    logging.basicConfig(level=settings.log_level)
    async with open_runtime(settings, transport=NullTransport()) as runtime:
        run = serve(runtime) if not bare else slack_alone(runtime)
        if profile is None:
            await run
            return
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            await run
        finally:
            profiler.disable()
            profiler.dump_stats(profile)


async def slack_alone(runtime: Runtime) -> None:
    """Only the Slack channel: no dispatchers, no scheduler (to tell their cost apart)."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    channel = SlackChannel(runtime)
    await channel.start()
    try:
        await stop.wait()
    finally:
        await channel.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slack click latency (see the module doc).")
    parser.add_argument("--clicks", type=int, default=0, help="500; 100 with --single")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--single", action="store_true", help="one click at a time, each awaiting its outcome"
    )
    parser.add_argument("--profile", help="write a cProfile of the app process here")
    parser.add_argument(
        "--bare", action="store_true", help="run only the Slack channel (no dispatchers)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve_child(args.profile, args.bare))
        return 0
    logging.basicConfig(level=logging.WARNING)
    clicks = args.clicks or (100 if args.single else 500)
    concurrency = 1 if args.single else args.concurrency
    return asyncio.run(bench(clicks, concurrency, args.profile, args.bare, args.single))


if __name__ == "__main__":
    sys.exit(main())
