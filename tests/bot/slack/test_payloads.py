"""Parsing what Slack sends: strict about ids, channels, timestamps and metadata."""

from __future__ import annotations

import pytest

from bot.slack.payloads import (
    Surface,
    command_text,
    encode_meta,
    message_text,
    parse_click,
    parse_meta,
)
from tests.fakes.slack_signing import block_actions_payload


def click_body(value: str, **kwargs: object) -> dict:
    return block_actions_payload(
        action_id="deskhand.approve", value=value, message_ts="1.2", **kwargs
    )  # type: ignore[arg-type]


def test_a_card_click_names_the_approval_and_the_message() -> None:
    click = parse_click(click_body("K7M2Q"))
    assert click is not None and click.approval_id == "K7M2Q"
    assert click.surface == Surface("message", channel_id="C0OPS", ts="1.2")
    assert click.card == click.surface and click.user_id == "U0USER"


@pytest.mark.parametrize(
    "value", ["", "k7m2q", "K7M2Q ", "K7M2Q;DROP", "ILOU0", "X" * 13, '{"id":"K7M2Q"}', "K7M2Q|1"]
)
def test_forged_values_name_no_approval(value: str) -> None:
    click = parse_click(click_body(value))
    assert click is not None and click.approval_id is None


def test_a_click_without_a_plausible_user_is_dropped() -> None:
    assert parse_click(click_body("K7M2Q", user_id="not a user")) is None


def test_clicks_in_home_and_in_modals() -> None:
    home = {**click_body("K7M2Q"), "container": {"type": "view", "view_id": "V0HOME"}}
    home["view"] = {"id": "V0HOME", "type": "home"}
    parsed = parse_click(home)
    assert parsed is not None and parsed.surface == Surface("home", view_id="V0HOME")

    modal = {
        **home,
        "view": {"id": "V0MODAL", "type": "modal", "private_metadata": "K7M2Q|message|C0OPS|1.2"},
    }
    parsed = parse_click(modal)
    assert parsed is not None and parsed.surface == Surface("modal", view_id="V0MODAL")
    assert parsed.card == Surface("message", channel_id="C0OPS", ts="1.2")
    other = {**modal, "view": {**modal["view"], "private_metadata": "ZZZZZ|message|C0OPS|1.2"}}
    parsed = parse_click(other)
    assert parsed is not None and parsed.origin is None  # metadata about another approval


@pytest.mark.parametrize(
    "surface",
    [
        Surface("message", channel_id="C0OPS", ts="17.000100"),
        Surface("home"),
        Surface("ephemeral", "D0AB"),
    ],
)
def test_metadata_round_trips(surface: Surface) -> None:
    assert parse_meta(encode_meta("K7M2Q", surface)) == ("K7M2Q", surface)


@pytest.mark.parametrize(
    "meta",
    [
        "",
        "K7M2Q",
        "K7M2Q|message|C0OPS",
        "k7m2q|home||",
        "K7M2Q|message|#ops|1.2",
        "K7M2Q|message|C0OPS|x",
        "K7M2Q|modal||",
        "K7M2Q|home||1.2",
        "K7M2Q|home|nope|",
        "K7M2Q|message|C0OPS|1.2|extra",
    ],
)
def test_forged_metadata_is_refused(meta: str) -> None:
    assert parse_meta(meta) is None


@pytest.mark.parametrize(
    ("typed", "core"),
    [
        ("", "/help"),
        ("approve K7M2Q", "/approve K7M2Q"),
        ("/pending", "/pending"),
        ("  runs ", "/runs"),
    ],
)
def test_slash_command_text_becomes_a_core_command(typed: str, core: str) -> None:
    assert command_text(typed) == core


@pytest.mark.parametrize(
    ("typed", "core"),
    [
        ("<@U0BOT> pending", "/pending"),
        ("<@U0BOT|deskhand> approve K7M2Q", "/approve K7M2Q"),
        ("Pending", "/Pending"),
        ("hello there", "hello there"),
        ("<@U0BOT>", "/help"),
    ],
)
def test_messages_become_commands_when_they_start_with_one(typed: str, core: str) -> None:
    assert message_text(typed, ["help", "pending", "approve"]) == core
