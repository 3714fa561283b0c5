"""Hostile and mistaken input: each gets a clear answer and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import func, select

from bot.core.messages import ButtonAction, Inbound, Text, User
from bot.runtime import Runtime
from memory.models import Approval, Contact, Event, Run
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, card_of, say


@pytest.fixture
async def rt(
    runtime_on: Callable[..., AbstractAsyncContextManager[Runtime]], sqlite_url: str
) -> AsyncIterator[Runtime]:
    async with runtime_on(
        sqlite_url,
    ) as runtime:
        yield runtime


async def snapshot(rt: Runtime) -> dict[str, object]:
    """Everything a refused request must leave untouched (events may only grow)."""
    async with rt.sessions() as s:
        return {
            "runs": [(r.id, r.status) for r in await s.scalars(select(Run).order_by(Run.id))],
            "approvals": [
                (a.id, a.status, a.decided_by)
                for a in await s.scalars(select(Approval).order_by(Approval.id))
            ],
            "contacts": int(await s.scalar(select(func.count()).select_from(Contact)) or 0),
        }


def message(response: object) -> str:
    text = response.replies[0]  # type: ignore[attr-defined]
    assert isinstance(text, Text)
    return text.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/approve ZZZZZ", "There is no approval ZZZZZ"),
        ("/approve", "Usage: /approve <id>"),
        ("/approve <script>", "is not an approval id"),
        ("/reject", "Usage: /reject <id>"),
        ("/edit", "Usage: /edit <id>"),
        ("/show rzzzz1234", "There is no run rzzzz1234"),
        ("/show", "Usage: /show <run>"),
        ("/cancel r%%%", "is not a run id"),
        ("/run", "Say which workflow to run"),
        ("/run payroll amount=5", "There is no workflow called \u201cpayroll\u201d"),
        ('/run onboarding name="Ana', 'the " before Ana is not closed'),
        ("/run onboarding name Ana", "is not key=value"),
        ("/run onboarding name=Ana name=Bo email=a@b.co", "name is given twice"),
        ("/run onboarding name=Ana", "email is missing"),
        ("/run onboarding name=Ana email=not-an-email", "email is not an email address"),
        ("/run onboarding name=Ana email=a@b.co colour=red", "unknown field(s) colour"),
        ('/run onboarding name="Ana\nEvil: header" email=a@b.co', "must be a single line"),
        ("/aprove K7M2Q", "Did you mean /approve?"),
        ("/frobnicate", "I don't know /frobnicate"),
    ],
)
async def test_bad_commands_are_refused_and_change_nothing(
    rt: Runtime, line: str, expected: str
) -> None:
    card_of(await say(rt, ONBOARD))
    before = await snapshot(rt)
    response = await say(rt, line)
    assert response.refused
    assert expected in message(response)
    assert await snapshot(rt) == before


async def test_oversized_text_is_refused(rt: Runtime) -> None:
    before = await snapshot(rt)
    response = await say(rt, "/run onboarding name=" + "A" * 5000 + " email=a@b.co")
    assert response.refused and "the limit is 4,000" in message(response)
    assert await snapshot(rt) == before


async def test_oversized_field_is_refused(rt: Runtime) -> None:
    response = await say(rt, "/run onboarding name=" + "A" * 300 + " email=a@b.co")
    assert response.refused and "name is 300 characters; the limit is 200" in message(response)


async def test_already_decided_says_who_and_when(rt: Runtime, smtp_sink: SmtpSink) -> None:
    card = card_of(await say(rt, ONBOARD)).approval
    await say(rt, f"/approve {card.id}")
    before = await snapshot(rt)
    for line in (
        f"/approve {card.id}",
        f"/reject {card.id} too late",
        f"/edit {card.id} subject=x",
    ):
        response = await say(rt, line, User("terminal", "other", "Bo"))
        assert response.refused
        assert f"Approval {card.id} was already approved by Ana at" in message(response)
    assert await snapshot(rt) == before
    assert len(smtp_sink.messages) == 1


async def test_non_operator_is_refused_and_logged(rt: Runtime, smtp_sink: SmtpSink) -> None:
    card = card_of(await say(rt, ONBOARD)).approval
    before = await snapshot(rt)
    stranger = User("telegram", "999", "Mallory")
    for inbound in (
        Inbound(stranger, text=ONBOARD),
        Inbound(stranger, text="/pending"),
        Inbound(stranger, action=ButtonAction("approve", card.id)),
    ):
        response = await rt.core.handle(inbound)
        assert response.refused
        assert "not allowed" in message(response) and "TELEGRAM_ALLOWED_USERS" in message(response)
    assert await snapshot(rt) == before
    async with rt.sessions() as s:
        refused = list(await s.scalars(select(Event).where(Event.kind == "approval.refused")))
    assert len(refused) == 3 and all(e.actor == "telegram:999" for e in refused)
    assert refused[-1].approval_id == card.id
    assert smtp_sink.messages == []


async def test_edit_with_bad_fields_changes_nothing(rt: Runtime) -> None:
    card = card_of(await say(rt, ONBOARD)).approval
    before = await snapshot(rt)
    for line, expected in (
        (f"/edit {card.id}", "Say what to change"),
        (f"/edit {card.id} to=nobody", "to is not an email address"),
        (f"/edit {card.id} cc=x@y.z", "unknown field(s) cc"),
        (f"/edit {card.id} subject=" + "x" * 250, "subject is 250 characters"),
    ):
        response = await say(rt, line)
        assert response.refused and expected in message(response), line
    assert await snapshot(rt) == before


async def test_unknown_action_on_button_is_refused(rt: Runtime) -> None:
    response = await rt.core.handle(
        Inbound(User("terminal", "local"), action=ButtonAction("approve", "../../etc"))
    )
    assert response.refused and "is not an approval id" in message(response)


async def test_plain_text_gets_a_helpful_answer(rt: Runtime) -> None:
    response = await say(rt, "pending")
    assert not response.refused
    assert "Did you mean /pending?" in message(response)
