"""python-telegram-bot's transport on aiohttp instead of httpx.

``BaseRequest`` is the library's own extension point for the HTTP client under ``Bot``;
everything above it (methods, JSON, errors, the rate limiter, retries) stays the library's.
The reason is cost: every tap makes three or four Bot API calls (``getUpdates``,
``answerCallbackQuery``, the card's edits), and through ``HTTPXRequest`` each costs 2.1 ms of
CPU one at a time and 3.2 ms with 20 in flight, against 1.0 and 0.8 ms here (the whole
``Bot.edit_message_text`` call, measured 2026-11-21 against ``tests/fakes/telegram_api.py``).
aiohttp is already a dependency (slack-sdk's async client).

Behaviour kept from ``HTTPXRequest``: the same defaults and timeouts (aiohttp has no write
timeout; a stalled upload is cut by the read timeout), proxies from the environment
(``HTTPS_PROXY``), certifi's CA bundle, :class:`~telegram.error.TimedOut` and
:class:`~telegram.error.NetworkError` for failures, and multipart uploads. Other bodies are
JSON objects where ``HTTPXRequest`` sends form fields; the Bot API takes either.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+")
_Default = type(BaseRequest.DEFAULT_NONE)  # how the library marks "not passed"


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`.

    Args:
        connection_pool_size: connections open at once to the Bot API.
        read_timeout: seconds to wait for a response (``getUpdates`` adds its long-poll
            timeout to it).
        write_timeout: accepted for ``HTTPXRequest`` parity; aiohttp has no such timeout.
        connect_timeout: seconds to open a connection.
        pool_timeout: seconds to wait for a free connection, on top of ``connect_timeout``.
    """

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}  # by scheme://host:port

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, in seconds."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            import certifi  # installed with python-telegram-bot (httpx needs it)

            context = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=context)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and the body (the library parses it)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._or_default(read_timeout, self._read_timeout)
        connect = self._or_default(connect_timeout, self._connect_timeout)
        pool = self._or_default(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's "connect" covers waiting for a pooled connection and opening one.
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(
                method, url, data=_body(request_data), timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # The message may quote the URL, which holds the bot's token.
            text = _TOKEN_IN_URL.sub("/bot<token>", f"aiohttp.{type(err).__name__}: {err}")
            raise NetworkError(text) from err

    def _proxy(self, url: str) -> str | None:
        """The proxy for ``url`` from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, looked up once.

        (aiohttp's own ``trust_env`` looks the environment and ``~/.netrc`` up again on the
        thread pool for every request: two thread hops a request, measured at an eighth of
        the bot's CPU under a burst of taps.)
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            bypass = parts.hostname is not None and urllib.request.proxy_bypass(parts.hostname)
            found = None if bypass else urllib.request.getproxies().get(parts.scheme)
            self._proxies[origin] = found
        return self._proxies[origin]

    @staticmethod
    def _or_default(value: Any, default: float | None) -> float | None:
        return default if isinstance(value, _Default) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """A JSON object (the Bot API takes one); multipart when there are files to upload.

    JSON rather than url-encoded fields: url-encoding a card's keyboard (JSON already) cost
    0.45 ms a request here, one ``json.dumps`` a fraction of that.
    """
    if request_data is None:
        return None
    if not request_data.contains_files:
        body = json.dumps(request_data.parameters).encode()
        return aiohttp.BytesPayload(body, content_type="application/json")
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
