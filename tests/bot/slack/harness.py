"""Drive the real Slack channel over HTTP or Socket Mode, against the local Slack Web API.

``open_slack`` opens a runtime on a database and starts a :class:`SlackChannel` on it;
``SlackHarness`` sends what Slack would send (signed requests or websocket envelopes) and
reads back what the app called.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.app import SlackChannel
from bot.slack.blocks import APPROVE
from tests.fakes.slack_api import Call, FakeSlack
from tests.fakes.slack_signing import (
    CHANNEL_ID,
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    USER_ID,
    block_actions_body,
    block_actions_payload,
    event_body,
    event_callback_payload,
    sign,
    slash_command_body,
    slash_command_payload,
    view_submission_body,
    view_submission_payload,
)
from tests.fakes.smtp import SmtpSink

SECRET = "test-signing-secret-0123"
OPERATOR = USER_ID
STRANGER = "U0STRANGER"
ONBOARD_ARGS = 'onboarding name="Bo Diaz" email=bo@example.com company="Acme & Co" need="a site"'
SENT = "completed: Sent to bo@example.com"  # the run's outcome on an approved card

MakeSettings = Callable[..., Settings]
# Slack gives each delivery its own ids; two identical ones are a retry or a replay.
_DELIVERIES = itertools.count(1)


def fresh_ids() -> tuple[str, str]:
    """A new (event_id, trigger_id) pair, as Slack would send."""
    n = next(_DELIVERIES)
    return f"Ev{n:08d}", f"{n}.1700000000.fake-trigger"


@dataclass
class Answer:
    """What the app answered: HTTP status and body, or a Socket Mode ack's payload."""

    status: int
    body: Any


class SlackHarness:
    """A started Slack channel and the fake Slack it talks to."""

    def __init__(self, runtime: Runtime, channel: SlackChannel, fake: FakeSlack, socket: bool):
        self.runtime, self.channel, self.fake, self.socket = runtime, channel, fake, socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.channel.http_port}/slack/events"

    async def post(
        self,
        body: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        content_type: str = FORM_CONTENT_TYPE,
    ) -> Answer:
        """POST a body signed with ``secret`` (at ``timestamp``) to the app."""
        headers = {"Content-Type": content_type, **sign(secret, body, timestamp)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as resp,
        ):
            return Answer(resp.status, await resp.text())

    async def send(self, kind: str, payload: dict[str, Any], body: str) -> Answer:
        """Deliver as Slack would in this mode: an envelope, or a signed HTTP request."""
        if self.socket:
            envelope_id = await self.fake.socket_send(kind, payload)
            ack = await self.fake.wait_ack(envelope_id)
            return Answer(200, ack.get("payload"))
        return await self.post(body)

    async def event(self, event: dict[str, Any]) -> Answer:
        """An Events API delivery (``app_home_opened``, ``message``, ``app_mention``)."""
        event_id, _ = fresh_ids()
        if self.socket:
            payload = event_callback_payload(event, event_id=event_id)
            envelope_id = await self.fake.socket_send("events_api", payload)
            ack = await self.fake.wait_ack(envelope_id)
            return Answer(200, ack.get("payload"))
        body = event_body(event, event_id=event_id)
        return await self.post(body, content_type=JSON_CONTENT_TYPE)

    async def command(self, text: str, *, user_id: str = OPERATOR) -> Answer:
        """``/deskhand <text>`` from ``user_id`` in #ops."""
        _, trigger_id = fresh_ids()
        kwargs = {
            "user_id": user_id,
            "response_url": self.fake.response_url,
            "trigger_id": trigger_id,
        }
        payload = slash_command_payload(text=text, **kwargs)
        return await self.send("slash_commands", payload, slash_command_body(text=text, **kwargs))

    async def click(
        self, action_id: str, value: str, ts: str, *, user_id: str = OPERATOR, **extra: Any
    ) -> Answer:
        """Press a button on the message ``ts`` in #ops."""
        kwargs = {
            "action_id": action_id,
            "value": value,
            "message_ts": ts,
            "user_id": user_id,
            "response_url": self.fake.response_url,
            **extra,
        }
        return await self.send(
            "interactive", block_actions_payload(**kwargs), block_actions_body(**kwargs)
        )

    async def click_in_view(
        self, action_id: str, value: str, view: dict[str, Any], *, user_id: str = OPERATOR
    ) -> Answer:
        """Press a button in a modal or App Home (``view`` as Slack sends it back)."""
        payload = block_actions_payload(
            action_id=action_id, value=value, message_ts="", user_id=user_id
        )
        for key in ("message", "channel", "response_url"):
            payload.pop(key)
        payload.update(container={"type": "view", "view_id": view["id"]}, view=view)
        body = urlencode({"payload": json.dumps(payload)})
        return await self.send("interactive", payload, body)

    async def submit(
        self, callback_id: str, values: dict[str, Any], metadata: str, *, user_id: str = OPERATOR
    ) -> Answer:
        """Submit a modal."""
        kwargs = {
            "callback_id": callback_id,
            "values": values,
            "private_metadata": metadata,
            "user_id": user_id,
            "trigger_id": fresh_ids()[1],
        }
        return await self.send(
            "interactive", view_submission_payload(**kwargs), view_submission_body(**kwargs)
        )

    async def new_card(self) -> tuple[str, str]:
        """Start an onboarding run with the slash command; return (approval id, card ts)."""
        before = len(self.fake.calls_to("chat.postMessage"))
        answer = await self.command(f"run {ONBOARD_ARGS}")
        assert answer.status == 200, answer
        posts = await self.fake.wait_for("chat.postMessage", before + 1)
        card = posts[before]
        return approval_of(card), ts_of(self.fake, card)

    async def updates_of(self, ts: str, count: int = 1, timeout: float = 5) -> list[Call]:
        """Wait for ``count`` chat.update calls on the card ``ts``."""
        return await self.fake.wait_for(
            "chat.update", count, timeout, predicate=lambda c: c.params.get("ts") == ts
        )

    async def outcome_of(self, ts: str, shown: str = SENT, timeout: float = 5) -> Call:
        """Wait for the chat.update that shows the run's outcome (``shown``) on the card ``ts``.

        A decision edits its card twice: at once with who decided, then with what the run did.
        """

        def showing(call: Call) -> bool:
            return call.params.get("ts") == ts and shown in blocks_text(call)

        (call, *_) = await self.fake.wait_for("chat.update", 1, timeout, predicate=showing)
        return call


def approval_of(call: Call) -> str:
    """The approval id on a posted card (from its Approve button)."""
    for block in call.params.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == APPROVE:
                return str(element["value"])
    raise AssertionError(f"no Approve button in {call.params}")


def ts_of(fake: FakeSlack, call: Call) -> str:
    """The ts the fake gave a posted message."""
    for (channel, ts), message in fake.messages.items():
        if channel == call.params["channel"] and message.get("blocks") == call.params.get("blocks"):
            return ts
    raise AssertionError("posted message not found")


@contextmanager
def email_held(sink: SmtpSink) -> Iterator[threading.Event]:
    """Hold every email at the SMTP server (no reply yet) until the event is set."""
    release = threading.Event()
    sink.on_message = lambda _: release.wait(10)  # runs on the sink's own thread
    try:
        yield release
    finally:
        release.set()
        sink.on_message = None


def blocks_text(call: Call) -> str:
    """Every text in a call's blocks, joined (for assertions)."""
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)


def card_text(fake: FakeSlack, ts: str, channel: str = CHANNEL_ID) -> str:
    """Every text on the card as it is now, joined (for assertions)."""
    message = fake.messages[(channel, ts)]
    return json.dumps(message.get("blocks"), ensure_ascii=False)


def has_buttons(fake: FakeSlack, ts: str, channel: str = CHANNEL_ID) -> bool:
    return any(b.get("type") == "actions" for b in fake.messages[(channel, ts)].get("blocks", []))


def slack_settings(
    make_settings: MakeSettings, fake: FakeSlack, url: str, **extra: Any
) -> Settings:
    """Settings for a Slack channel talking to ``fake`` on the database ``url``."""
    values = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_ALLOWED_USERS": OPERATOR,
        "SLACK_API_URL": fake.api_url,
        "DESKHAND_HTTP_HOST": "127.0.0.1",
        **extra,
    }
    return make_settings(url, **values)


@asynccontextmanager
async def open_slack(
    settings: Settings, fake: FakeSlack, *, transport: Any = None
) -> AsyncIterator[SlackHarness]:
    """Open the runtime, start the channel (port 0 in HTTP mode); stop both afterwards."""
    async with open_runtime(settings, transport=transport) as runtime:
        channel = SlackChannel(runtime, port=0)
        await channel.start()
        try:
            yield SlackHarness(runtime, channel, fake, socket=settings.slack_app_token is not None)
        finally:
            await channel.stop()


def response_texts(fake: FakeSlack) -> list[str]:
    """Texts of the private answers (response_url posts and ephemerals), oldest first."""
    calls = [c for c in fake.calls if c.method in ("respond", "chat.postEphemeral")]
    return [json.dumps(c.params, ensure_ascii=False) for c in calls]
