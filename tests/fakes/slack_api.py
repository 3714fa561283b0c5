"""A local Slack Web API and Socket Mode server for tests.

What it is: a small aiohttp app on 127.0.0.1 that answers the Web API methods Deskhand
uses with Slack-shaped responses, records every call it receives (decoded, with the
token), and serves a Socket Mode websocket that pushes envelopes and collects the acks.
Point the real clients at it::

    fake = FakeSlack()
    await fake.start()
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    ...
    await fake.stop()

What it isn't: a Slack emulator. Tokens are checked against a fixed set and by type
(``xapp-`` only for app-level methods); a few cheap Block Kit limits are enforced (50
blocks, 3,000 characters of section text, 40,000 of message text). There are no scopes,
no channel membership, no real rate limits (inject one with ``fail_next``) and no
Events API delivery over HTTP (build signed requests with ``tests.fakes.slack_signing``).
Like Slack, API errors come back as HTTP 200 with ``{"ok": false, "error": ...}``;
only an injected failure changes the status code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

# Methods an app-level token (xapp-) may call; every other method needs a bot or user token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open", "apps.event.authorizations.list"})
# Fields the SDK (or a hand-built form) may send as JSON strings inside the body.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
# The workspace the fake pretends to be; slack_signing's payloads use the same ids.
TEAM_ID, TEAM_NAME, TEAM_DOMAIN = "T0FAKE", "Deskhand Test", "deskhand-test"
APP_ID, BOT_ID, BOT_USER_ID = "A0FAKE", "B0BOT", "U0BOT"
BOT_TOKEN, APP_TOKEN = "xoxb-fake-bot-token", "xapp-fake-app-token"
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_MESSAGE_TEXT = 40_000

Params = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request the fake received; ``error`` is the error it answered with, if any."""

    method: str
    params: Params
    token: str | None
    at: float
    error: str | None = None


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": str(exc)}``."""


class FakeSlack:
    """Slack Web API plus Socket Mode on a free loopback port; see the module docstring."""

    def __init__(self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.tokens: set[str] = {bot_token, app_token}  # add user tokens here if a test needs one
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Params] = {}  # (channel, ts) -> message
        self.views: dict[str, Params] = {}  # view id -> view
        self.home_views: dict[str, Params] = {}  # user id -> published App Home view
        self.users: dict[str, Params] = {}  # user id -> user; others get a generated user
        self.acks: dict[str, Params] = {}  # envelope id -> the client's ack
        self.listeners: list[Callable[[Call], None]] = []  # called with each call as it lands
        self._dm_channels: dict[tuple[str, ...], str] = {}
        self._failures: dict[str, deque[tuple[Params, int, dict[str, str]]]] = {}
        self._stalls: dict[str, deque[asyncio.Event]] = {}
        self._waiting: dict[str, int] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1_700_000_000_000_100, 100)  # microseconds
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL, for ``AsyncWebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    @property
    def response_url(self) -> str:
        """A ``response_url`` for payloads; posts to it are recorded as method "respond"."""
        return f"{self.base_url}/respond/{TEAM_ID}/1/fake"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/respond/{key:.*}", self._handle_respond)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the websockets, then the server."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- assertions and control ------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` (matching ``predicate``) have arrived.

        Returns:
            The matching calls, oldest first.
        Raises:
            TimeoutError: naming the methods that did arrive, to show what went wrong.
        """

        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if predicate is None or predicate(c)]

        if not await self._wait_until(lambda: len(matching()) >= count, timeout):
            seen = [c.method for c in self.calls]
            raise TimeoutError(f"waited {timeout}s for {count} {method} call(s); got {seen}")
        return matching()

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
    ) -> None:
        """Answer the next call to ``method`` with ``error`` and HTTP ``status``.

        A ``retry_after`` (seconds) is sent as the ``Retry-After`` header, as Slack does on 429.
        """
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        failure = ({"ok": False, "error": error}, status, headers)
        self._failures.setdefault(method, deque()).append(failure)

    def stall_next(self, method: str) -> asyncio.Event:
        """Keep the next call to ``method`` waiting until the returned event is set.

        It takes effect (a message updated, say) and is recorded when released, as a slow
        network would delay it; ``stalled`` says whether one is waiting.
        """
        released = asyncio.Event()
        self._stalls.setdefault(method, deque()).append(released)
        return released

    def stalled(self, method: str) -> int:
        """How many calls to ``method`` are waiting for their release."""
        return self._waiting.get(method, 0)

    # -- Socket Mode -------------------------------------------------------------------

    async def socket_send(
        self,
        payload_type: str,
        payload: Params,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5,
    ) -> str:
        """Send an envelope to the newest connected Socket Mode client.

        Args:
            payload_type: "slash_commands", "interactive" or "events_api".
            payload: the payload object (see ``tests.fakes.slack_signing`` builders).
            accepts_response_payload: defaults to Slack's: false only for events_api.
            timeout: how long to wait for a client to connect.
        Returns:
            The envelope id, for ``wait_ack``.
        """
        if not await self._wait_until(lambda: bool(self._sockets), timeout):
            raise TimeoutError(f"no Socket Mode client connected within {timeout}s")
        ws = self._sockets[-1]
        if accepts_response_payload is None:
            accepts_response_payload = payload_type != "events_api"
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": payload_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if payload_type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        await ws.send_json(envelope)
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5) -> Params:
        """Wait for the client's ack ``{"envelope_id": ..., "payload": ...}`` and return it."""
        if not await self._wait_until(lambda: envelope_id in self.acks, timeout):
            raise TimeoutError(f"no ack for envelope {envelope_id} within {timeout}s")
        return self.acks[envelope_id]

    # -- HTTP plumbing ---------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        token = _bearer(request) or params.pop("token", None)
        body: Params
        status, headers = 200, dict[str, str]()
        if self._stalls.get(method):
            released = self._stalls[method].popleft()
            self._waiting[method] = self._waiting.get(method, 0) + 1
            await released.wait()
            self._waiting[method] -= 1
        if self._failures.get(method):
            body, status, headers = self._failures[method].popleft()
        elif (auth_error := self._check_token(method, token)) is not None:
            body = {"ok": False, "error": auth_error}
        else:
            handler: Callable[[Params], Params]
            handler = getattr(self, "_api_" + method.replace(".", "_"), lambda _: {})
            try:
                body = {"ok": True, **handler(params)}
            except SlackApiFailure as exc:
                body = {"ok": False, "error": str(exc)}
        await self._record(Call(method, params, token, time.time(), body.get("error")))
        return web.json_response(body, status=status, headers=headers)

    async def _handle_respond(self, request: web.Request) -> web.Response:
        params = await _read_params(request)
        params["response_url"] = str(request.url)
        await self._record(Call("respond", params, None, time.time()))
        return web.json_response({"ok": True})

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1)  # close handshake timeout
        await ws.prepare(request)
        async with self._changed:
            self._sockets.append(ws)
            self._changed.notify_all()
        try:
            info = {"app_id": APP_ID}
            await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": info})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(msg.data)
                async with self._changed:
                    self.acks[ack.get("envelope_id", "")] = ack
                    self._changed.notify_all()
        except ConnectionResetError:
            pass  # the client went away mid-send; nothing to clean beyond the list below
        finally:
            self._sockets.remove(ws)
        return ws

    async def _wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            return False
        return True

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        for listener in self.listeners:
            listener(call)

    def _check_token(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token not in self.tokens:
            return "invalid_auth"
        if token.startswith("xapp-") != (method in APP_TOKEN_METHODS):
            return "not_allowed_token_type"
        return None

    # -- Web API methods: ``_api_<method with dots as underscores>``, params in, fields out

    def _api_auth_test(self, p: Params) -> Params:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "deskhand",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, p: Params) -> Params:
        channel = _require(p, "channel", "channel_not_found")
        _validate_message(p, require_content=True)
        ts = self._next_ts()
        message: Params = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
            "text": p.get("text", ""),
            **{k: p[k] for k in ("blocks", "attachments", "thread_ts", "metadata") if k in p},
        }
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _api_chat_update(self, p: Params) -> Params:
        channel = _require(p, "channel", "channel_not_found")
        ts = _require(p, "ts", "message_not_found")
        _validate_message(p, require_content=False)
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackApiFailure("message_not_found")
        message.update({k: p[k] for k in ("text", "blocks", "attachments") if k in p})
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _api_chat_postEphemeral(self, p: Params) -> Params:
        _require(p, "channel", "channel_not_found")
        _require(p, "user", "user_not_found")
        _validate_message(p, require_content=True)
        return {"message_ts": self._next_ts()}

    def _api_views_open(self, p: Params) -> Params:
        _require(p, "trigger_id", "invalid_trigger_id")
        return {"view": self._store_view(_require(p, "view", "invalid_arguments"))}

    _api_views_push = _api_views_open

    def _api_views_update(self, p: Params) -> Params:
        view = _require(p, "view", "invalid_arguments")
        view_id = p.get("view_id")  # external_id is not supported
        if view_id not in self.views:
            raise SlackApiFailure("not_found")
        return {"view": self._store_view(view, view_id=view_id)}

    def _api_views_publish(self, p: Params) -> Params:
        user_id = _require(p, "user_id", "user_not_found")
        stored = self._store_view(_require(p, "view", "invalid_arguments"))
        self.home_views[user_id] = stored
        return {"view": stored}

    def _api_conversations_open(self, p: Params) -> Params:
        if "channel" in p:
            return {"channel": {"id": p["channel"]}, "already_open": True}
        users = tuple(sorted(_require(p, "users", "users_list_not_supplied").split(",")))
        already_open = users in self._dm_channels
        if not already_open:
            prefix = "D" if len(users) == 1 else "G"
            self._dm_channels[users] = f"{prefix}{next(self._ids):08d}"
        return {"channel": {"id": self._dm_channels[users]}, "already_open": already_open}

    def _api_users_info(self, p: Params) -> Params:
        user_id = _require(p, "user", "user_not_found")
        name, real_name = f"user-{user_id.lower()}", f"Test User {user_id}"
        generated = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "is_bot": False,
            "tz": "Europe/London",
            "profile": {"real_name": real_name, "display_name": name},
        }
        return {"user": self.users.get(user_id, generated)}

    def _api_apps_connections_open(self, p: Params) -> Params:
        return {"url": self.socket_url}

    def _store_view(self, view: Params, view_id: str | None = None) -> Params:
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}",
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **view,
        }
        self.views[view_id] = stored
        return stored

    def _next_ts(self) -> str:
        micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


async def _read_params(request: web.Request) -> Params:
    """Merge query string and body (JSON or form); decode JSON strings in nested fields."""
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        params.update(await request.post())
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str) and params[key][:1] in ("[", "{"):
            params[key] = json.loads(params[key])
    return params


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def _require(p: Params, key: str, error: str) -> Any:
    if not p.get(key):
        raise SlackApiFailure(error)
    return p[key]


def _validate_message(p: Params, *, require_content: bool) -> None:
    """The Block Kit and text limits Slack enforces that are cheap to check here."""
    text, blocks = p.get("text") or "", p.get("blocks") or []
    if require_content and not (text or blocks or p.get("attachments")):
        raise SlackApiFailure("no_text")
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackApiFailure("msg_too_long")
    section_texts = [
        (b.get("text") or {}).get("text", "") for b in blocks if b.get("type") == "section"
    ]
    if len(blocks) > MAX_BLOCKS or any(len(t) > MAX_SECTION_TEXT for t in section_texts):
        raise SlackApiFailure("invalid_blocks")
