"""Questions asked by reply: their first line is what is parsed back. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.telegram.prompts import (
    Question,
    is_skip,
    mention,
    parse_question,
    placeholder,
    reason_question,
    value_question,
)
from tests.fixtures.views import approval_view

VIEW = approval_view(
    now=datetime(2026, 11, 21, 14, 5, tzinfo=UTC),
    title="Send <welcome> & email",
    summary="Send it.",
    preview={"kind": "email", "to": "bo@example.com", "subject": "Hi & <bye>", "body": "x"},
)


def test_questions_parse_back_and_escape_what_they_quote() -> None:
    who = mention(111, "Ana <admin>")
    reason = reason_question(VIEW, who)
    value = value_question(VIEW, "subject", who)
    assert parse_question(reason) == Question("K7M2Q")
    assert parse_question(value) == Question("K7M2Q", "subject")
    assert "Send &lt;welcome&gt; &amp; email" in reason
    assert "Hi &amp; &lt;bye&gt;" in value
    assert '<a href="tg://user?id=111">Ana &lt;admin&gt;</a>' in reason


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Reason for rejecting K7M2Q",
        "Reason for rejecting k7m2q?",
        "Reason for rejecting K7M2Q? please",
        "New Subject for K7M2Q?",
        "New subject for K7M2Q",
        "I said: Reason for rejecting K7M2Q?",
    ],
)
def test_other_text_is_not_a_question(text: str | None) -> None:
    assert parse_question(text) is None


def test_skip_and_placeholders() -> None:
    assert is_skip("/skip") and is_skip(" /SKIP@deskhand_bot ") and is_skip("/skip it")
    assert not is_skip("skip") and not is_skip("/skipper") and not is_skip("")
    assert placeholder(Question("K7M2Q")) == "Reason (optional)"
    assert placeholder(Question("K7M2Q", "body")) == "New body"
