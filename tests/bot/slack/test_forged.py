"""Forged, stale, malformed and replayed Slack requests over HTTP: nothing changes, nothing
is sent anywhere (not to Slack's API, not to a ``response_url`` the request names)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select

from bot.slack import errors
from memory.models import Approval, Event, JobClaim, Run
from tests.bot.slack.harness import (
    OPERATOR,
    SECRET,
    MakeSettings,
    SlackHarness,
    open_slack,
    slack_settings,
)
from tests.fakes.slack_signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    event_body,
    sign,
    slash_command_body,
    slash_command_payload,
)

RUN = "run onboarding name=Bo email=bo@example.com"
DM = {"type": "message", "channel_type": "im", "channel": "D0ALEX", "user": OPERATOR}


class Attacker:
    """A local server standing in for any URL a forged request names: records every hit."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.url = ""

    async def _hit(self, request: web.Request) -> web.Response:
        self.hits.append(f"{request.method} {request.path}")
        return web.json_response({"ok": True})


@pytest.fixture
async def attacker() -> AsyncIterator[Attacker]:
    target = Attacker()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", target._hit)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield target
    finally:
        await runner.cleanup()


async def count(harness: SlackHarness, model: type) -> int:
    async with harness.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def post_raw(
    harness: SlackHarness, body: str, headers: dict[str, str], content_type: str = FORM_CONTENT_TYPE
) -> int:
    """POST ``body`` with exactly these headers (plus the content type); the status."""
    headers = {"Content-Type": content_type, **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.post(harness.url, data=body, headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


async def assert_nothing_happened(
    harness: SlackHarness,
    attacker: Attacker,
    caplog: pytest.LogCaptureFixture,
    *,
    verified: bool = False,
) -> None:
    """No rows, no call to Slack beyond start-up's auth.test, no hit on the attacker's URL,
    no traceback and no secret in the log. A ``verified`` request may leave its delivery
    claim (bot/slack/replays.py); an unverified one leaves nothing at all."""
    await asyncio.sleep(0.2)  # time for anything a handler would have sent after the answer
    for model in (Run, Approval, Event) if verified else (Run, Approval, Event, JobClaim):
        assert await count(harness, model) == 0, model.__name__
    assert [c.method for c in harness.fake.calls if c.method != "auth.test"] == []
    assert attacker.hits == []
    assert not [r for r in caplog.records if r.exc_info or r.exc_text], caplog.text
    assert "Traceback" not in caplog.text
    for secret in (SECRET, harness.fake.bot_token):
        assert secret not in caplog.text


def forged_command(attacker: Attacker, **overrides: str) -> str:
    """A slash command whose response_url points at the attacker."""
    payload = {**slash_command_payload(text=RUN, response_url=attacker.url), **overrides}
    return urlencode(payload)


def signature_of(body: str, timestamp: int | None = None) -> str:
    return sign(SECRET, body, timestamp)["X-Slack-Signature"]


def forged_headers(kind: str, body: str) -> dict[str, str]:
    """The headers of one kind of forgery of ``body``."""
    now = str(int(time.time()))
    return {
        "timestamp not a number": {"X-Slack-Request-Timestamp": "now", "X-Slack-Signature": "v0=0"},
        "timestamp blank": {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=0"},
        "timestamp a float": {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=0"},
        "no headers": {},
        "no signature": {"X-Slack-Request-Timestamp": now},
        "no timestamp": {"X-Slack-Signature": signature_of(body)},
        "bad signature": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong secret": sign("wrong-secret", body),
        "ten minutes old": sign(SECRET, body, int(time.time()) - 600),
        "ten minutes ahead": sign(SECRET, body, int(time.time()) + 600),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("timestamp not a number", 400),
        ("timestamp blank", 400),
        ("timestamp a float", 400),
        ("no headers", 401),
        ("no signature", 401),
        ("no timestamp", 401),
        ("bad signature", 401),
        ("wrong secret", 401),
        ("ten minutes old", 401),
        ("ten minutes ahead", 401),
    ],
)
@pytest.mark.parametrize("response_url", [True, False], ids=["response_url", "no_response_url"])
async def test_forged_commands_are_refused_and_call_nobody(
    slack: SlackHarness,
    attacker: Attacker,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    status: int,
    response_url: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Without a response_url the old error handler fell back to chat.postEphemeral.
    body = forged_command(attacker, **({} if response_url else {"response_url": ""}))
    assert await post_raw(slack, body, forged_headers(kind, body)) == status
    await assert_nothing_happened(slack, attacker, caplog)


@pytest.mark.parametrize(
    ("body", "signed_status"),
    [
        ("payload={not json", 400),
        ("payload=[1,2]", 400),
        ("payload=%7B%22type%22%3A%22block_actions%22", 400),  # truncated JSON
        ("payload=null", 400),
        ("payload=%7B%22type%22%3A1%7D", 404),  # {"type":1}: parsed, no listener wants it
        ("a=%ZZ&payload", 400),  # an empty payload
    ],
)
@pytest.mark.parametrize("signed", [False, True])
async def test_malformed_bodies_are_refused_quietly(
    slack: SlackHarness,
    attacker: Attacker,
    caplog: pytest.LogCaptureFixture,
    body: str,
    signed_status: int,
    signed: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = sign(SECRET if signed else "forger", body)
    status = await post_raw(slack, body, headers)
    # Unsigned: 401 before anything is parsed. Signed (only Slack could): not a 500.
    assert status == (signed_status if signed else 401)
    await assert_nothing_happened(slack, attacker, caplog, verified=signed)


async def test_malformed_json_event_is_refused_quietly(
    slack: SlackHarness, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for body in ("{not json", "[1,2]", '"text"'):
        assert await post_raw(slack, body, sign("forger", body), JSON_CONTENT_TYPE) == 401
        assert await post_raw(slack, body, sign(SECRET, body), JSON_CONTENT_TYPE) == 400
    await assert_nothing_happened(slack, attacker, caplog)


async def test_a_replayed_command_starts_one_run(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = slash_command_body(text=RUN, response_url=slack.fake.response_url)
    headers = sign(SECRET, body)
    assert await post_raw(slack, body, headers) == 200
    await slack.fake.wait_for("chat.postMessage")
    assert await post_raw(slack, body, headers) == 200  # acknowledged: Slack sees no error
    # Inside the window, from another replica's point of view too: the claim is in the database.
    assert await post_raw(slack, body, headers) == 200
    await slack.command("help")  # something that answers, to know the replays were handled
    await slack.fake.wait_for("respond", 2)
    await asyncio.sleep(0.3)  # a second run would have posted its card by now
    assert await count(slack, Run) == 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    assert "Traceback" not in caplog.text


async def test_a_retried_event_is_acknowledged_and_answered_once(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = event_body({**DM, "text": "pending", "ts": "1.1"}, event_id="Ev0RETRIED")
    assert await post_raw(slack, body, sign(SECRET, body), JSON_CONTENT_TYPE) == 200
    await slack.fake.wait_for("chat.postMessage")
    # Slack's retry: the same event, signed again a little later, with X-Slack-Retry-Num.
    for attempt in (1, 2):
        retry = {
            **sign(SECRET, body, int(time.time()) + attempt),
            "X-Slack-Retry-Num": str(attempt),
            "X-Slack-Retry-Reason": "http_timeout",
        }
        assert await post_raw(slack, body, retry, JSON_CONTENT_TYPE) == 200
    other = event_body({**DM, "text": "hello", "ts": "1.2"}, event_id="Ev0OTHER")
    assert await post_raw(slack, other, sign(SECRET, other), JSON_CONTENT_TYPE) == 200
    await slack.fake.wait_for("chat.postMessage", 2)
    await asyncio.sleep(0.3)  # a retry answered again would have posted by now
    assert len(slack.fake.calls_to("chat.postMessage")) == 2
    assert "Traceback" not in caplog.text


async def test_a_retry_of_an_event_never_seen_is_handled(slack: SlackHarness) -> None:
    # The first delivery never arrived (an outage): the retry is the one to act on.
    body = event_body({**DM, "text": "pending", "ts": "1.1"}, event_id="Ev0LOST")
    retry = {**sign(SECRET, body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert await post_raw(slack, body, retry, JSON_CONTENT_TYPE) == 200
    (answer,) = await slack.fake.wait_for("chat.postMessage")
    assert "Nothing is waiting" in json.dumps(answer.params)


@pytest.mark.parametrize("response_url", [True, False], ids=["response_url", "no_response_url"])
async def test_the_error_handler_never_answers_an_unverified_request(
    slack: SlackHarness, attacker: Attacker, caplog: pytest.LogCaptureFixture, response_url: bool
) -> None:
    # Should a failure ever reach it with a body nobody checked, it answers nobody.
    caplog.set_level(logging.DEBUG)
    body = forged_command(attacker, **({} if response_url else {"response_url": ""}))
    request = AsyncBoltRequest(body=body, headers={"x-slack-request-timestamp": "now"})
    respond = AsyncRespond(response_url=attacker.url) if response_url else None
    error = ValueError("invalid literal for int() with base 10: 'now'")
    await errors.on_error(slack.channel.context, error, request.body, request, respond)
    await assert_nothing_happened(slack, attacker, caplog)


async def test_a_replay_to_another_replica_starts_nothing(
    slack: SlackHarness, make_settings: MakeSettings, sqlite_url: str
) -> None:
    # Two replicas on one database, as behind a load balancer: the claim is shared.
    body = slash_command_body(text=RUN, response_url=slack.fake.response_url)
    headers = sign(SECRET, body)
    assert await post_raw(slack, body, headers) == 200
    await slack.fake.wait_for("chat.postMessage")
    settings = slack_settings(make_settings, slack.fake, sqlite_url)
    async with open_slack(settings, slack.fake) as other:
        assert await post_raw(other, body, headers) == 200
        await asyncio.sleep(0.3)  # a second run would have posted its card by now
    assert await count(slack, Run) == 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
