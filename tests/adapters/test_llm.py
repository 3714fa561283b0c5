"""LLM drafting with the real langchain-openai client against a local OpenAI-compatible API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from adapters.drafting import TemplateDrafter
from adapters.llm import OpenAIDrafter
from bot.runtime import Runtime
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, card_of, say


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def drafter(server: FakeOpenAI) -> OpenAIDrafter:
    return OpenAIDrafter.connect(
        api_key="sk-test-key-123",
        base_url=server.base_url,
        model="local-model",
        fallback=TemplateDrafter(sender_name="Ana"),
        sender_name="Ana",
        timeout=5,
    )


async def test_draft_comes_from_the_model(llm: FakeOpenAI) -> None:
    llm.replies = [
        '```json\n{"subject": "Welcome, Bo", "body": "Hi Bo,\\nGlad to help.\\nAna"}\n```'
    ]
    draft = await drafter(llm).draft_email(purpose="welcome", facts={"name": "Bo", "need": "SEO"})
    assert draft.subject == "Welcome, Bo" and draft.body.startswith("Hi Bo,")
    request = llm.requests[0]
    assert request["auth"] == "Bearer sk-test-key-123"
    assert request["body"]["model"] == "local-model"
    assert "SEO" in llm.last_prompt()


@pytest.mark.parametrize(
    "reply",
    ["not json at all", '{"subject": "", "body": "x"}', '{"subject": "a\\nb", "body": "x"}'],
)
async def test_unusable_answers_fall_back_to_the_template(llm: FakeOpenAI, reply: str) -> None:
    llm.replies = [reply]
    draft = await drafter(llm).draft_email(purpose="welcome", facts={"name": "Bo Diaz"})
    assert draft.subject == "Welcome aboard, Bo"


async def test_server_errors_fall_back_to_the_template(llm: FakeOpenAI) -> None:
    llm.status = 500
    draft = await drafter(llm).draft_email(purpose="welcome", facts={"name": "Bo"})
    assert draft.subject == "Welcome aboard, Bo"
    assert len(llm.requests) == 3  # the first try and the client's two retries


async def test_onboarding_uses_the_configured_llm(
    llm: FakeOpenAI, make_settings: Callable[..., object], sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    from bot.runtime import open_runtime

    llm.replies = [
        '{"subject": "Bo, welcome to the studio", "body": "Hi Bo,\\n\\nLet us talk.\\n\\nAna"}'
    ]
    settings = make_settings(sqlite_url, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-x-1")
    async with open_runtime(settings) as rt:  # type: ignore[arg-type]
        assert isinstance(rt, Runtime)
        card = card_of(await say(rt, ONBOARD)).approval
        assert card.preview["subject"] == "Bo, welcome to the studio"
        await say(rt, f"/approve {card.id}")
    assert [m["Subject"] for m in smtp_sink.messages] == ["Bo, welcome to the studio"]
