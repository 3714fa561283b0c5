"""A real SMTP server on 127.0.0.1 that records what it receives.

``SmtpSink`` runs aiosmtpd on its own event loop in a background thread, so it works
from async tests, plain sync code and subprocess scripts alike (no pytest needed)::

    sink = SmtpSink()
    sink.start()
    ...  # send to sink.url
    sink.stop()

Knobs for failure tests: ``fail_next(451)`` answers the next message's DATA with a
refusal, ``drop_next()`` keeps the message but hangs up instead of replying (the
"did it arrive?" case), and ``on_message`` runs a callback after a message arrived and
before the 250 reply is sent (e.g. to SIGKILL the sending process at the worst moment).
``go_down()`` closes the listening socket (connection refused) and ``come_back()`` opens
it again on the same port; ``greet_with(421)`` answers new connections with that code
and hangs up; ``refuse_recipient(address, 550)`` refuses one address at RCPT.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)

OnMessage = Callable[[email.message.EmailMessage], None]


@dataclass(frozen=True)
class Received:
    """One message as the server saw it: envelope plus parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: email.message.EmailMessage


class SmtpSink:
    """An aiosmtpd server bound to a free port that stores every accepted message."""

    def __init__(self, *, host: str = "127.0.0.1", on_message: OnMessage | None = None) -> None:
        self.host = host
        self.on_message = on_message
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self._failures: list[int] = []
        self._drops = 0
        self._greeting: int | None = None
        self._refused: dict[str, int] = {}
        self._server: asyncio.AbstractServer | None = None
        self._data_commands = 0
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("SmtpSink already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="smtp-sink", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("SmtpSink did not start in time")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("SmtpSink could not start") from self._startup_error

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and its thread; open connections are cut."""
        if self._thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("SmtpSink is not started")
        return self._port

    @property
    def url(self) -> str:
        """``smtp://127.0.0.1:<port>``, ready for ``SmtpConfig.from_url``."""
        return f"smtp://{self.host}:{self.port}"

    # -- what arrived ----------------------------------------------------------------

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        """Accepted messages, parsed, in arrival order (a copy)."""
        with self._lock:
            return [item.message for item in self._received]

    @property
    def received(self) -> list[Received]:
        """Accepted messages with their envelopes (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def data_commands(self) -> int:
        """How many message bodies reached the server, refused ones included."""
        with self._lock:
            return self._data_commands

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` messages were accepted; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._received) >= count, timeout)

    # -- failure knobs ---------------------------------------------------------------

    def fail_next(self, code: int, times: int = 1) -> None:
        """Refuse the next ``times`` messages at the end of DATA with ``code`` (451, 550)."""
        if not 400 <= code < 600:
            raise ValueError("fail_next needs a 4xx or 5xx code")
        with self._lock:
            self._failures.extend([code] * times)

    def drop_next(self, times: int = 1) -> None:
        """Keep the next ``times`` messages but hang up instead of sending the 250 reply."""
        with self._lock:
            self._drops += times

    def greet_with(self, code: int | None) -> None:
        """Answer new connections with ``code`` (421, 554) and hang up; None: greet normally."""
        with self._lock:
            self._greeting = code

    def refuse_recipient(self, address: str, code: int = 550) -> None:
        """Refuse ``address`` at RCPT TO with ``code`` from now on."""
        with self._lock:
            self._refused[address.lower()] = code

    def go_down(self) -> None:
        """Stop listening: connecting now fails with "connection refused"."""
        self._call(self._close_listener())

    def come_back(self) -> None:
        """Listen again on the same port."""
        self._call(self._open_listener())

    def _call(self, coro: Any) -> None:
        if self._loop is None:
            coro.close()
            raise RuntimeError("SmtpSink is not started")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- server side -----------------------------------------------------------------

    def _protocol(self) -> asyncio.Protocol:
        with self._lock:
            greeting = self._greeting
        if greeting is not None:
            return _Greeter(greeting)
        return SMTP(
            _Handler(self), hostname="sink.deskhand.test", enable_SMTPUTF8=True, loop=self._loop
        )

    async def _open_listener(self) -> None:
        if self._server is None:
            loop = asyncio.get_running_loop()
            # Port 0 at first: the OS picks a free port, no race with other tests.
            self._server = await loop.create_server(self._protocol, self.host, self._port or 0)
            self._port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _recipient_code(self, address: str) -> int | None:
        with self._lock:
            return self._refused.get(address.lower())

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._startup_error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        await self._open_listener()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server = self._server
            if server is not None:
                server.close()
            current = asyncio.current_task()
            others = [task for task in asyncio.all_tasks() if task is not current]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await self._close_listener()

    def _take_verdict(self) -> tuple[int | None, bool]:
        with self._lock:
            self._data_commands += 1
            if self._failures:
                return self._failures.pop(0), False
            if self._drops:
                self._drops -= 1
                return None, True
            return None, False

    def _accept(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)
            self._lock.notify_all()


class _Greeter(asyncio.Protocol):
    """A server that answers the greeting with an error code and hangs up (4xx: busy)."""

    def __init__(self, code: int) -> None:
        self._code = code

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(
            f"{self._code} {self._code // 100}.3.2 sink is not taking mail\r\n".encode()
        )
        transport.close()


class _Handler:
    """aiosmtpd handler: decides each message's fate, records accepted ones."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        code = self._sink._recipient_code(address)
        if code is not None:
            return f"{code} {code // 100}.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        code, drop = self._sink._take_verdict()
        if code is not None:
            kind = "temporarily" if code < 500 else "permanently"
            return f"{code} {code // 100}.0.0 sink refuses this message {kind}"
        content: Any = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        # SMTP carries CRLF; parse with Python's LF so bodies compare with what was sent.
        content = content.replace(b"\r\n", b"\n")
        parsed = BytesParser(policy=email.policy.default).parsebytes(content)
        assert isinstance(parsed, email.message.EmailMessage)
        self._sink._accept(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,
            )
        )
        if self._sink.on_message is not None:
            # Runs before the reply: whatever it does happens while the client still
            # waits to hear whether the message was accepted.
            self._sink.on_message(parsed)
        if drop:
            # abort() discards the socket without flushing, so the 250 below never leaves.
            assert server.transport is not None
            server.transport.abort()  # type: ignore[attr-defined]
        return "250 2.0.0 OK: queued"
