"""A local Telegram Bot API server for Deskhand's tests.

What it is: a small aiohttp app on 127.0.0.1 that python-telegram-bot talks to through
``ApplicationBuilder().base_url(fake.base_url).base_file_url(fake.base_file_url)``. It records
every call with its parameters decoded, answers the methods Deskhand uses with payloads shaped
like the real API, keeps each chat's messages so a test can read a card's current text and
keyboard, and builds user updates (``send_text``, ``tap``, ``reply_to``) that it queues for
long polling or hands back for a webhook test to POST.

What it is not: a full Bot API. ``parse_mode`` is recorded, not applied (stored text keeps its
HTML); lengths are counted in code points, not UTF-16 units; uploaded files are recorded, never
served; inline mode, media and ``inline_message_id`` edits are absent. Unknown methods are
recorded, logged and answered ``true``. Add a method when a test needs it.

Copied from the real server because Deskhand must cope with it: editing a message's text
without ``reply_markup`` removes its inline keyboard; an edit that changes nothing is a 400; a
callback query can be answered once; callback data is at most 64 bytes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-deskhand-fake-token"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# PTB form-encodes every value and JSON-dumps those that are not strings, so values are
# decoded with json.loads -- except free text, where a user's "123" or "[draft]" stays a string.
FREE_TEXT = frozenset(
    {
        "text",
        "caption",
        "data",
        "callback_query_id",
        "inline_message_id",
        "secret_token",
        "title",
        "description",
        "short_description",
        "name",
        "question",
        "explanation",
    }
)
CONTENT_KEYS = ("text", "entities", "reply_markup")


@dataclass(frozen=True)
class Call:
    """One request received: the method as sent, its decoded parameters, time.monotonic()."""

    method: str
    params: dict[str, Any]
    at: float


class BotApiError(Exception):
    """Answered as ``{"ok": false, ...}`` with ``error_code`` as the HTTP status, like Telegram."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.body: dict[str, Any] = {
            "ok": False,
            "error_code": error_code,
            "description": description,
        }
        if parameters:
            self.body["parameters"] = parameters


class FakeTelegram:
    """A recording Bot API server; ``async with FakeTelegram() as fake:`` starts and stops it."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "deskhand_test_bot"):
        self.token = token
        bot_id = token.split(":")[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456789,
            "is_bot": True,
            "first_name": "Deskhand",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        # Called with each Call as it arrives (benchmarks match answers to taps without
        # rescanning ``calls``); it must not block.
        self.on_call: Callable[[Call], None] | None = None
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat_id, message_id)
        self.webhook: dict[str, Any] = {}  # the last setWebhook's parameters
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        # update_id -> time.monotonic() when getUpdates first handed it to the bot
        self.delivered: dict[int, float] = {}
        self._next_update_id = 1
        self._open_queries: set[str] = set()
        self._failures: dict[str, list[BotApiError]] = {}
        self._stalls: dict[str, list[asyncio.Event]] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "deletemessage": self._delete_message,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendchataction": self._true,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Cancel a long poll whose client hung up, and never wait long for one at shutdown.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self._port = sock.getsockname()[1]

    async def stop(self) -> None:
        """Release waiting long polls and close the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url``; PTB appends the token."""
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url``."""
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not listening; call `await fake.start()` first")
        return f"http://127.0.0.1:{self._port}"

    # -- what tests read and arrange ------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Calls to ``method`` (Bot API method names are case-insensitive), oldest first."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait for ``count`` matching calls; return every matching call so far.

        Raises AssertionError naming the calls that did arrive if ``timeout`` passes first.
        """

        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if predicate is None or predicate(c)]

        if not await self._until(lambda: len(matching()) >= count, timeout):
            seen = ", ".join(f"{m} x{n}" for m, n in Counter(c.method for c in self.calls).items())
            raise AssertionError(
                f"expected {count} matching {method} call(s) in {timeout}s, "
                f"got {len(matching())}; calls so far: {seen or 'none'}"
            )
        return matching()

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A stored message (the bot's or a user's) as it is now, edits applied."""
        if (chat_id, message_id) not in self.messages:
            known = sorted(self.messages)
            raise LookupError(f"no message {message_id} in chat {chat_id}; known: {known}")
        return self.messages[(chat_id, message_id)]

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat as they are now, oldest first."""
        return [
            message
            for (chat, _), message in sorted(self.messages.items())
            if chat == chat_id and message["from"]["is_bot"]
        ]

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The command list last set for a scope and language (default scope when omitted)."""
        return self._commands.get(_commands_key(scope, language_code), [])

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        *,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next call to ``method`` fail; a 429 carries ``retry_after`` like Telegram's."""
        if error_code == 429:
            description = description or f"Too Many Requests: retry after {retry_after}"
            error = BotApiError(429, description, {"retry_after": retry_after})
        else:
            error = BotApiError(error_code, description or "Bad Request: injected failure")
        self._failures.setdefault(method.lower(), []).append(error)

    def stall_next(self, method: str) -> asyncio.Event:
        """Keep the next call to ``method`` waiting until the returned event is set.

        The call is recorded when it arrives and takes effect (a message edited, say) when
        released, as a slow network would delay it.
        """
        released = asyncio.Event()
        self._stalls.setdefault(method.lower(), []).append(released)
        return released

    # -- updates a user causes ------------------------------------------------------------------

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user sends ``text`` (a private chat unless ``chat_id`` names another chat)."""
        message = self._user_message(user_id, text, chat_id, first_name, username)
        return self._new_update({"message": message}, queue)

    def reply_to(
        self,
        user_id: int,
        text: str,
        reply_to_message_id: int,
        chat_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user replies to a stored message, typically the bot's question."""
        original = self.message(chat_id or user_id, reply_to_message_id)
        message = self._user_message(user_id, text, chat_id, first_name, username)
        message["reply_to_message"] = copy.deepcopy(original)
        message["reply_to_message"].pop("reply_to_message", None)  # Telegram nests one level
        return self._new_update({"message": message}, queue)

    def tap(
        self,
        user_id: int,
        message_id: int,
        data: str,
        chat_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user taps the inline button carrying callback ``data`` on a stored message."""
        chat = chat_id or user_id
        query_id = str(9_000_000 + self._next_update_id)
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": _user(user_id, first_name, username),
            "message": copy.deepcopy(self.message(chat, message_id)),
            "chat_instance": str(-(10**12) - abs(chat)),
            "data": data,
        }
        return self._new_update({"callback_query": query}, queue)

    def _user_message(
        self, user_id: int, text: str, chat_id: int | None, first_name: str, username: str | None
    ) -> dict[str, Any]:
        if chat_id is None or chat_id == user_id:
            chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
            chat.update({"username": username} if username else {})
        else:
            chat = {
                "id": chat_id,
                "type": "supergroup" if chat_id < -(10**12) else "group",
                "title": "Deskhand test group",
            }
        self._chats[chat["id"]] = chat
        message = self._store(chat["id"], {"from": _user(user_id, first_name, username)})
        message["text"] = text
        if text.startswith("/"):  # CommandHandler matches on this entity, not on the text
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return copy.deepcopy(message)

    def _new_update(self, body: dict[str, Any], queue: bool) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, **body}
        self._next_update_id += 1
        if queue:
            self._updates.append(update)
            self._notify()
        return update

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            logger.warning("FakeTelegram refused a request with the wrong token")
            return _error_response(BotApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = await _read_params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        self._notify()
        handler = self._handlers.get(method.lower())
        if self._stalls.get(method.lower()):
            await self._stalls[method.lower()].pop(0).wait()
        try:
            if self._failures.get(method.lower()):
                raise self._failures[method.lower()].pop(0)
            if handler is None:
                logger.warning("FakeTelegram has no handler for %s; answering true", method)
            result = True if handler is None else await handler(params)
        except BotApiError as error:
            return _error_response(error)
        return web.json_response({"ok": True, "result": result})

    def _notify(self) -> None:
        # Swapping in a fresh Event wakes every current waiter without taking a lock, so the
        # synchronous helpers (send_text, tap) can notify too.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _until(self, ready: Callable[[], bool], timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            pass
        return ready()

    # -- Bot API methods ------------------------------------------------------------------------

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is "
                "active; use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        if offset > 0:  # an offset confirms, and so forgets, every earlier update
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        await self._until(lambda: bool(self._updates) or self._closing, timeout)
        batch = self._updates[: int(params.get("limit") or 100)]
        now = time.monotonic()
        for update in batch:
            self.delivered.setdefault(update["update_id"], now)
        return batch

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        """setMyCommands and deleteMyCommands (which sends no commands)."""
        commands = params.get("commands") or []
        if any(not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")) for c in commands):
            raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, content = _chat_id(params), _content(params)
        message = self._store(chat_id, {"from": self.bot_user})
        message.update({key: value for key, value in content.items() if value is not None})
        replied = self.messages.get((chat_id, _reply_to_id(params)))
        if replied is not None:
            message["reply_to_message"] = copy.deepcopy(replied)
        return message

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        return _replace_content(self._stored(params, "edit"), _content(params))

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._stored(params, "edit")
        content = {key: message.get(key) for key in CONTENT_KEYS}
        content["reply_markup"] = _inline_markup(params.get("reply_markup"))
        return _replace_content(message, content)

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if params.get("callback_query_id") not in self._open_queries:
            raise BotApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.discard(params["callback_query_id"])
        return True

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self._stored(params, "delete")
        del self.messages[(message["chat"]["id"], message["message_id"])]
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        """setWebhook and deleteWebhook (which sends no url)."""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in params.items() if k != "drop_pending_updates"}
        if not self.webhook.get("url"):
            self.webhook = {}
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # -- message store --------------------------------------------------------------------------

    def _store(self, chat_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        # One counter per chat, shared by the user's and the bot's messages, as in Telegram.
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        chat = self._chats.get(
            chat_id, {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        )
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, **fields}
        self.messages[(chat_id, message_id)] = message
        return message

    def _stored(self, params: dict[str, Any], verb: str) -> dict[str, Any]:
        key = (_chat_id(params), params.get("message_id"))
        if key not in self.messages:
            raise BotApiError(400, f"Bad Request: message to {verb} not found")
        return self.messages[key]


def _error_response(error: BotApiError) -> web.Response:
    return web.json_response(error.body, status=error.body["error_code"])


def _user(user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
    return {**user, "username": username} if username else user


def _chat_id(params: dict[str, Any]) -> int:
    if not isinstance(params.get("chat_id"), int):  # missing, or an "@channel" name
        raise BotApiError(400, "Bad Request: chat not found")
    return params["chat_id"]


def _reply_to_id(params: dict[str, Any]) -> int:
    return int((params.get("reply_parameters") or {}).get("message_id", 0))


def _content(params: dict[str, Any]) -> dict[str, Any]:
    text = params.get("text")
    if not text:
        raise BotApiError(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT:
        raise BotApiError(400, "Bad Request: message is too long")
    return {
        "text": text,
        "entities": params.get("entities"),
        "reply_markup": _inline_markup(params.get("reply_markup")),
    }


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Telegram echoes only inline keyboards; a reply keyboard is not part of the Message."""
    if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
        return None
    for button in (b for row in markup["inline_keyboard"] for b in row):
        if len(button.get("callback_data", "").encode()) > MAX_CALLBACK_DATA:
            raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _replace_content(message: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    if content == {key: message.get(key) for key in CONTENT_KEYS}:
        raise BotApiError(400, NOT_MODIFIED)
    for key, value in content.items():  # so an omitted reply_markup removes the keyboard
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    return message


def _commands_key(scope: dict | None, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON, form or multipart body, with JSON-string fields decoded."""
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body and request.content_type == "application/json":
        raw.update(await request.json())
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            raw[key] = _file_summary(value) if isinstance(value, web.FileField) else value
    return {key: _decode(key, value) for key, value in raw.items()}


def _file_summary(field: web.FileField) -> dict[str, Any]:
    return {
        "filename": field.filename,
        "content_type": field.content_type,
        "content": field.file.read(),
    }


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in FREE_TEXT:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
