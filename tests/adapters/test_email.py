"""Idempotent email sending: real aiosmtpd server, real SQLite ledger, no mocks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.email import EmailSender
from adapters.errors import EffectDeferred, EffectFailed, EffectInDoubt
from adapters.ledger import SendResult
from adapters.mime import EmailMessage, build_mime, message_id_for
from adapters.outbox import OutboxTransport
from adapters.smtp import SmtpConfig, SmtpTransport
from adapters.transport import RetryPolicy, Transport
from memory import effects, events
from memory.db import Sessions
from tests.fakes.smtp import SmtpSink

SENDER = "Deskhand <desk@example.com>"
MESSAGE = EmailMessage(to="ada@example.org", subject="Your quote", body="Hello Ada,\n\nSee you.\n")
REPO = Path(__file__).resolve().parents[2]


T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)


class FixedClock:
    """Stands in for the wall clock: a time the test sets."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def smtp_sender(
    sessions: Sessions, url: str, clock: FixedClock, *, timeout: float = 5.0
) -> EmailSender:
    config = SmtpConfig.from_url(f"{url}?timeout={timeout}")
    return EmailSender(
        sessions=sessions,
        transport=SmtpTransport(config, local_hostname="client.test"),
        sender=SENDER,
        clock=clock,
    )


async def ledger(sessions: Sessions, key: str) -> effects.Effect | None:
    async with sessions() as session:
        return await effects.get(session, key=key)


async def event_kinds(sessions: Sessions, run_id: str) -> list[str]:
    async with sessions() as session:
        return [e.kind for e in await events.for_run(session, run_id=run_id)]


# -- happy path and idempotency -------------------------------------------------------


async def test_send_delivers_one_message_with_derived_message_id(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    result = await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    expected_id = message_id_for("run1:quote", SENDER)
    assert (result.status, result.key, result.message_id, result.transport) == (
        "sent",
        "run1:quote",
        expected_id,
        "smtp",
    )
    assert len(smtp_sink.messages) == 1
    received = smtp_sink.received[0]
    assert (received.mail_from, received.rcpt_tos) == ("desk@example.com", ("ada@example.org",))
    msg = received.message
    assert msg["Message-ID"] == expected_id
    assert (msg["From"], msg["To"], msg["Subject"]) == (SENDER, MESSAGE.to, MESSAGE.subject)
    assert msg["Date"] is not None
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content() == MESSAGE.body
    row = await ledger(sessions, "run1:quote")
    assert row is not None
    assert (row.status, row.attempts, row.kind) == ("succeeded", 1, "email")
    assert row.request["message_id"] == expected_id
    assert row.result == {"message_id": expected_id, "transport": "smtp", "detail": result.detail}
    assert await event_kinds(sessions, "run1") == ["effect.succeeded"]


async def test_same_key_twice_sends_once(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    first = await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    second = await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert (first.status, second.status) == ("sent", "already_sent")
    assert second.message_id == first.message_id
    assert (second.transport, second.detail) == (first.transport, first.detail)
    assert len(smtp_sink.messages) == 1
    assert smtp_sink.data_commands == 1


async def test_unicode_subject_and_body_and_reply_to(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    message = EmailMessage(
        to="zoe@example.org",
        subject="Café ☕ – devis",
        body="Bonjour Zoé,\n.\n.. a line starting with dots\n",
        reply_to="owner@example.com",
    )
    await smtp_sender(sessions, smtp_sink.url, clock).send(message, key="k", run_id=None)

    [msg] = smtp_sink.messages
    assert msg["Subject"] == message.subject
    assert msg["Reply-To"] == "owner@example.com"
    assert msg.get_content() == message.body


def test_message_id_is_deterministic_per_key() -> None:
    a = message_id_for("run1:quote", "desk@Example.COM")
    assert a == message_id_for("run1:quote", "Other Name <desk@example.com>")
    assert a != message_id_for("run2:quote", "desk@example.com")
    assert a.startswith("<") and a.endswith("@example.com>")
    assert len(a.strip("<>").split("@")[0]) == 32
    assert message_id_for("k", "no-address").endswith("@localhost>")


# -- retries and failures -------------------------------------------------------------


async def test_temporary_refusal_is_retried_later_not_in_a_loop(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    smtp_sink.fail_next(451, times=2)
    sender = smtp_sender(sessions, smtp_sink.url, clock)
    policy = RetryPolicy()

    with pytest.raises(EffectDeferred) as first:
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert smtp_sink.data_commands == 1  # one try, then the ledger holds the retry
    assert first.value.short == "mail server busy (SMTP 451)"
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("retrying", 1)
    assert row.next_try_at == first.value.next_try_at
    gap = (first.value.next_try_at - T0).total_seconds()
    assert policy.first_delay / 2 <= gap <= policy.first_delay
    assert row.retry_until == T0 + policy.window

    clock.now = first.value.next_try_at
    with pytest.raises(EffectDeferred) as second:
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("retrying", 2)
    assert row.retry_until == T0 + policy.window  # the window counts from the first failure
    gap = (second.value.next_try_at - clock.now).total_seconds()
    assert policy.first_delay <= gap <= 2 * policy.first_delay

    result = await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    assert result.status == "sent" and len(smtp_sink.messages) == 1
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts, row.next_try_at) == ("succeeded", 3, None)
    assert await event_kinds(sessions, "run1") == [
        "effect.retrying",
        "effect.retrying",
        "effect.succeeded",
    ]


def test_retry_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(first_delay=1.0, max_delay=5.0)
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0), (500, 5.0)]:
        assert cap / 2 <= policy.delay(attempt) <= cap
    assert RetryPolicy().max_delay <= 300  # at most a few minutes apart
    with pytest.raises(ValueError):
        RetryPolicy(first_delay=0)


async def test_permanent_refusal_fails_without_retry(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    smtp_sink.fail_next(550)
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    with pytest.raises(EffectFailed) as caught:
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert caught.value.key == "run1:quote"
    assert "550" in caught.value.reason
    assert smtp_sink.messages == []
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("failed", 1)
    assert row.error is not None and "550" in row.error
    assert await event_kinds(sessions, "run1") == ["effect.failed"]


async def test_failed_key_may_be_sent_again(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    smtp_sink.fail_next(550)
    sender = smtp_sender(sessions, smtp_sink.url, clock)
    with pytest.raises(EffectFailed):
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    result = await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert result.status == "sent"
    assert len(smtp_sink.messages) == 1
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts, row.error) == ("succeeded", 2, None)
    assert await event_kinds(sessions, "run1") == ["effect.failed", "effect.succeeded"]


async def test_connection_refused_is_retried_later(sessions: Sessions, clock: FixedClock) -> None:
    # A bound socket that never listens: connecting to it is refused, and nobody else
    # can take the port while the test runs.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        sender = smtp_sender(sessions, f"smtp://127.0.0.1:{port}", clock)

        with pytest.raises(EffectDeferred) as caught:
            await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert "could not reach smtp://127.0.0.1" in caught.value.reason
    assert caught.value.short == "mail server unreachable"
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("retrying", 1)


async def test_failure_messages_and_logs_never_show_the_password(
    sessions: Sessions,
    smtp_sink: SmtpSink,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The sink offers no AUTH, so logging in is a configuration error: permanent.
    config = SmtpConfig.from_url(smtp_sink.url.replace("//", "//desk:s3cr%40t@"))
    assert config.password == "s3cr@t"
    sender = EmailSender(
        sessions=sessions,
        transport=SmtpTransport(config, local_hostname="client.test"),
        sender=SENDER,
        clock=clock,
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(EffectFailed) as caught:
        await sender.send(MESSAGE, key="k", run_id="run1")

    row = await ledger(sessions, "k")
    assert row is not None and row.status == "failed"
    texts = [str(caught.value), row.error or "", caplog.text]
    texts += [str(getattr(r, "error", "")) for r in caplog.records]
    assert not [t for t in texts if "s3cr" in t]
    assert smtp_sink.messages == []


# -- in doubt -------------------------------------------------------------------------


async def test_pending_row_from_a_crash_is_in_doubt_and_not_resent(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    # Simulated crash: intent recorded and an attempt counted, outcome never written.
    async with sessions() as session, session.begin():
        await effects.record_intent(
            session, key="run1:quote", kind="email", run_id="run1", request={"to": MESSAGE.to}
        )
        await effects.mark_attempt(session, key="run1:quote")
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    with pytest.raises(EffectInDoubt) as caught:
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert caught.value.key == "run1:quote"
    assert caught.value.message_id == message_id_for("run1:quote", SENDER)
    assert "resolve" in str(caught.value)
    assert smtp_sink.data_commands == 0
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("in_doubt", 1)
    async with sessions() as session:
        [event] = await events.of_kind(session, kind="effect.in_doubt")
    assert (event.run_id, event.data["key"]) == ("run1", "run1:quote")

    # Asking again changes nothing: still in doubt, still not sent, no second event.
    with pytest.raises(EffectInDoubt):
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    assert smtp_sink.data_commands == 0
    assert await event_kinds(sessions, "run1") == ["effect.in_doubt"]


async def test_intent_without_an_attempt_is_safe_to_send(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    # Died after writing the intent, before counting an attempt: nothing was handed over.
    async with sessions() as session, session.begin():
        await effects.record_intent(
            session, key="run1:quote", kind="email", run_id="run1", request={}
        )
    result = await smtp_sender(sessions, smtp_sink.url, clock).send(
        MESSAGE, key="run1:quote", run_id="run1"
    )
    assert result.status == "sent" and len(smtp_sink.messages) == 1
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("succeeded", 1)


async def test_operator_resolves_in_doubt_then_send_is_already_sent(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        await effects.record_intent(
            session, key="run1:quote", kind="email", run_id="run1", request={}
        )
        await effects.mark_attempt(session, key="run1:quote")
    sender = smtp_sender(sessions, smtp_sink.url, clock)
    with pytest.raises(EffectInDoubt):
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    async with sessions() as session, session.begin():
        assert await effects.resolve(
            session,
            key="run1:quote",
            outcome="succeeded",
            actor="telegram:42",
            note="Ada confirmed she got it",
        )
    result = await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert result.status == "already_sent"
    assert result.message_id == message_id_for("run1:quote", SENDER)
    assert smtp_sink.data_commands == 0
    assert await event_kinds(sessions, "run1") == ["effect.in_doubt", "effect.resolved"]


async def test_operator_resolves_in_doubt_as_failed_then_send_goes_out(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        await effects.record_intent(session, key="k", kind="email", run_id=None, request={})
        await effects.mark_in_doubt(session, key="k", error="crashed")
        await effects.resolve(session, key="k", outcome="failed", actor="terminal:local")

    result = await smtp_sender(sessions, smtp_sink.url, clock).send(MESSAGE, key="k", run_id=None)

    assert result.status == "sent"
    assert len(smtp_sink.messages) == 1


async def test_connection_dropped_after_data_is_in_doubt(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    smtp_sink.drop_next()  # the server keeps the message but never answers 250
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    with pytest.raises(EffectInDoubt):
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    with pytest.raises(EffectInDoubt):
        await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    assert len(smtp_sink.messages) == 1  # delivered once, and never repeated
    row = await ledger(sessions, "run1:quote")
    assert row is not None and (row.status, row.attempts) == ("in_doubt", 1)
    assert await event_kinds(sessions, "run1") == ["effect.in_doubt"]


async def test_on_message_hook_runs_while_the_effect_is_still_pending(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock, sqlite_url: str
) -> None:
    seen: list[tuple[str, int]] = []

    def peek(_msg: object) -> None:
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
            seen.extend(db.execute("SELECT status, attempts FROM effects").fetchall())

    smtp_sink.on_message = peek
    await smtp_sender(sessions, smtp_sink.url, clock).send(MESSAGE, key="k", run_id=None)

    assert seen == [("pending", 1)]


async def test_sender_killed_mid_delivery_leaves_effect_in_doubt(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock, sqlite_url: str, tmp_path: Path
) -> None:
    """A real crash: the sending process is SIGKILLed after the server got the message."""
    script = tmp_path / "send_once.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            from adapters.email import EmailSender
            from adapters.mime import EmailMessage
            from adapters.smtp import SmtpConfig, SmtpTransport
            from memory.db import create_engine, create_sessions

            async def main() -> None:
                engine = create_engine({sqlite_url.replace("sqlite:", "sqlite+aiosqlite:")!r})
                sender = EmailSender(
                    sessions=create_sessions(engine),
                    transport=SmtpTransport(SmtpConfig.from_url({smtp_sink.url!r})),
                    sender={SENDER!r},
                )
                await sender.send(EmailMessage({MESSAGE.to!r}, "hi", "body"), key="k", run_id=None)

            asyncio.run(main())
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs: list[subprocess.Popen[bytes]] = []
    # Kill the sender after the server has the message but before it answers 250: the
    # worst moment, when the message is out and the ledger still says pending.
    smtp_sink.on_message = lambda _msg: os.kill(procs[0].pid, signal.SIGKILL)
    proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=REPO)
    procs.append(proc)
    try:
        returncode = await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert returncode == -signal.SIGKILL
    assert len(smtp_sink.messages) == 1

    with pytest.raises(EffectInDoubt):
        await smtp_sender(sessions, smtp_sink.url, clock).send(MESSAGE, key="k", run_id=None)

    assert len(smtp_sink.messages) == 1
    row = await ledger(sessions, "k")
    assert row is not None and row.status == "in_doubt"


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage(to=MESSAGE.to, subject="Hi\r\nBcc: victim@example.net", body="x"),
        EmailMessage(to=MESSAGE.to, subject="Hi\nthere", body="x"),
        EmailMessage(to="ada@example.org\nBcc: victim@example.net", subject="Hi", body="x"),
        EmailMessage(to=MESSAGE.to, subject="Hi", body="x", reply_to="a@b.c\r\nX: y"),
        EmailMessage(to="  ", subject="Hi", body="x"),
    ],
)
async def test_header_injection_is_rejected_before_anything_is_recorded(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock, message: EmailMessage
) -> None:
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    with pytest.raises(ValueError):
        await sender.send(message, key="k", run_id=None)

    assert await ledger(sessions, "k") is None
    assert smtp_sink.data_commands == 0


def test_sender_with_line_break_is_rejected(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sender"):
        EmailSender(sessions=sessions, transport=OutboxTransport(tmp_path), sender="a@b\nBcc: c")


# -- outbox transport -----------------------------------------------------------------


async def test_outbox_writes_one_eml_and_is_idempotent(
    sessions: Sessions, tmp_path: Path, clock: FixedClock
) -> None:
    outbox = tmp_path / "outbox"
    transport: Transport = OutboxTransport(outbox)
    sender = EmailSender(sessions=sessions, transport=transport, sender=SENDER, clock=clock)

    first = await sender.send(MESSAGE, key="run1:quote", run_id="run1")
    second = await sender.send(MESSAGE, key="run1:quote", run_id="run1")

    files = sorted(outbox.iterdir())
    digest = message_id_for("run1:quote", SENDER).strip("<>").split("@")[0]
    assert [f.name for f in files] == [f"{digest}.eml"]
    assert (first.status, first.transport, first.detail) == ("sent", "outbox", str(files[0]))
    assert second.status == "already_sent"
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == first.message_id
    assert parsed.get_content() == MESSAGE.body


async def test_outbox_transport_replaces_rather_than_duplicates(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path)
    mime = build_mime(MESSAGE, sender=SENDER, message_id=message_id_for("k", SENDER))
    first = await transport.deliver(mime)
    second = await transport.deliver(mime)

    assert first == second
    assert [p.name for p in tmp_path.iterdir()] == [Path(first).name]  # no temp files left


# -- SMTP configuration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, None)),
        ("smtp://u:p@mail.example.com:2525", ("mail.example.com", 2525, "u", "p", False, None)),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "u", "p", True, False)),
        (
            "smtp://me%40example.com:p%40ss%3Aw%2Fd@smtp.example.com:587?starttls=true",
            ("smtp.example.com", 587, "me@example.com", "p@ss:w/d", False, True),
        ),
        ("SMTP://127.0.0.1:1025?starttls=false", ("127.0.0.1", 1025, None, None, False, False)),
    ],
)
def test_smtp_config_from_url(url: str, expected: tuple[object, ...]) -> None:
    config = SmtpConfig.from_url(url)
    assert (
        config.host,
        config.port,
        config.username,
        config.password,
        config.implicit_tls,
        config.starttls,
    ) == expected


def test_smtp_config_timeout_parameter() -> None:
    assert SmtpConfig.from_url("smtp://h").timeout == 30.0
    assert SmtpConfig.from_url("smtp://h?timeout=2.5").timeout == 2.5


def test_smtp_config_repr_hides_password() -> None:
    config = SmtpConfig.from_url("smtps://desk:hunter2%21@mail.example.com")
    assert config.password == "hunter2!"
    for text in (repr(config), str(config), f"{config}", config.describe()):
        assert "hunter2" not in text
    assert "password='***'" in repr(config)
    assert config.describe() == "smtps://mail.example.com:465"
    assert SmtpConfig.from_url("smtp://[::1]:2525").describe() == "smtp://[::1]:2525"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://u:secretpw@mail.example.com", "scheme 'http'"),
        ("mail.example.com:25", "scheme"),
        ("smtp://u:secretpw@:25", "no host"),
        ("smtp://u:secretpw@host:notaport", "invalid port"),
        ("smtp://u:secretpw@host?starttls=maybe", "starttls must be"),
        ("smtps://u:secretpw@host?starttls=true", "already uses TLS"),
        ("smtp://u:secretpw@host?tls=1", "unknown SMTP URL parameter"),
        ("smtp://u:secretpw@host?timeout=soon", "timeout"),
    ],
)
def test_smtp_config_rejects_bad_urls_without_echoing_them(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as caught:
        SmtpConfig.from_url(url)
    assert "secretpw" not in str(caught.value)


# -- concurrency ----------------------------------------------------------------------


async def test_twenty_concurrent_sends_on_sqlite(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    sender = smtp_sender(sessions, smtp_sink.url, clock)
    messages = [
        EmailMessage(to=f"user{i}@example.org", subject=f"Note {i}", body=f"Body {i}")
        for i in range(20)
    ]

    results = await asyncio.gather(
        *(sender.send(m, key=f"run{i}:note", run_id=f"run{i}") for i, m in enumerate(messages))
    )

    assert [r.status for r in results] == ["sent"] * 20
    assert len(smtp_sink.messages) == 20
    assert sorted(m["Message-ID"] for m in smtp_sink.messages) == sorted(
        r.message_id for r in results
    )
    async with sessions() as session:
        rows = [await effects.get(session, key=f"run{i}:note") for i in range(20)]
    assert {(r.status, r.attempts) for r in rows if r is not None} == {("succeeded", 1)}


async def test_concurrent_sends_with_the_same_key_deliver_at_most_once(
    sessions: Sessions, smtp_sink: SmtpSink, clock: FixedClock
) -> None:
    """Callers must serialize per key; if they do not, the ledger still never sends twice.

    A racer that finds the winner's pending row takes it for a crashed attempt and marks
    it in doubt; depending on timing the winner then either delivers (and its proof of
    success settles the row) or loses its claim and sends nothing.
    """
    sender = smtp_sender(sessions, smtp_sink.url, clock)

    outcomes = await asyncio.gather(
        *(sender.send(MESSAGE, key="shared", run_id="run1") for _ in range(5)),
        return_exceptions=True,
    )

    sent = [o for o in outcomes if isinstance(o, SendResult) and o.status == "sent"]
    rest = [o for o in outcomes if o not in sent]
    assert all(
        isinstance(o, EffectInDoubt) or (isinstance(o, SendResult) and o.status == "already_sent")
        for o in rest
    )
    assert len(smtp_sink.messages) == len(sent) <= 1
    row = await ledger(sessions, "shared")
    assert row is not None
    assert row.status == ("succeeded" if sent else "in_doubt")


# -- the fake itself ------------------------------------------------------------------


def test_smtp_sink_needs_no_pytest() -> None:
    code = (
        "import sys\n"
        "from tests.fakes.smtp import SmtpSink\n"
        "with SmtpSink() as sink:\n"
        "    assert sink.url.startswith('smtp://127.0.0.1:')\n"
        "assert 'pytest' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()


def test_smtp_sink_stops_cleanly() -> None:
    before = {t.name for t in threading.enumerate()}
    sink = SmtpSink()
    sink.start()
    port = sink.port
    sink.stop()
    sink.stop()  # idempotent
    assert "smtp-sink" not in {t.name for t in threading.enumerate()} - before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
