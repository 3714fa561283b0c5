"""Callback data: compact, round-trips, and anything else is refused. Pure."""

from __future__ import annotations

import pytest

from bot.telegram.callback_data import MAX_BYTES, Press, encode, parse


@pytest.mark.parametrize(
    ("press", "data"),
    [
        (Press("approve", "K7M2Q"), "a:K7M2Q"),
        (Press("reject", "K7M2Q"), "r:K7M2Q"),
        (Press("edit", "K7M2Q"), "e:K7M2Q"),
        (Press("field", "K7M2Q", "subject"), "ef:K7M2Q:subject"),
        (Press("back", "K7M2Q"), "b:K7M2Q"),
        (Press("more", "K7M2Q"), "more:K7M2Q"),
        (Press("open", "K7M2Q"), "o:K7M2Q"),
    ],
)
def test_round_trip(press: Press, data: str) -> None:
    assert encode(press) == data and parse(data) == press
    assert len(data.encode()) <= MAX_BYTES


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "a:",
        "a:k7m2q",  # ids are upper case
        "a:K7M2U",  # no U in the alphabet
        "a:K7M2Q ",
        " a:K7M2Q",
        "a:K7M2Q:x",
        "z:K7M2Q",
        "ef:K7M2Q",
        "ef:K7M2Q:Subject",
        "ef:K7M2Q:sub ject",
        "a:" + "K" * 13,
        "approve:K7M2Q",
        "a:K7M2Q\n",
        "ef:K7M2Q:" + "s" * 60,
    ],
)
def test_anything_else_is_refused(data: str | None) -> None:
    assert parse(data) is None


def test_encode_refuses_what_would_not_parse_back() -> None:
    with pytest.raises(ValueError):
        encode(Press("field", "K7M2Q", "Bad Field"))
    with pytest.raises(ValueError):
        encode(Press("approve", "not-an-id"))
