"""The Slack fakes against the real slack-sdk and slack-bolt clients."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    FORM_CONTENT_TYPE,
    block_actions_body,
    event_body,
    sign,
    slash_command_body,
    slash_command_payload,
    view_submission_body,
)

SECRET = "fake-signing-secret"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice* ready"}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


def build_app(fake: FakeSlack) -> AsyncApp:
    """A Bolt app whose Web API calls go to the fake.

    Only ``client=``: given ``token=`` as well, Bolt logs that the token is unused.
    """
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
    )

    async def on_command(
        ack: AsyncAck, command: dict[str, Any], say: AsyncSay, respond: AsyncRespond
    ) -> None:
        await ack(f"Working on: {command['text']}")
        await say(f"Started {command['text']}")
        await respond("Only you can see this")

    async def on_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"], ts=container["message_ts"], text="Approved"
        )

    async def on_submit(ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        amount = view["state"]["values"]["amount"]["input"]["value"]
        await client.chat_postMessage(channel=view["private_metadata"], text=f"Amount {amount}")

    async def on_mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(f"Hello <@{event['user']}>")

    app.command("/deskhand")(on_command)
    app.action("approve")(on_approve)
    app.view("new_invoice")(on_submit)
    app.event("app_mention")(on_mention)
    return app


@pytest.fixture
async def bolt_url(fake: FakeSlack) -> AsyncIterator[str]:
    runner = web.AppRunner(build_app(fake).web_app(path="/slack/events"), shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


async def post_signed(
    url: str, body: str, content_type: str = FORM_CONTENT_TYPE, **sign_kwargs: int
) -> tuple[int, str]:
    headers = {"Content-Type": content_type, **sign(SECRET, body, **sign_kwargs)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status, await r.text()


# -- Web API -------------------------------------------------------------------------


async def test_web_client_calls_are_answered_and_recorded(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0FAKE", "U0BOT", "B0BOT")

    first = await client.chat_postMessage(channel="C1", text="Invoice", blocks=[SECTION])
    second = await client.chat_postMessage(channel="C1", text="Another")
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == [SECTION]

    updated = await client.chat_update(channel="C1", ts=first["ts"], text="Paid", blocks=[])
    assert (updated["ts"], updated["text"]) == (first["ts"], "Paid")
    assert fake.messages[("C1", first["ts"])]["text"] == "Paid"
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C1", ts="1.2", text="nope")
    assert missing.value.response["error"] == "message_not_found"

    view = {
        "type": "modal",
        "callback_id": "new_invoice",
        "title": {"type": "plain_text", "text": "New"},
    }
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "new_invoice"
    home = {"type": "home", "blocks": [SECTION]}
    await client.views_publish(user_id="U42", view=home)
    assert fake.home_views["U42"]["blocks"] == [SECTION]

    dm = await client.conversations_open(users="U42")
    assert dm["channel"]["id"].startswith("D")
    assert (await client.conversations_open(users="U42"))["channel"]["id"] == dm["channel"]["id"]
    user = await client.users_info(user="U42")
    assert user["user"]["profile"]["display_name"]
    assert (await client.chat_postEphemeral(channel="C1", user="U42", text="psst"))["message_ts"]
    assert (await client.reactions_add(channel="C1", timestamp=first["ts"], name="eyes"))["ok"]

    post = fake.calls_to("chat.postMessage")[0]
    assert (post.token, post.params["blocks"], post.error) == (fake.bot_token, [SECTION], None)
    assert fake.calls_to("views.open")[0].params["view"] == view
    assert fake.calls_to("views.publish")[0].params == {"user_id": "U42", "view": home}
    assert fake.calls_to("users.info")[0].params == {"user": "U42"}  # a GET query string


async def test_form_bodies_with_json_string_fields_are_decoded(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": json.dumps([SECTION])}
    )
    async with aiohttp.ClientSession() as session:
        form = {"token": fake.bot_token, "channel": "C1", "text": "token in the form"}
        async with session.post(f"{fake.api_url}chat.postMessage", data=form) as resp:
            assert (await resp.json())["ok"] is True

    by_header, by_form = fake.calls_to("chat.postMessage")
    assert by_header.params["blocks"] == [SECTION]
    assert by_form.token == fake.bot_token and "token" not in by_form.params


async def test_bad_tokens_are_refused(fake: FakeSlack) -> None:
    for token, error in [
        ("xoxb-unknown", "invalid_auth"),
        (fake.app_token, "not_allowed_token_type"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            await AsyncWebClient(token=token, base_url=fake.api_url).auth_test()
        assert refused.value.response["error"] == error
    assert [c.token for c in fake.calls_to("auth.test")] == ["xoxb-unknown", fake.app_token]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"blocks": [SECTION] * 51}, "invalid_blocks"),
        (
            {"blocks": [{**SECTION, "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            "invalid_blocks",
        ),
        ({"text": "x" * 40_001}, "msg_too_long"),
    ],
)
async def test_slack_limits_are_enforced_and_recorded(
    fake: FakeSlack, client: AsyncWebClient, kwargs: dict, error: str
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="ok")
    for call in (
        client.chat_postMessage(channel="C1", **{"text": "fallback", **kwargs}),
        client.chat_update(channel="C1", ts=posted["ts"], **{"text": "fallback", **kwargs}),
    ):
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == error
    assert fake.calls[-1].error == error


async def test_rate_limit_is_retried_by_the_sdk_handler(fake: FakeSlack) -> None:
    plain = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    # The SDK only retries connection errors unless told otherwise.
    assert [type(h) for h in plain.retry_handlers] == [AsyncConnectionErrorRetryHandler]
    fake.fail_next("chat.postMessage", retry_after=0)
    with pytest.raises(SlackApiError) as limited:
        await plain.chat_postMessage(channel="C1", text="once")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "0"

    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next("chat.postMessage", retry_after=0)
    assert (await retrying.chat_postMessage(channel="C1", text="twice"))["ok"] is True
    errors = [c.error for c in fake.calls_to("chat.postMessage")]
    assert errors == ["ratelimited", "ratelimited", None]


async def test_wait_for_reports_what_arrived(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="one")
    calls = await fake.wait_for("chat.postMessage", predicate=lambda c: c.params["text"] == "one")
    assert calls[0].params["channel"] == "C1"
    with pytest.raises(TimeoutError, match=r"chat.update.*chat.postMessage"):
        await fake.wait_for("chat.update", timeout=0.1)


# -- Bolt over HTTP ------------------------------------------------------------------


async def test_signed_slash_command_is_acked_and_handled(fake: FakeSlack, bolt_url: str) -> None:
    body = slash_command_body(text="invoice acme", response_url=fake.response_url)
    status, text = await post_signed(bolt_url, body)
    assert (status, text) == (200, "Working on: invoice acme")

    (said,) = await fake.wait_for("chat.postMessage")
    # Bolt's per-request client adds team_id to every call.
    assert said.params == {"channel": "C0OPS", "text": "Started invoice acme", "team_id": "T0FAKE"}
    (responded,) = await fake.wait_for("respond")
    assert responded.params["text"] == "Only you can see this"
    assert fake.calls_to("auth.test"), "Bolt checks the bot token with auth.test first"


async def test_unsigned_or_stale_requests_get_401(fake: FakeSlack, bolt_url: str) -> None:
    body = slash_command_body(text="x")
    headers = {"Content-Type": FORM_CONTENT_TYPE, **sign("wrong-secret", body)}
    async with aiohttp.ClientSession() as session:
        async with session.post(bolt_url, data=body, headers=headers) as resp:
            assert resp.status == 401
    status, _ = await post_signed(bolt_url, body, timestamp=int(time.time()) - 600)
    assert status == 401
    assert fake.calls_to("chat.postMessage") == []


async def test_signed_block_action_reaches_the_action_handler(
    fake: FakeSlack, client: AsyncWebClient, bolt_url: str
) -> None:
    posted = await client.chat_postMessage(channel="C0OPS", text="Approve invoice?")
    body = block_actions_body(action_id="approve", value="inv-1", message_ts=posted["ts"])
    status, _ = await post_signed(bolt_url, body)
    assert status == 200
    (update,) = await fake.wait_for("chat.update")
    assert update.params["ts"] == posted["ts"]
    assert fake.messages[("C0OPS", posted["ts"])]["text"] == "Approved"


async def test_signed_view_submission_reaches_the_view_handler(
    fake: FakeSlack, bolt_url: str
) -> None:
    body = view_submission_body(
        callback_id="new_invoice", private_metadata="C0OPS", values={"amount": {"input": "120"}}
    )
    status, _ = await post_signed(bolt_url, body)
    assert status == 200
    (said,) = await fake.wait_for("chat.postMessage")
    assert said.params["text"] == "Amount 120"


async def test_bolt_drops_http_slash_commands_mentioning_payload(
    fake: FakeSlack, bolt_url: str
) -> None:
    # Pins the Bolt 1.30 quirk described in slash_command_payload; fails once Bolt fixes it.
    status, text = await post_signed(bolt_url, slash_command_body(text="show payload"))
    assert (status, text) == (404, '{"error": "unhandled request"}')


async def test_signed_event_reaches_the_event_handler(fake: FakeSlack, bolt_url: str) -> None:
    event = {"type": "app_mention", "user": "U42", "text": "<@U0BOT> hi", "channel": "C0OPS"}
    status, _ = await post_signed(bolt_url, event_body(event), "application/json")
    assert status == 200
    (said,) = await fake.wait_for("chat.postMessage")
    assert said.params["text"] == "Hello <@U42>"


# -- Socket Mode ---------------------------------------------------------------------


async def test_socket_mode_envelope_is_acked_and_handled(fake: FakeSlack) -> None:
    handler = AsyncSocketModeHandler(build_app(fake), app_token=fake.app_token)
    await handler.connect_async()
    try:
        payload = slash_command_payload(text="report", response_url=fake.response_url)
        envelope_id = await fake.socket_send("slash_commands", payload)
        ack = await fake.wait_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id, "payload": {"text": "Working on: report"}}
        (said,) = await fake.wait_for("chat.postMessage")
        assert said.params["text"] == "Started report"
    finally:
        await handler.close_async()
    (opened,) = fake.calls_to("apps.connections.open")
    assert opened.token == fake.app_token


async def test_stop_closes_connected_sockets() -> None:
    fake = FakeSlack()
    await fake.start()
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.socket_url) as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["type"] == "hello"
        await fake.stop()
        closing = await ws.receive(timeout=2)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
