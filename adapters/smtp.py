"""SMTP delivery with aiosmtplib: implicit TLS, STARTTLS when offered, and honest errors.

A failure before the DATA command means nothing was handed over (temporary or permanent);
a connection lost once DATA started means the outcome is unknown.
"""

from __future__ import annotations

import email.message
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from adapters.errors import DeliveryOutcomeUnknown, PermanentDeliveryError, TemporaryDeliveryError

_TRUE = {"1", "true", "yes", "on", "required"}
_FALSE = {"0", "false", "no", "off", "never"}
_AUTO = {"", "auto"}


@dataclass(frozen=True, repr=False)
class SmtpConfig:
    """How to reach an SMTP server. ``repr`` never shows the password."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool | None = None  # None: upgrade when the server offers STARTTLS
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``smtp://user:password@host:port`` or ``smtps://...`` (implicit TLS).

        User and password are percent-decoded, so ``p%40ss`` means ``p@ss``. Default
        ports: 25 for ``smtp``, 465 for ``smtps``. Optional query parameters:
        ``starttls=auto|true|false`` (``smtp`` only) and ``timeout=<seconds>``.

        Args:
            url: the SMTP URL.

        Returns:
            The configuration.

        Raises:
            ValueError: wrong scheme, missing host, bad port or bad query parameter.
                The message never repeats the URL, which may hold a password.
        """
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise ValueError(
                f"unsupported SMTP URL scheme {scheme or '(none)'!r}: use "
                "smtp://user:password@host:port (STARTTLS when offered) or "
                "smtps://user:password@host:465 (implicit TLS)"
            )
        if not parts.hostname:
            raise ValueError("the SMTP URL has no host: use smtp://user:password@host:port")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                "the SMTP URL has an invalid port: use a number from 1 to 65535"
            ) from None
        implicit_tls = scheme == "smtps"
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls", "timeout"}
        if unknown:
            raise ValueError(
                f"unknown SMTP URL parameter(s) {sorted(unknown)}: only starttls and "
                "timeout are understood"
            )
        starttls = _parse_starttls(query.get("starttls", "auto"))
        if implicit_tls and starttls:
            raise ValueError("smtps:// already uses TLS; drop starttls or use smtp://")
        try:
            timeout = float(query.get("timeout", "30"))
        except ValueError:
            raise ValueError("the SMTP URL timeout must be a number of seconds") from None
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit_tls,
            starttls=False if implicit_tls else starttls,
            timeout=timeout,
        )

    def describe(self) -> str:
        """Return ``smtp[s]://host:port`` for logs and messages, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{host}:{self.port}"

    def __repr__(self) -> str:
        password = "'***'" if self.password is not None else "None"
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={password}, implicit_tls={self.implicit_tls}, "
            f"starttls={self.starttls}, timeout={self.timeout})"
        )


def _parse_starttls(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if lowered in _AUTO:
        return None
    raise ValueError("starttls must be auto, true or false")


class _PhaseTrackingSMTP(aiosmtplib.SMTP):
    """An SMTP client that remembers whether the DATA command was started."""

    data_started = False

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(*args, **kwargs)


def _by_code(
    code: int, text: str, *, greeting: bool = False
) -> TemporaryDeliveryError | PermanentDeliveryError:
    if 400 <= code < 500:
        # A 4xx greeting is a server that is not taking mail now: as good as down.
        short = "mail server unreachable" if greeting else f"mail server busy (SMTP {code})"
        return TemporaryDeliveryError(f"{text} (SMTP {code}, temporary)", short=short)
    return PermanentDeliveryError(
        f"{text} (SMTP {code}); check the recipient address and the SMTP settings"
    )


class SmtpTransport:
    """Delivers through an SMTP server with aiosmtplib, one connection per message."""

    name = "smtp"

    def __init__(self, config: SmtpConfig, *, local_hostname: str | None = None) -> None:
        self._config = config
        self._local_hostname = local_hostname

    async def deliver(self, msg: email.message.EmailMessage) -> str:
        """Send ``msg``; see :class:`Transport` for the errors and their meaning.

        Args:
            msg: the MIME message; envelope sender and recipients come from its headers.

        Returns:
            The server's reply to the message data, e.g. ``"250 OK queued as ..."``.

        Raises:
            TemporaryDeliveryError: connection refused, timeout before DATA, a 4xx reply.
            PermanentDeliveryError: a 5xx reply, or a server that cannot do what the
                configuration asks (STARTTLS, authentication).
            DeliveryOutcomeUnknown: the connection dropped or timed out during DATA.
        """
        cfg = self._config
        client = _client(
            _PhaseTrackingSMTP, cfg, timeout=cfg.timeout, local_hostname=self._local_hostname
        )
        where = cfg.describe()
        try:
            await client.connect()
            _, reply = await client.send_message(msg)
        except aiosmtplib.SMTPResponseException as exc:
            if client.data_started and not 400 <= exc.code < 600:
                raise DeliveryOutcomeUnknown(
                    f"{where} answered the message data with {exc.code} {exc.message}; "
                    "check the server's log before sending again"
                ) from exc
            greeting = isinstance(exc, aiosmtplib.SMTPConnectResponseError)
            raise _by_code(exc.code, f"{where} refused: {exc.message}", greeting=greeting) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            text = f"{where} refused {first.recipient}: {first.message}"
            raise _by_code(first.code, text) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # Before DATA nothing was handed over; once DATA started the server may have
            # queued the message and only the reply got lost.
            if client.data_started:
                raise DeliveryOutcomeUnknown(
                    f"lost contact with {where} while sending the message data ({exc}); "
                    "it may have been delivered"
                ) from exc
            raise TemporaryDeliveryError(f"could not reach {where}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            # STARTTLS or AUTH not offered, SMTPUTF8 unsupported: configuration, not luck.
            raise PermanentDeliveryError(
                f"{where} cannot take this message: {exc.message}; check the SMTP URL "
                "(TLS mode, credentials)"
            ) from exc
        except ValueError as exc:
            raise PermanentDeliveryError(f"the message cannot be sent over SMTP: {exc}") from exc
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    # The message was accepted or refused already; a failed goodbye changes
                    # nothing.
                    client.close()
        return f"accepted by {where}: {reply}"


async def probe_smtp(config: SmtpConfig, *, timeout: float = 10.0) -> str:
    """Connect, greet, negotiate TLS and log in as configured, then quit; send nothing.

    Args:
        config: the server to check.
        timeout: seconds for each step.

    Returns:
        A line describing what worked, e.g. ``smtp://mail:587 answered, STARTTLS, logged in``.

    Raises:
        aiosmtplib.SMTPException or OSError: what went wrong, for ``deskhand doctor``.
    """
    client = _client(aiosmtplib.SMTP, config, timeout=min(timeout, config.timeout))
    await client.connect()
    try:
        notes = [f"{config.describe()} answered"]
        if config.implicit_tls or client.get_transport_info("sslcontext") is not None:
            notes.append("TLS")
        if config.username:
            notes.append("logged in")
        await client.noop()
    finally:
        await client.quit()
    return ", ".join(notes)


_C = TypeVar("_C", bound=aiosmtplib.SMTP)


def _client(
    cls: type[_C], config: SmtpConfig, *, timeout: float, local_hostname: str | None = None
) -> _C:
    return cls(
        hostname=config.host,
        port=config.port,
        username=config.username,
        password=config.password,
        use_tls=config.implicit_tls,
        start_tls=config.starttls,
        timeout=timeout,
        local_hostname=local_hostname,
    )
