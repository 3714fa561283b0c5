"""Tap latency through Telegram: a callback update in, ``answerCallbackQuery`` and the edit out.

Set-up, not timed: a SQLite database with one onboarding run per tap waiting at its gate,
and every card posted to the operator's chat by the bot's own dispatcher. The bot runs as
``deskhand run`` would, in a child process (``--serve``), against the local Bot API server
(``tests/fakes/telegram_api.py``) in this process, which timestamps each request as it
arrives. Then each tap is injected into the ``getUpdates`` queue (or POSTed to the bot's
webhook with ``--mode webhook``), ``--concurrency`` at a time, and two latencies are taken:
to ``answerCallbackQuery`` and to ``editMessageText`` (the card showing "Approved by ...").
The issue times them from the callback update arriving, so the targets are read from the
moment the server hands the update to the bot (a ``getUpdates`` response, or the webhook
POST); the rows from the moment the tap was queued at the server add the wait for the
bot's next ``getUpdates``, and are shown too. The email is not sent:
:class:`NullTransport` discards it, so the workflow's external effect is excluded and
every database write around it is included.

    python -m bench.telegram_taps [--taps 500] [--concurrency 20] [--mode polling|webhook]
        [--max-rate 30] [--core] [--profile child.prof]
    python -m bench.telegram_taps --single [--taps 100]    # one tap at a time
    python -m bench.telegram_taps --approve-all 50          # the digest's button

``--single`` is how one person uses it: a tap, then the next once the card shows the run's
outcome (a third latency, tap to that second edit). ``--approve-all N`` puts N low-risk
requests (contact updates), each with its card in the chat, in a digest and taps its
"Approve all low-risk" button once per round (``--rounds``): the latencies are to the
tap's answer, to the reply saying what was approved, and to the last of the N cards
showing its outcome. With the rate limiter on (the default, 30 messages a second), the
floor for that last one is what the limiter lets through: N edits and one reply.

``--core`` also times the same taps straight into the core (``Core.check`` then
``Core.handle``, no Telegram, same concurrency) in this process, for comparison; the CPU
lines say how much processor time each tap cost the bot process and the core alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import platform
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.approvals import NullTransport
from bot.core.messages import ApprovalCard, ButtonAction, Inbound, User
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from tests.fakes.telegram_api import Call, FakeTelegram

OPERATOR = 111
WARMUP = 20  # taps run first and not counted (imports, caches, connection pools)
TARGETS_MS = {"answer": 100.0, "edit": 300.0, "outcome": 2000.0}
SECRET = "bench-secret_1"
ONBOARD = '/run onboarding name="Bo Diaz" email=bo{n}@example.com company="Acme & Co"'


@dataclass(frozen=True)
class Plan:
    """What to measure and how the bot is configured."""

    taps: int
    concurrency: int
    mode: str
    max_rate: float
    profile: Path | None
    single: bool = False  # each tap waits for the run's outcome before the next


def environment(plan: Plan, home: Path, fake: FakeTelegram, port: int) -> dict[str, str]:
    """The settings the bot process reads, as environment variables."""
    values = {
        "DESKHAND_HOME": str(home),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url.removesuffix("/bot"),
        "TELEGRAM_ALLOWED_USERS": str(OPERATOR),
        "DESKHAND_TELEGRAM_MAX_RATE": str(plan.max_rate),
        "DESKHAND_LOG_LEVEL": "WARNING",
    }
    if plan.mode == "webhook":
        values |= {
            "DESKHAND_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
            "DESKHAND_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "DESKHAND_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
            "DESKHAND_TELEGRAM_WEBHOOK_PORT": str(port),
        }
    return values


async def prepare(env: dict[str, str], count: int) -> None:
    """Start ``count`` onboarding runs, each left waiting at its approval gate (not timed)."""
    async with _runtime(env) as runtime:
        await _start_runs(runtime, count)


@asynccontextmanager
async def _runtime(env: dict[str, str]) -> AsyncIterator[Runtime]:
    settings = Settings(_env_file=None, **env)  # type: ignore[arg-type, call-arg]
    async with open_runtime(settings, transport=NullTransport()) as runtime:
        yield runtime


async def _start_runs(runtime: Runtime, count: int) -> list[str]:
    gate = asyncio.Semaphore(10)
    user = User("terminal", "bench", "Ana")

    async def one(n: int) -> str:
        async with gate:
            response = await runtime.core.handle(Inbound(user, text=ONBOARD.format(n=n)))
        cards = [r for r in response.replies if isinstance(r, ApprovalCard)]
        assert cards and not response.refused, response
        return cards[0].approval.id

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def core_floor(env: dict[str, str], plan: Plan) -> tuple[dict[str, list[float]], float]:
    """The same taps straight into the core, no Telegram: ``check``, then ``handle``."""
    async with _runtime(env) as runtime:
        ids = await _start_runs(runtime, plan.taps + WARMUP)
        user = User("telegram", str(OPERATOR), "Ana")
        times: dict[str, list[float]] = {"core.check": [], "core.handle": []}

        async def tap(approval_id: str) -> None:
            inbound = Inbound(user, action=ButtonAction("approve", approval_id))
            began = time.monotonic()
            checked = await runtime.core.check(inbound)
            middle = time.monotonic()
            decided = await runtime.core.handle(inbound)
            ended = time.monotonic()
            assert not checked.refused and not decided.refused, decided
            times["core.check"].append((middle - began) * 1000)
            times["core.handle"].append((ended - middle) * 1000)

        async def drive(batch: list[str]) -> None:
            pending = iter(batch)

            async def worker() -> None:
                for approval_id in pending:
                    await tap(approval_id)

            await asyncio.gather(*(worker() for _ in range(plan.concurrency)))

        await drive(ids[:WARMUP])
        for values in times.values():
            values.clear()
        cpu = time.process_time()  # every thread of this process: SQLite works in threads
        await drive(ids[WARMUP:])
        cpu_per_tap = (time.process_time() - cpu) / plan.taps * 1000
    return times, cpu_per_tap


class Taps:
    """Injects taps and matches the bot's answers and edits to them as they arrive."""

    def __init__(self, fake: FakeTelegram, plan: Plan, port: int, *, floor: bool = False) -> None:
        self._fake = fake
        self._plan = plan
        self._wait_outcome = plan.single and not floor  # the floor shows no outcome
        self._url = f"http://127.0.0.1:{port}/telegram"
        self._answers: dict[str, asyncio.Future[float]] = {}
        self._edits: dict[int, asyncio.Future[float]] = {}
        self._outcomes: dict[int, asyncio.Future[float]] = {}
        fake.on_call = self._arrived

    def _arrived(self, call: Call) -> None:
        method = call.method.lower()
        waiters: list[asyncio.Future[float] | None] = []
        if method == "answercallbackquery":
            waiters.append(self._answers.pop(str(call.params.get("callback_query_id")), None))
        elif method == "editmessagetext":
            message_id = int(call.params.get("message_id", 0))
            if "Approved by" in str(call.params.get("text")):
                waiters.append(self._edits.pop(message_id, None))
            if _outcome(call):  # the first edit, when the run had finished by then
                waiters.append(self._outcomes.pop(message_id, None))
        for waiter in waiters:
            if waiter is not None and not waiter.done():
                waiter.set_result(call.at)

    def expect_outcome(self, message_id: int) -> asyncio.Future[float]:
        """A future set when that card shows its run's outcome."""
        waiter = asyncio.get_running_loop().create_future()
        self._outcomes[message_id] = waiter
        return waiter

    async def tap(self, card: dict[str, Any], http: aiohttp.ClientSession) -> Latency:
        """One tap on Approve, timed from its delivery to the bot and from its queueing."""
        loop = asyncio.get_running_loop()
        answered, edited = loop.create_future(), loop.create_future()
        self._edits[card["message_id"]] = edited
        outcome = self.expect_outcome(card["message_id"])
        data = _approve_data(card)
        queue = self._plan.mode == "polling"
        began = time.monotonic()
        update = self._fake.tap(OPERATOR, card["message_id"], data, queue=queue)
        self._answers[update["callback_query"]["id"]] = answered
        if not queue:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(self._url, json=update, headers=headers) as response:
                assert response.status == 200, response.status
        at_answer, at_edit = await asyncio.wait_for(asyncio.gather(answered, edited), 60)
        if self._wait_outcome:  # one person: the next tap once this card shows the outcome
            await asyncio.wait_for(outcome, 60)
        # Polling: delivered when a getUpdates response first carried it. Webhook: the POST
        # above is the delivery.
        delivered = self._fake.delivered.get(update["update_id"], began)
        return Latency(
            answer=(at_answer - delivered) * 1000,
            edit=(at_edit - delivered) * 1000,
            queued_answer=(at_answer - began) * 1000,
            queued_edit=(at_edit - began) * 1000,
            delivered=delivered,
            outcome=outcome,
        )


@dataclass(frozen=True)
class Latency:
    """One tap's latencies in ms: from the update's delivery to the bot (the issue's
    measure), and from the moment it was queued at the Bot API server, which adds the
    wait for the bot's next ``getUpdates``; the outcome's edit is awaited at the end."""

    answer: float
    edit: float
    queued_answer: float
    queued_edit: float
    delivered: float
    outcome: asyncio.Future[float]

    async def to_outcome(self) -> float:
        """Milliseconds from delivery to the card showing the run's outcome."""
        return (await asyncio.wait_for(self.outcome, 120) - self.delivered) * 1000


@dataclass
class Results:
    """Latencies in milliseconds by row, figures per tap, Bot API calls per tap."""

    latencies: dict[str, list[float]]
    per_tap: dict[str, float]
    calls: dict[str, float]


async def run(plan: Plan, *, floor: bool = False) -> Results:
    """Set up, measure, tear down; ``floor`` measures the bare library bot instead."""
    home = Path(tempfile.mkdtemp(prefix="deskhand-bench-tg-"))
    total = plan.taps + WARMUP
    async with FakeTelegram() as fake:
        port = _free_port()
        env = environment(plan, home, fake, port)
        if floor:
            env["BENCH_FLOOR_CARDS"] = str(total)
        else:
            await prepare(env, total)
        child = await _start_child(env, plan.profile, floor=floor)
        try:
            await fake.wait_for("sendMessage", total, timeout=120, predicate=_is_card)
            if plan.mode == "webhook":
                await fake.wait_for("setWebhook", timeout=30)
            cards = [m for m in fake.sent_messages(OPERATOR) if _approve_data(m)]
            taps = Taps(fake, plan, port, floor=floor)
            async with aiohttp.ClientSession() as http:
                await _drive(taps, cards[:WARMUP], http, plan.concurrency)
                if not floor:  # the warm-up's resumes run now, not inside the measured taps
                    await fake.wait_for("editMessageText", WARMUP, timeout=60, predicate=_outcome)
                # The local Bot API server lives in this process and records every call:
                # keep the collector's full passes over that growing heap out of the timings.
                gc.collect()
                gc.freeze()
                if plan.profile is not None:
                    child.send_signal(signal.SIGUSR1)  # profile the measured taps only
                began, cpu_before = time.monotonic(), _cpu_seconds(child.pid)
                results = await _drive(taps, cards[WARMUP:total], http, plan.concurrency)
                elapsed, cpu = time.monotonic() - began, _cpu_seconds(child.pid) - cpu_before
                if plan.profile is not None:
                    child.send_signal(signal.SIGUSR2)
            outcomes = [] if floor else [await r.to_outcome() for r in results]
            edited = [m for m in fake.sent_messages(OPERATOR) if "Approved by" in m["text"]]
            assert len(edited) == total, f"{len(edited)} of {total} cards show the approval"
            calls = Counter(c.method for c in fake.calls if c.at >= began)
        except BaseException:
            print(f"bench failed; the bot's log is {home / 'bot.log'}", file=sys.stderr)
            raise
        finally:
            child.send_signal(signal.SIGTERM)
            await asyncio.wait_for(child.wait(), 60)
    shutil.rmtree(home, ignore_errors=True)
    return Results(
        latencies={
            "answer": [r.answer for r in results],
            "edit": [r.edit for r in results],
            "queued answer": [r.queued_answer for r in results],
            "queued edit": [r.queued_edit for r in results],
            "outcome": outcomes,
        },
        per_tap={
            "taps per second": plan.taps / elapsed,
            "bot process CPU ms per tap": cpu / plan.taps * 1000,
        },
        calls={method: calls[method] / plan.taps for method in sorted(calls)},
    )


async def _drive(
    taps: Taps, cards: Sequence[dict[str, Any]], http: aiohttp.ClientSession, concurrency: int
) -> list[Latency]:
    pending = iter(cards)
    results: list[Latency] = []

    async def worker() -> None:
        for card in pending:
            results.append(await taps.tap(card, http))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process used so far; Linux only, else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _approve_data(message: dict[str, Any]) -> str:
    """The Approve button's data on an approval card ("" for any other message)."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or [[{}]]
    data = str(rows[0][0].get("callback_data", ""))
    return data if data.startswith("a:") else ""


def _outcome(call: Call) -> bool:
    """The card's second edit: where the run ended ("Run R... completed: Sent to ...")."""
    return " completed" in str(call.params.get("text"))


def _is_card(call: Call) -> bool:
    return bool((call.params.get("reply_markup") or {}).get("inline_keyboard"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_child(
    env: dict[str, str], profile: Path | None, *, floor: bool = False
) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "bench.telegram_taps", "--serve-floor" if floor else "--serve"]
    if profile is not None:
        args += ["--profile", str(profile)]
    return await asyncio.create_subprocess_exec(*args, env={**os.environ, **env})


async def serve() -> None:
    """The bot process: ``deskhand run`` with the email discarded, until SIGTERM."""
    from bot import logs
    from bot.channels import serve as serve_channels
    from bot.settings import load_settings

    settings = load_settings()
    logs.configure(level="WARNING", secrets=settings.secrets(), file=settings.home / "bot.log")
    async with open_runtime(settings, transport=NullTransport()) as runtime:
        await serve_channels(runtime)


async def serve_floor() -> None:
    """The library floor: python-telegram-bot alone, built as Deskhand builds it.

    Same :func:`bot.telegram.app.build_application` (rate limiter, concurrency, timeouts),
    same polling, and one handler doing the least a tap needs: answer it, then edit the
    message to say who approved it. No database, no workflow. It first posts
    ``BENCH_FLOOR_CARDS`` messages with an Approve button to tap (set-up).
    """
    from datetime import UTC, datetime

    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import CallbackQueryHandler, ContextTypes

    from bot.settings import load_settings
    from bot.telegram.app import build_application

    settings = load_settings()
    application = build_application(settings)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        when = datetime.now(UTC).strftime("%H:%M")
        await query.edit_message_text(f"<b>Approved by {query.from_user.first_name} at {when}</b>")

    application.add_handler(CallbackQueryHandler(press))
    await application.initialize()
    await application.start()
    for n in range(int(os.environ["BENCH_FLOOR_CARDS"])):
        button = InlineKeyboardButton("Approve", callback_data=f"a:F{n:04d}")
        markup = InlineKeyboardMarkup([[button]])
        await application.bot.send_message(OPERATOR, f"Card {n}", reply_markup=markup)
    updater = application.updater
    assert updater is not None
    await updater.start_polling(poll_interval=0, timeout=timedelta(seconds=10))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await updater.stop()
    await application.stop()
    await application.shutdown()


LOW = "update_contact"


async def approve_all(items: int, rounds: int, max_rate: float) -> bool:
    """``rounds`` times: N low-risk cards and a digest offering them, its button tapped once.

    Prints the latencies of each round and the floor the rate limiter sets; True when every
    card showed its outcome each round.
    """
    plan = Plan(items, 1, "polling", max_rate, None)
    rows: dict[str, list[float]] = {"answer": [], "reply": [], "last card": []}
    for _ in range(rounds):
        home = Path(tempfile.mkdtemp(prefix="deskhand-bench-tg-all-"))
        async with FakeTelegram() as fake:
            env = environment(plan, home, fake, _free_port()) | {"DESKHAND_BATCH_LIMIT": "0"}
            cards, digest = await _prepare_low(env, fake, items)
            child = await _start_child(env, None)
            try:
                got = await _tap_approve_all(fake, cards, digest)
            finally:
                child.send_signal(signal.SIGTERM)
                await asyncio.wait_for(child.wait(), 60)
        shutil.rmtree(home, ignore_errors=True)
        for name, value in got.items():
            rows[name].append(value)
    budget = max_rate or float("inf")
    # aiolimiter lets a full second's budget through at once, then max_rate a second.
    floor = max(0.0, (items + 1 - budget) / budget) * 1000
    print(
        f"Telegram approve all low-risk: {items} items, {rounds} rounds, rate limit "
        f"{max_rate:g}/s (0 = off), SQLite, email discarded "
        f"({platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    for name, values in rows.items():
        print(f"tap -> {name:<12} ms: " + ", ".join(f"{v:.0f}" for v in values))
    print(f"rate limiter floor for {items} edits and the reply: {floor:.0f} ms")
    return True


async def _prepare_low(
    env: dict[str, str], fake: FakeTelegram, items: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """N contacts, an update of each waiting at its gate with its card posted, a digest."""
    from datetime import UTC, datetime

    from bot.attention.digest import assemble
    from bot.core.delivery import record_shown
    from bot.core.messages import ApprovalView
    from bot.telegram.app import TelegramChannel
    from memory import jobs, records

    async with _runtime(env) as runtime:
        async with runtime.sessions.begin() as session:
            for n in range(items):
                await records.upsert_contact(
                    session,
                    email=f"c{n}@example.com",
                    name=f"C {n}",
                    company=None,
                    need=None,
                    source="bench",
                )
        channel = TelegramChannel(runtime)
        await channel.application.initialize()
        notifier = channel._notifier
        notifier.set_ready(True)
        for n in range(items):
            inputs = {"email": f"c{n}@example.com", "company": f"Co {n}"}
            report = await runtime.manager.start(LOW, inputs, actor="cli")
            assert report.approval is not None
            view = ApprovalView.of(report.approval)
            ref = await notifier.post_approval(view)
            assert ref is not None
            await record_shown(runtime.sessions, view=view, ref=ref, claim=True)
        now = datetime.now(UTC)
        key = runtime.attention.policy.digest_key(now)
        async with runtime.sessions.begin() as session:
            shown = await assemble(
                session, key=key, period_start=now - timedelta(days=1), now=now, page=items
            )
            summary = {"low_risk_ids": list(shown.low_risk_ids), "waiting": items}
            await jobs.claim_digest(
                session, key=key, period_start=shown.period_start, period_end=now, summary=summary
            )
        assert len(shown.low_risk_ids) == items, shown.low_risk_ids
        await notifier.post_digest(shown)
        notifier.set_ready(False)
        await channel.application.shutdown()
    messages = fake.sent_messages(OPERATOR)
    cards = [m for m in messages if _approve_data(m)]
    digest = next(m for m in messages if _low_data(m))
    return cards, digest


async def _tap_approve_all(
    fake: FakeTelegram, cards: list[dict[str, Any]], digest: dict[str, Any]
) -> dict[str, float]:
    """Tap the digest's button once the bot polls; ms to the answer, reply, last outcome."""
    await fake.wait_for("getUpdates", 2, timeout=60)
    await asyncio.sleep(1.0)  # start-up's own passes (dispatcher, scheduler) settle
    loop = asyncio.get_running_loop()
    answered, replied = loop.create_future(), loop.create_future()
    left = {card["message_id"] for card in cards}
    done = loop.create_future()

    def arrived(call: Call) -> None:
        method = call.method.lower()
        if method == "answercallbackquery" and not answered.done():
            answered.set_result(call.at)
        elif method == "sendmessage" and "low-risk" in str(call.params.get("text")):
            if not replied.done():
                replied.set_result(call.at)
        elif method == "editmessagetext" and _outcome(call):
            left.discard(int(call.params.get("message_id", 0)))
            if not left and not done.done():
                done.set_result(call.at)

    fake.on_call = arrived
    update = fake.tap(OPERATOR, digest["message_id"], _low_data(digest))
    began = time.monotonic()
    await asyncio.wait_for(asyncio.gather(answered, replied, done), 120)
    delivered = fake.delivered.get(update["update_id"], began)
    return {
        "answer": (answered.result() - delivered) * 1000,
        "reply": (replied.result() - delivered) * 1000,
        "last card": (done.result() - delivered) * 1000,
    }


def _low_data(message: dict[str, Any]) -> str:
    """The "Approve all low-risk" button's data on a digest ("" for any other message)."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.startswith("low:"):
                return data
    return ""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def report(plan: Plan, results: Results) -> bool:
    """Print the table; True when every target is met."""
    print(
        f"Telegram taps: {plan.taps} taps, {plan.concurrency} at a time, {plan.mode}, "
        f"rate limit {plan.max_rate:g}/s (0 = off), SQLite, email discarded "
        f"({platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'latency (ms)':<40}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'target p99':>12}  ok")
    passed = True
    rows = [
        ("delivered -> answerCallbackQuery", "answer"),
        ("delivered -> editMessageText", "edit"),
        ("delivered -> outcome on the card", "outcome"),
        ("queued -> answerCallbackQuery", "queued answer"),
        ("queued -> editMessageText", "queued edit"),
        ("floor: PTB alone, delivered -> answer", "floor answer"),
        ("floor: PTB alone, delivered -> edit", "floor edit"),
        ("floor: PTB alone, queued -> answer", "floor queued answer"),
        ("core.check alone", "core.check"),
        ("core.handle (decide) alone", "core.handle"),
    ]
    for label, name in rows:
        values = results.latencies.get(name)
        if not values:
            continue
        p99 = percentile(values, 99)
        cells = "".join(f"{percentile(values, q):8.1f}" for q in (50, 90, 99))
        target, verdict = "", ""
        if name in TARGETS_MS:
            target, verdict = f"{TARGETS_MS[name]:.0f}", "yes" if p99 < TARGETS_MS[name] else "NO"
            passed &= p99 < TARGETS_MS[name]
        print(f"{label:<40}{cells}{max(values):8.1f}{target:>12}  {verdict}")
    for name in ("answer", "edit"):
        mine, bare = results.latencies.get(name), results.latencies.get(f"floor {name}")
        if mine and bare:
            ratios = [percentile(mine, q) / percentile(bare, q) for q in (50, 99)]
            print(f"{name + ' deskhand/floor':<40}{ratios[0]:7.2f}x{'':8}{ratios[1]:7.2f}x")
    for label, value in results.per_tap.items():
        print(f"{label:<40}{value:8.1f}")
    print("Bot API calls per tap: " + ", ".join(f"{m} {n:.2f}" for m, n in results.calls.items()))
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m bench.telegram_taps``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--taps", type=int, default=0, help="500; 100 with --single")
    parser.add_argument(
        "--single", action="store_true", help="one tap at a time, each awaiting its outcome"
    )
    parser.add_argument(
        "--approve-all", type=int, default=0, metavar="N", help="the digest's button on N"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --approve-all")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--mode", choices=("polling", "webhook"), default="polling")
    parser.add_argument(
        "--max-rate",
        type=float,
        default=30.0,
        help="DESKHAND_TELEGRAM_MAX_RATE for the bot (30, its default; 0 turns throttling off)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile the bot process during the measured taps into this file",
    )
    parser.add_argument(
        "--core", action="store_true", help="also time the same taps straight into the core"
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the python-telegram-bot floor run"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve_child(args.profile)
    if args.serve_floor:
        asyncio.run(serve_floor())
        return 0
    if args.approve_all:
        return 0 if asyncio.run(approve_all(args.approve_all, args.rounds, args.max_rate)) else 1
    concurrency = 1 if args.single else args.concurrency
    taps = args.taps or (100 if args.single else 500)
    plan = Plan(taps, concurrency, args.mode, args.max_rate, args.profile, args.single)
    results = asyncio.run(run(plan))
    if not args.no_floor and plan.mode == "polling":
        floor = asyncio.run(run(plan, floor=True))
        results.latencies |= {f"floor {k}": v for k, v in floor.latencies.items()}
        for label, value in floor.per_tap.items():
            results.per_tap[f"floor: {label}"] = value
    if args.core:
        home = tempfile.mkdtemp(prefix="deskhand-bench-core-")
        env = {"DESKHAND_HOME": home, "TELEGRAM_ALLOWED_USERS": str(OPERATOR)}
        times, cpu_per_tap = asyncio.run(core_floor(env, plan))
        shutil.rmtree(home, ignore_errors=True)
        results.latencies |= times
        results.per_tap["core alone CPU ms per tap"] = cpu_per_tap
    return 0 if report(plan, results) else 1


def _serve_child(profile: Path | None) -> int:
    if profile is None:
        asyncio.run(serve())
        return 0
    import cProfile

    profiler = cProfile.Profile()
    # The bench signals the measured window: SIGUSR1 at its start, SIGUSR2 at its end.
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    signal.signal(signal.SIGUSR2, lambda *_: profiler.disable())
    asyncio.run(serve())
    profiler.dump_stats(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
