"""python-telegram-bot on aiohttp: uploads, proxies and failures, against local servers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError

from bot.telegram.request import AiohttpRequest
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:request-test-token"
SENT_DOCUMENT = {
    "message_id": 7,
    "date": 1_700_000_000,
    "chat": {"id": 111, "type": "private", "first_name": "Ana"},
    "document": {"file_id": "doc-1", "file_unique_id": "u-1", "file_name": "notes.txt"},
}
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Deskhand", "username": "dh_bot"}


class Recorder:
    """A tiny HTTP server that answers every Bot API call and remembers what it got."""

    def __init__(self, **results: Any) -> None:
        self.results = results  # by Bot API method
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {
            name: (value.file.read(), value.filename) if isinstance(value, web.FileField) else value
            for name, value in form.items()
        }
        self.requests.append({"target": request.raw_path, "host": request.host, "fields": fields})
        method = request.path.rsplit("/", 1)[-1]
        return web.json_response({"ok": True, "result": self.results[method]})


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []

    async def start(recorder: Recorder) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_an_upload_goes_as_multipart_with_its_fields(serve: Any) -> None:
    recorder = Recorder(getMe=BOT_USER, sendDocument=SENT_DOCUMENT)
    origin = await serve(recorder)
    async with Bot(TOKEN, base_url=f"{origin}/bot", request=AiohttpRequest()) as bot:
        message = await bot.send_document(111, document=b"hello", filename="notes.txt")

    assert message.document is not None and message.document.file_name == "notes.txt"
    fields = recorder.requests[-1]["fields"]
    assert fields["document"] == (b"hello", "notes.txt")
    assert fields["chat_id"] == "111"


async def test_other_calls_send_json_the_bot_api_reads(fake: FakeTelegram) -> None:
    async with Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest()) as bot:
        await bot.send_message(111, "caf\u00e9 <&>", reply_markup=None, disable_notification=True)

    call = fake.calls[-1]
    assert call.method.lower() == "sendmessage"
    assert call.params["text"] == "caf\u00e9 <&>" and call.params["chat_id"] == 111
    assert call.params["disable_notification"] is True


async def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
    serve: Any, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Recorder(getMe=BOT_USER)
    proxy_origin = await serve(proxy)
    monkeypatch.setenv("HTTP_PROXY", proxy_origin)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async with Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest()) as bot:
        assert bot.username == "dh_bot"  # getMe answered by the proxy
    assert proxy.requests and proxy.requests[-1]["target"].startswith("http://127.0.0.1:")

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    proxied = len(proxy.requests)
    async with Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest()) as bot:
        assert bot.username == "deskhand_test_bot"  # straight to the Bot API server
    assert len(proxy.requests) == proxied


async def test_an_unreachable_server_is_a_network_error_without_the_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest())
    with pytest.raises(NetworkError) as caught:
        await bot.initialize()
    assert TOKEN not in str(caught.value) and "request-test-token" not in str(caught.value)
    await bot.shutdown()


def test_timeouts_default_to_the_librarys_and_can_be_set() -> None:
    assert AiohttpRequest().read_timeout == 5.0
    assert AiohttpRequest(read_timeout=15.0).read_timeout == 15.0
