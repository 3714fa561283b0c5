"""Quotes as phones type them: curly and angle quotes group words like straight ones."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest

from bot.core.messages import Text
from bot.core.parsing import words
from bot.runtime import Runtime
from graph.errors import InvalidInput
from tests.fixtures.runtime import say

# Opening and closing marks as iOS, macOS and European keyboards type them.
STYLES = [
    ('"', '"'),
    ("'", "'"),
    ("\u201c", "\u201d"),  # “English”
    ("\u2018", "\u2019"),  # ‘English’
    ("\u00ab", "\u00bb"),  # «French»
    ("\u00bb", "\u00ab"),  # »Danish«
    ("\u201e", "\u201c"),  # „German“
    ("\u201a", "\u2018"),  # ‚German‘
    ("\u2039", "\u203a"),  # ‹Swiss›
    ("\u201d", "\u201d"),  # ”Swedish”
]


@pytest.fixture
async def rt(
    runtime_on: Callable[..., AbstractAsyncContextManager[Runtime]], sqlite_url: str
) -> AsyncIterator[Runtime]:
    async with runtime_on(sqlite_url) as runtime:
        yield runtime


def refusal(response: object) -> str:
    (reply,) = response.replies  # type: ignore[attr-defined]
    assert isinstance(reply, Text) and response.refused  # type: ignore[attr-defined]
    return reply.text


@pytest.mark.parametrize(("open_", "close"), STYLES)
def test_every_quote_style_groups_words(open_: str, close: str) -> None:
    line = f"onboarding name={open_}Ana Lima{close} {open_}every monday 9:00{close} x=1"
    assert words(line) == ["onboarding", "name=Ana Lima", "every monday 9:00", "x=1"]


@pytest.mark.parametrize(
    ("line", "tokens"),
    [
        ("reason=don\u2019t send", ["reason=don\u2019t", "send"]),  # apostrophes stay
        ("don't send", ["don't", "send"]),
        ("name=\u2018O\u2019Brien\u2019", ["name=O\u2019Brien"]),
        ('subject=\u201cSay "hi" now\u201d', ['subject=Say "hi" now']),
        ("subject='Say \u201chi\u201d now'", ["subject=Say \u201chi\u201d now"]),
        ('name=\u201cAna Lima"', ["name=Ana Lima"]),  # a mixed pair of the same kind
        ("path=C:\\temp", ["path=C:\\temp"]),  # backslashes are text in chat
        ("", []),
    ],
)
def test_apostrophes_and_mixed_quotes(line: str, tokens: list[str]) -> None:
    assert words(line) == tokens


@pytest.mark.parametrize(
    "parts",
    [
        ["onboarding", "name=Ana Lima", "email=a@x.test"],
        ["edit", "K7M2Q", "subject=O'Brien's \u201cwelcome\u201d", "body=a\\b"],
        ["reject", "K7M2Q", 'He said "no"', "it\u2019s late "],
    ],
)
def test_the_cli_line_reads_back_as_its_arguments(parts: list[str]) -> None:
    assert words(shlex.join(parts)) == parts


@pytest.mark.parametrize(
    "line",
    [
        "name=\u201cAna Lima email=a@x.test",
        "name=\u201cAna Lima\u2019 x=1",
        'name="Ana Lima\u201d x',
    ],
)
def test_an_unclosed_quote_is_explained_with_straight_quotes(line: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        words(line)
    assert "not closed" in str(refused.value) and 'name="Ana Lima"' in str(refused.value)


@pytest.mark.parametrize(("open_", "close"), STYLES)
async def test_run_takes_every_quote_style(rt: Runtime, open_: str, close: str) -> None:
    response = await say(rt, f"/run onboarding name={open_}Ana Lima{close} email=a@x.test")
    assert not response.refused, response.replies
    (run,) = await rt.manager.list_runs()
    assert run.inputs["name"] == "Ana Lima" and run.inputs["email"] == "a@x.test"


@pytest.mark.parametrize(("open_", "close"), STYLES)
async def test_schedule_takes_every_quote_style(rt: Runtime, open_: str, close: str) -> None:
    response = await say(
        rt,
        f"/schedule checkin {open_}every monday 9:00{close} "
        f"name={open_}Bo Diaz{close} email=bo@example.com",
    )
    assert not response.refused, response.replies
    [(schedule, _)] = await rt.schedules.listing(datetime.now(UTC))
    assert schedule.description == "every monday 9:00"
    assert schedule.inputs == {"name": "Bo Diaz", "email": "bo@example.com"}


async def test_edit_and_reject_take_curly_quotes(rt: Runtime) -> None:
    await say(rt, "/run onboarding name=\u201cAna Lima\u201d email=a@x.test")
    (approval,) = await rt.manager.pending()
    edited = await say(rt, f"/edit {approval.id} subject=\u201cHello, Ana\u201d")
    assert not edited.refused, edited.replies
    (approval,) = await rt.manager.pending()
    rejected = await say(rt, f"/reject {approval.id} don\u2019t \u201cspam\u201d her")
    assert not rejected.refused, rejected.replies


@pytest.mark.parametrize(
    "line",
    [
        "/run onboarding name=\u201cAna Lima email=a@x.test",  # never closed
        "/run onboarding name=\u201cAna Lima\u2019 email=a@x.test",  # closed with a single quote
        "/schedule checkin \u00abevery monday 9:00 name=Bo email=bo@example.com",
    ],
)
async def test_an_unbalanced_quote_is_answered_politely(rt: Runtime, line: str) -> None:
    text = refusal(await say(rt, line))
    assert "not closed" in text and 'name="Ana Lima"' in text
    assert "\u201cAna Lima\u201d" not in text
    assert await rt.manager.list_runs() == []
    assert await rt.schedules.listing(datetime.now(UTC)) == []


async def test_a_stray_closing_quote_is_shown_with_a_straight_example(rt: Runtime) -> None:
    text = refusal(await say(rt, "/run onboarding name=Ana Lima\u201d email=a@x.test"))
    assert "is not key=value" in text and 'name="Ana Lima"' in text


async def test_a_bad_schedule_suggests_one_in_straight_quotes(rt: Runtime) -> None:
    text = refusal(await say(rt, "/schedule checkin \u201cevery blursday 9:00\u201d name=Bo"))
    assert 'try "every monday 9:00"' in text
