"""Build the requests Slack sends to an app: signed HTTP bodies and Socket Mode payloads.

Over HTTP, Slack signs each request (``X-Slack-Signature`` = ``v0=`` + HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the signing secret) and sends slash commands and
interactions form-encoded (interactions as one ``payload=<json>`` field) and events as
JSON. Over Socket Mode the same payloads arrive as objects inside an envelope, unsigned:
use the ``*_payload`` builders with ``FakeSlack.socket_send``.

The payloads carry the fields Bolt and Deskhand read, with Slack's shapes and realistic
ids; they are not complete copies of what Slack sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

USER_ID = "U0USER"
USER_NAME = "alex"
CHANNEL_ID = "C0OPS"
CHANNEL_NAME = "ops"
# The legacy verification token: Slack still sends it; Bolt ignores it.
VERIFICATION_TOKEN = "fake-verification-token"
RESPONSE_URL = f"https://hooks.slack.com/commands/{TEAM_ID}/1/fake"
TRIGGER_ID = "1.1700000000.fake-trigger"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers that make ``body`` pass Slack request verification.

    Args:
        secret: the app's signing secret.
        body: the exact request body that will be sent.
        timestamp: Unix seconds; defaults to now. Bolt refuses anything 5+ minutes off.
    Returns:
        ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def _team() -> dict[str, str]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": USER_NAME, "name": USER_NAME, "team_id": TEAM_ID}


# -- slash commands ------------------------------------------------------------------


def slash_command_payload(
    command: str = "/deskhand",
    text: str = "",
    *,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    response_url: str = RESPONSE_URL,
    trigger_id: str = TRIGGER_ID,
) -> dict[str, str]:
    """A slash command as Slack sends it: every value a string.

    Over HTTP, Bolt 1.30 drops a slash command whose form body contains the word "payload"
    anywhere (its body parser takes that as an interaction and finds none): the app answers
    404 "unhandled request". Socket Mode payloads are not parsed from text, so are unaffected.
    """
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": CHANNEL_NAME,
        "user_id": user_id,
        "user_name": USER_NAME,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slash_command_body(command: str = "/deskhand", text: str = "", **kwargs: Any) -> str:
    """The form-encoded HTTP body; keyword arguments as ``slash_command_payload``."""
    return urlencode(slash_command_payload(command, text, **kwargs))


# -- block actions -------------------------------------------------------------------


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    message_ts: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    block_id: str = "actions",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    response_url: str = RESPONSE_URL,
    trigger_id: str = TRIGGER_ID,
) -> dict[str, Any]:
    """A button click on a message the app posted."""
    return {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": CHANNEL_NAME},
        "message": {
            "type": "message",
            "ts": message_ts,
            "text": message_text,
            "blocks": message_blocks or [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def block_actions_body(**kwargs: Any) -> str:
    """The form-encoded HTTP body (``payload=<json>``); arguments as ``block_actions_payload``."""
    return _interactive_body(block_actions_payload(**kwargs))


# -- view submissions ----------------------------------------------------------------


def view_submission_payload(
    *,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    private_metadata: str = "",
    user_id: str = USER_ID,
    view_id: str = "V0FAKEVIEW",
    trigger_id: str = TRIGGER_ID,
) -> dict[str, Any]:
    """A modal submission.

    Args:
        values: ``view.state.values`` as ``{block_id: {action_id: element_state}}``; a
            plain string as the element state stands for a ``plain_text_input`` value.
    """
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": v} if isinstance(v, str) else v
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": state},
            "hash": "1700000000.fakehash",
            "app_id": APP_ID,
            "root_view_id": view_id,
            "previous_view_id": None,
            "external_id": "",
            "bot_id": BOT_ID,
        },
        "response_urls": [],
    }


def view_submission_body(**kwargs: Any) -> str:
    """The form-encoded HTTP body; arguments as ``view_submission_payload``."""
    return _interactive_body(view_submission_payload(**kwargs))


# -- events --------------------------------------------------------------------------


def event_callback_payload(event: dict[str, Any], *, event_id: str = "Ev0FAKE") -> dict[str, Any]:
    """The Events API ``event_callback`` wrapper around ``event``."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def event_body(event: dict[str, Any], *, event_id: str = "Ev0FAKE") -> str:
    """The JSON HTTP body of an Events API delivery."""
    return json.dumps(event_callback_payload(event, event_id=event_id))


def _interactive_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
